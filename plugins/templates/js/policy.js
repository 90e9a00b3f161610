// {{name}}: a Sluice policy plugin (contract sluice:policy@{{contract}}), in JavaScript.
//
// A DELETE on a table listed in `protected_tables` needs approval from `approvers`; one that
// does not restrict its rows (no WHERE, or `WHERE 1 = 1`) is denied outright. Everything else
// is allowed. Configuration (JSON): {"protected_tables": ["customers"], "approvers": ["dba"]}.
//
// componentize-js maps records to plain objects (lowerCamelCase fields), enums to strings
// ('delete'), variants to { tag, val }, option<T> to T or undefined, u64 to BigInt; `init`
// reports an error by throwing a string. Built with every WASI feature disabled: console.log
// and Date.now are unavailable; import `log` / `nowMs` from 'sluice:policy/host@{{contract}}'.

const KEYS = ['protected_tables', 'approvers'];

// Set by init(); evaluate() denies until init() has succeeded.
let config = null;

function parseConfig(text) {
  let raw = {};
  if (text.trim() !== '') {
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw `config is not valid JSON: ${e.message}`;
    }
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw 'config must be a JSON object';
  for (const key of Object.keys(raw)) {
    if (!KEYS.includes(key)) throw `unknown config key "${key}"`;
  }
  const out = {};
  for (const key of KEYS) {
    const value = raw[key] ?? [];
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
      throw `${key} must be a list of strings`;
    }
    out[key] = value;
  }
  return out;
}

// Names are compared exactly: Sluice has normalised them by the dialect's case rules.
function isProtected(c, rel) {
  return c.protected_tables.some((entry) => {
    const dot = entry.indexOf('.');
    if (dot < 0) return rel.name === entry;
    return rel.schema === entry.slice(0, dot) && rel.name === entry.slice(dot + 1);
  });
}

function sameRelation(a, b) {
  return (a.schema ?? null) === (b.schema ?? null) && a.name === b.name;
}

function label(rel) {
  return rel.schema === undefined || rel.schema === null ? rel.name : `${rel.schema}.${rel.name}`;
}

function decision(verdict, rule) {
  return {
    verdict,
    rowFilters: [],
    columnMasks: [],
    sessionSettings: [],
    role: undefined,
    annotations: rule ? [['rule', rule]] : [],
  };
}

export function init(configText) {
  config = null;
  config = parseConfig(configText); // a thrown string becomes init's error
}

export function evaluate(query) {
  const c = config;
  if (c === null) return decision({ tag: 'deny', val: '{{name}} is not initialised' }, 'init');
  const st = query.statement;
  if (st.kind !== 'delete') return decision({ tag: 'allow' });
  for (const ra of st.relations) {
    const rel = ra.relation;
    if (ra.access !== 'write' || !isProtected(c, rel)) continue;
    if (st.unrestrictedWrites.some((w) => sameRelation(w, rel))) {
      return decision({
        tag: 'deny',
        val: `a DELETE on ${label(rel)} must have a WHERE clause that restricts its rows`,
      }, 'unrestricted-delete');
    }
    return decision({
      tag: 'require-approval',
      val: {
        reason: `DELETE on ${label(rel)} needs approval`,
        approverGroups: [...c.approvers],
        suggestedDurationSeconds: undefined,
      },
    }, 'protected-delete');
  }
  return decision({ tag: 'allow' });
}
