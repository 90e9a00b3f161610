"""{{name}}: a Sluice policy plugin (contract sluice:policy@{{contract}}), in Python.

A DELETE on a table listed in `protected_tables` needs approval from `approvers`; one that
does not restrict its rows (no WHERE, or `WHERE 1 = 1`) is denied outright. Everything else
is allowed. Configuration (JSON): {"protected_tables": ["customers"], "approvers": ["dba"]}.

componentize-py maps records to dataclasses (snake_case fields), enums to enum.Enum, variants
to one dataclass per case (types.Verdict_Deny("...")), option<T> to Optional[T]; `init`
reports an error by raising componentize_py_types.Err. Built with --stub-wasi: print(), time
and random trap; use host.log and host.now_ms.
"""

import json

import wit_world
from componentize_py_types import Err
from wit_world.imports import types

KEYS = ("protected_tables", "approvers")

# Set by init(); evaluate() denies until init() has succeeded.
_config = None


def parse_config(text):
    raw = json.loads(text) if text.strip() else {}
    if not isinstance(raw, dict):
        raise ValueError("config must be a JSON object")
    for key in raw:
        if key not in KEYS:
            raise ValueError(f'unknown config key "{key}"')
    config = {}
    for key in KEYS:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{key} must be a list of strings")
        config[key] = value
    return config


def is_protected(config, rel):
    # Names are compared exactly: Sluice has normalised them by the dialect's case rules.
    for entry in config["protected_tables"]:
        schema, dot, name = entry.partition(".")
        if dot and rel.schema == schema and rel.name == name:
            return True
        if not dot and rel.name == entry:
            return True
    return False


def label(rel):
    return rel.name if rel.schema is None else f"{rel.schema}.{rel.name}"


def decision(verdict, rule=None):
    return types.Decision(
        verdict=verdict,
        row_filters=[],
        column_masks=[],
        session_settings=[],
        role=None,
        annotations=[] if rule is None else [("rule", rule)],
    )


class WitWorld(wit_world.WitWorld):
    def init(self, config: str) -> None:
        global _config
        _config = None
        try:
            _config = parse_config(config)
        except ValueError as e:
            raise Err(str(e))

    def evaluate(self, query: types.Query) -> types.Decision:
        config = _config
        if config is None:
            return decision(types.Verdict_Deny("{{name}} is not initialised"), "init")
        st = query.statement
        if st.kind != types.StatementKind.DELETE:
            return decision(types.Verdict_Allow())
        for ra in st.relations:
            rel = ra.relation
            if ra.access != types.Access.WRITE or not is_protected(config, rel):
                continue
            if rel in st.unrestricted_writes:
                return decision(
                    types.Verdict_Deny(
                        f"a DELETE on {label(rel)} must have a WHERE clause that restricts its rows"
                    ),
                    "unrestricted-delete",
                )
            approval = types.Approval(
                reason=f"DELETE on {label(rel)} needs approval",
                approver_groups=list(config["approvers"]),
                suggested_duration_seconds=None,
            )
            return decision(types.Verdict_RequireApproval(approval), "protected-delete")
        return decision(types.Verdict_Allow())
