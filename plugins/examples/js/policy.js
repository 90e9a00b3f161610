// Sluice example policy "business hours for writes", in JavaScript (componentize-js).
//
// - Statements that write (INSERT, UPDATE, DELETE, DDL, or any statement that writes a
//   relation) are denied outside [open_hour, close_hour) in the configured UTC offset.
// - A SELECT that reads one of `big_tables` is denied unless it has a literal LIMIT of at
//   most `max_rows`.
// - A statement whose kind is in `approval_for` (default none) needs a human's approval
//   (require-approval: "<kind>s need approval", approver groups `approvers`, default ['dba'],
//   suggested grant `approval_seconds`, default 3600).
// - Everything else is allowed.
//
// Statement facts come from the host (`query.statement`); the plugin never parses SQL.
// The time comes from the host (`nowMs`), never from Date.now(): the component is built
// without WASI clocks.
//
// WIT -> JS mapping (componentize-js / jco conventions):
//   record            -> plain object, field names in lowerCamelCase (`row-filters` -> rowFilters)
//   enum              -> string ('read', 'insert', 'ddl', ...)
//   variant           -> { tag: 'deny', val: 'reason' } ({ tag: 'allow' } when no payload)
//   option<T>         -> T or undefined
//   list<tuple<a,b>>  -> array of [a, b] arrays
//   u64               -> BigInt
//   result<_, string> -> return normally for ok; throw a string for err

import { log, nowMs } from 'sluice:policy/host@0.1.0';

const DEFAULTS = {
  open_hour: 8,
  close_hour: 18,
  utc_offset_minutes: 0,
  big_tables: ['orders'],
  max_rows: 1000,
  approval_for: [],
  approvers: ['dba'],
  approval_seconds: 3600,
};

// Statement kinds as configured in `approval_for`, and how an approval reason names them.
const KINDS = {
  read: 'reads',
  insert: 'inserts',
  update: 'updates',
  delete: 'deletes',
  ddl: 'schema changes',
  other: 'other statements',
};

const WRITE_KINDS = new Set(['insert', 'update', 'delete', 'ddl']);

// Set by init(); evaluate() denies everything until init() has succeeded.
let config = null;

function isInt(v, lo, hi) {
  return typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
}

function parseConfig(text) {
  let raw;
  if (text.trim() === '') {
    raw = {};
  } else {
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw `config is not valid JSON: ${e.message}`;
    }
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw 'config must be a JSON object';
  }
  for (const key of Object.keys(raw)) {
    if (!Object.hasOwn(DEFAULTS, key)) throw `unknown config key "${key}"`;
  }
  const c = { ...DEFAULTS, ...raw };
  if (!isInt(c.open_hour, 0, 23)) throw 'open_hour must be an integer in 0..=23';
  if (!isInt(c.close_hour, 1, 24)) throw 'close_hour must be an integer in 1..=24';
  if (c.open_hour === c.close_hour) throw 'open_hour and close_hour must differ';
  if (!isInt(c.utc_offset_minutes, -1080, 1080)) {
    throw 'utc_offset_minutes must be an integer in -1080..=1080';
  }
  if (!Array.isArray(c.big_tables) || !c.big_tables.every((t) => typeof t === 'string' && t !== '')) {
    throw 'big_tables must be a list of non-empty strings';
  }
  if (!isInt(c.max_rows, 0, Number.MAX_SAFE_INTEGER)) {
    throw 'max_rows must be a non-negative integer';
  }
  if (!Array.isArray(c.approval_for)
    || !c.approval_for.every((k) => typeof k === 'string' && Object.hasOwn(KINDS, k))) {
    throw 'approval_for must be a list of statement kinds (read, insert, update, delete, ddl, other)';
  }
  if (!Array.isArray(c.approvers) || !c.approvers.every((a) => typeof a === 'string' && a !== '')) {
    throw 'approvers must be a list of non-empty strings';
  }
  if (!isInt(c.approval_seconds, 1, 4294967295)) {
    throw 'approval_seconds must be an integer in 1..=4294967295';
  }
  return {
    openHour: c.open_hour,
    closeHour: c.close_hour,
    offsetMinutes: c.utc_offset_minutes,
    bigTables: new Set(c.big_tables.map((t) => t.toLowerCase())),
    maxRows: BigInt(c.max_rows),
    approvalFor: new Set(c.approval_for),
    approvers: [...c.approvers],
    approvalSeconds: c.approval_seconds,
  };
}

function pad2(n) {
  return String(n).padStart(2, '0');
}

function offsetLabel(minutes) {
  const sign = minutes < 0 ? '-' : '+';
  const m = Math.abs(minutes);
  return `UTC${sign}${pad2(Math.floor(m / 60))}:${pad2(m % 60)}`;
}

// Is the host's clock inside the write window?
function writesOpen(c) {
  // nowMs() is a BigInt (u64). Minutes since the epoch fit a Number exactly.
  const minutes = Number(nowMs() / 60000n) + c.offsetMinutes;
  const minuteOfDay = ((minutes % 1440) + 1440) % 1440;
  const open = c.openHour * 60;
  const close = c.closeHour * 60;
  return open < close
    ? minuteOfDay >= open && minuteOfDay < close
    : minuteOfDay >= open || minuteOfDay < close; // window spans midnight
}

function relationMatches(c, rel) {
  const name = rel.name.toLowerCase();
  if (c.bigTables.has(name)) return true;
  return rel.schema !== undefined && rel.schema !== null
    && c.bigTables.has(`${rel.schema.toLowerCase()}.${name}`);
}

function decision(verdict, rule) {
  const annotations = [['lang', 'js']];
  if (rule) annotations.push(['rule', rule]);
  return {
    verdict,
    rowFilters: [],
    columnMasks: [],
    sessionSettings: [],
    role: undefined,
    annotations,
  };
}

export function init(configText) {
  config = null;
  config = parseConfig(configText); // throws a string -> result::err
  log('debug', `business-hours: writes ${pad2(config.openHour)}:00-${pad2(config.closeHour)}:00 `
    + `${offsetLabel(config.offsetMinutes)}, big tables need LIMIT <= ${config.maxRows}`);
}

export function evaluate(query) {
  const c = config;
  if (c === null) {
    return decision({ tag: 'deny', val: 'business-hours policy is not initialised' }, 'init');
  }
  const st = query.statement;

  const writes = WRITE_KINDS.has(st.kind) || st.relations.some((r) => r.access === 'write');
  if (writes && !writesOpen(c)) {
    return decision({
      tag: 'deny',
      val: `writes are allowed between ${pad2(c.openHour)}:00 and ${pad2(c.closeHour)}:00 `
        + `${offsetLabel(c.offsetMinutes)}`,
    }, 'business-hours');
  }

  if (st.kind === 'read') {
    for (const ra of st.relations) {
      if (ra.access !== 'read' || !relationMatches(c, ra.relation)) continue;
      const limit = st.limit; // BigInt or undefined
      if (limit === undefined || limit === null || limit > c.maxRows) {
        return decision({
          tag: 'deny',
          val: `SELECT on ${ra.relation.name} needs LIMIT <= ${c.maxRows}`,
        }, 'big-table-limit');
      }
    }
  }

  if (c.approvalFor.has(st.kind)) {
    return decision({
      tag: 'require-approval',
      val: {
        reason: `${KINDS[st.kind]} need approval`,
        approverGroups: c.approvers,
        suggestedDurationSeconds: c.approvalSeconds,
      },
    }, 'approval');
  }

  return decision({ tag: 'allow' });
}
