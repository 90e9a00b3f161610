"""Sluice example policy "business hours for writes", in Python (componentize-py).

- Statements that write (INSERT, UPDATE, DELETE, DDL, or any statement that writes a
  relation) are denied outside [open_hour, close_hour) in the configured UTC offset.
- A SELECT that reads one of `big_tables` is denied unless it has a literal LIMIT of at
  most `max_rows`.
- A statement whose kind is in `approval_for` (default none) needs a human's approval
  (require-approval: "<kind>s need approval", approver groups `approvers`, default ["dba"],
  suggested grant `approval_seconds`, default 3600).
- Everything else is allowed.

Statement facts come from the host (`query.statement`); the plugin never parses SQL. The
time comes from the host (`host.now_ms()`), never from `time`/`datetime`: WASI clocks are
not granted to plugins.

WIT -> Python mapping (componentize-py; see `wit_world/` after `componentize-py bindings`):
  record            -> @dataclass with snake_case fields (types.Decision(row_filters=...))
  enum              -> enum.Enum (types.StatementKind.INSERT)
  variant           -> one dataclass per case (types.Verdict_Deny(value="...")), a Union
  option<T>         -> Optional[T] (None)
  list<tuple<a,b>>  -> List[Tuple[a, b]]
  u64               -> int
  result<_, string> -> return None for ok; raise componentize_py_types.Err("...") for err
"""

import json

import wit_world
from componentize_py_types import Err
from wit_world.imports import host, types

DEFAULTS = {
    "open_hour": 8,
    "close_hour": 18,
    "utc_offset_minutes": 0,
    "big_tables": ["orders"],
    "max_rows": 1000,
    "approval_for": [],
    "approvers": ["dba"],
    "approval_seconds": 3600,
}

# Statement kinds as configured in `approval_for`, and how an approval reason names them.
KINDS = {
    "read": (types.StatementKind.READ, "reads"),
    "insert": (types.StatementKind.INSERT, "inserts"),
    "update": (types.StatementKind.UPDATE, "updates"),
    "delete": (types.StatementKind.DELETE, "deletes"),
    "ddl": (types.StatementKind.DDL, "schema changes"),
    "other": (types.StatementKind.OTHER, "other statements"),
}

WRITE_KINDS = {
    types.StatementKind.INSERT,
    types.StatementKind.UPDATE,
    types.StatementKind.DELETE,
    types.StatementKind.DDL,
}


class Config:
    def __init__(self, open_hour, close_hour, offset_minutes, big_tables, max_rows, approval):
        self.open_hour = open_hour
        self.close_hour = close_hour
        self.offset_minutes = offset_minutes
        self.big_tables = big_tables
        self.max_rows = max_rows
        # (kinds needing approval: {StatementKind: label}, approver groups, seconds)
        self.approval = approval


def _is_int(value, lo, hi):
    # bool is a subclass of int in Python: reject it explicitly.
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def parse_config(text):
    """Returns a Config, or raises ValueError with a message for the host."""
    if text.strip() == "":
        raw = {}
    else:
        try:
            raw = json.loads(text)
        except ValueError as e:
            raise ValueError(f"config is not valid JSON: {e}")
    if not isinstance(raw, dict):
        raise ValueError("config must be a JSON object")
    for key in raw:
        if key not in DEFAULTS:
            raise ValueError(f'unknown config key "{key}"')
    c = dict(DEFAULTS)
    c.update(raw)
    if not _is_int(c["open_hour"], 0, 23):
        raise ValueError("open_hour must be an integer in 0..=23")
    if not _is_int(c["close_hour"], 1, 24):
        raise ValueError("close_hour must be an integer in 1..=24")
    if c["open_hour"] == c["close_hour"]:
        raise ValueError("open_hour and close_hour must differ")
    if not _is_int(c["utc_offset_minutes"], -1080, 1080):
        raise ValueError("utc_offset_minutes must be an integer in -1080..=1080")
    tables = c["big_tables"]
    if not isinstance(tables, list) or not all(isinstance(t, str) and t for t in tables):
        raise ValueError("big_tables must be a list of non-empty strings")
    if not _is_int(c["max_rows"], 0, 2**53 - 1):
        raise ValueError("max_rows must be a non-negative integer")
    kinds = c["approval_for"]
    if not isinstance(kinds, list) or not all(isinstance(k, str) and k in KINDS for k in kinds):
        raise ValueError(
            "approval_for must be a list of statement kinds (read, insert, update, delete, ddl, other)"
        )
    approvers = c["approvers"]
    if not isinstance(approvers, list) or not all(isinstance(a, str) and a for a in approvers):
        raise ValueError("approvers must be a list of non-empty strings")
    if not _is_int(c["approval_seconds"], 1, 2**32 - 1):
        raise ValueError("approval_seconds must be an integer in 1..=4294967295")
    return Config(
        c["open_hour"],
        c["close_hour"],
        c["utc_offset_minutes"],
        {t.lower() for t in tables},
        c["max_rows"],
        (dict(KINDS[k] for k in kinds), list(approvers), c["approval_seconds"]),
    )


def offset_label(minutes):
    sign = "-" if minutes < 0 else "+"
    m = abs(minutes)
    return f"UTC{sign}{m // 60:02d}:{m % 60:02d}"


def writes_open(c):
    minutes = host.now_ms() // 60000 + c.offset_minutes
    minute_of_day = minutes % 1440  # Python's % is never negative here
    open_, close = c.open_hour * 60, c.close_hour * 60
    if open_ < close:
        return open_ <= minute_of_day < close
    return minute_of_day >= open_ or minute_of_day < close  # window spans midnight


def relation_matches(c, rel):
    name = rel.name.lower()
    if name in c.big_tables:
        return True
    return rel.schema is not None and f"{rel.schema.lower()}.{name}" in c.big_tables


def decision(verdict, rule=None):
    annotations = [("lang", "python")]
    if rule is not None:
        annotations.append(("rule", rule))
    return types.Decision(
        verdict=verdict,
        row_filters=[],
        column_masks=[],
        session_settings=[],
        role=None,
        annotations=annotations,
    )


# Set by init(); evaluate() denies everything until init() has succeeded.
_config = None


class WitWorld(wit_world.WitWorld):
    def init(self, config: str) -> None:
        global _config
        _config = None
        try:
            _config = parse_config(config)
        except ValueError as e:
            raise Err(str(e))
        c = _config
        host.log(
            host.Level.DEBUG,
            f"business-hours: writes {c.open_hour:02d}:00-{c.close_hour:02d}:00 "
            f"{offset_label(c.offset_minutes)}, big tables need LIMIT <= {c.max_rows}",
        )

    def evaluate(self, query: types.Query) -> types.Decision:
        c = _config
        if c is None:
            return decision(types.Verdict_Deny("business-hours policy is not initialised"), "init")
        st = query.statement

        writes = st.kind in WRITE_KINDS or any(
            r.access == types.Access.WRITE for r in st.relations
        )
        if writes and not writes_open(c):
            return decision(
                types.Verdict_Deny(
                    f"writes are allowed between {c.open_hour:02d}:00 and "
                    f"{c.close_hour:02d}:00 {offset_label(c.offset_minutes)}"
                ),
                "business-hours",
            )

        if st.kind == types.StatementKind.READ:
            for ra in st.relations:
                if ra.access != types.Access.READ or not relation_matches(c, ra.relation):
                    continue
                if st.limit is None or st.limit > c.max_rows:
                    return decision(
                        types.Verdict_Deny(
                            f"SELECT on {ra.relation.name} needs LIMIT <= {c.max_rows}"
                        ),
                        "big-table-limit",
                    )

        kinds, approvers, seconds = c.approval
        if st.kind in kinds:
            return decision(
                types.Verdict_RequireApproval(
                    types.Approval(
                        reason=f"{kinds[st.kind]} need approval",
                        approver_groups=approvers,
                        suggested_duration_seconds=seconds,
                    )
                ),
                "approval",
            )

        return decision(types.Verdict_Allow())
