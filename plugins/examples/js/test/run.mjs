// Checks each example policy component's interface, then runs the same behaviour cases
// against it.
//
//   node --experimental-wasm-extended-const test/run.mjs ../../dist/business-hours-{python,js,c}.wasm
//
// Interface: the component's world (from `jco wit`, i.e. `wasm-tools component wit`) must
// export `init` and `evaluate` with the sluice:policy@0.1.0 signatures and import nothing
// but sluice:policy/host, sluice:policy/types and WASI interfaces (listed).
//
// Behaviour: each component is transpiled to JS + core wasm by jco (a dev dependency of
// componentize-js) and run under Node, with `sluice:policy/host` provided by ./host.mjs
// and WASI by @bytecodealliance/preview2-shim. This checks the plugins, not Sluice's host.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { state } from './host.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const jco = join(here, '..', 'node_modules', '.bin', 'jco');

const H = 3600n * 1000n;
const DAY = 19723n * 24n * H; // 2024-01-01T00:00:00Z

function query(kind, relations, limit) {
  return {
    principal: { id: 'alice', roles: ['analyst'], attributes: [] },
    datasource: { name: 'app', dialect: 'postgres' },
    statement: {
      kind,
      relations: relations.map(([schema, name, access]) => ({
        relation: { schema, name },
        access,
      })),
      columns: [],
      functions: [],
      unrestrictedWrites: [],
      limit,
      fingerprint: '0'.repeat(64),
      text: 'SELECT 1',
    },
    request: { clientAddress: undefined, justification: undefined, receivedAtMs: DAY, traceId: 't' },
    grants: [],
    extensions: [],
  };
}

// [name, config, hourUtc, query, expected]: expected is 'allow', a deny reason,
// {approval: [reason, approverGroups, suggestedDurationSeconds]} or {initError: substring}.
const cases = [
  ['init rejects open_hour 25', '{"open_hour": 25}', 12n, null, { initError: 'open_hour' }],
  ['init rejects unknown key', '{"open_hours": 9}', 12n, null, { initError: 'open_hours' }],
  ['init rejects bad JSON', '{', 12n, null, { initError: 'JSON' }],
  ['init rejects non-object', '[]', 12n, null, { initError: 'object' }],
  ['init rejects equal hours', '{"open_hour": 9, "close_hour": 9}', 12n, null, { initError: 'differ' }],
  ['init rejects bad big_tables', '{"big_tables": "orders"}', 12n, null, { initError: 'big_tables' }],
  ['init rejects negative max_rows', '{"max_rows": -1}', 12n, null, { initError: 'max_rows' }],
  ['init rejects offset', '{"utc_offset_minutes": 5000}', 12n, null, { initError: 'utc_offset' }],
  ['insert inside hours', '{}', 12n, query('insert', [[undefined, 'orders', 'write']]), 'allow'],
  ['empty config means defaults', '', 20n, query('insert', [[undefined, 't', 'write']]),
    'writes are allowed between 08:00 and 18:00 UTC+00:00'],
  ['insert after hours', '{}', 20n, query('insert', [[undefined, 'orders', 'write']]),
    'writes are allowed between 08:00 and 18:00 UTC+00:00'],
  ['update at close hour', '{}', 18n, query('update', [[undefined, 't', 'write']]),
    'writes are allowed between 08:00 and 18:00 UTC+00:00'],
  ['delete at open hour', '{}', 8n, query('delete', [[undefined, 't', 'write']]), 'allow'],
  ['ddl before hours', '{}', 7n, query('ddl', []), 'writes are allowed between 08:00 and 18:00 UTC+00:00'],
  ['read with a written relation', '{}', 23n,
    query('read', [[undefined, 'audit', 'write'], [undefined, 't', 'read']], 5n),
    'writes are allowed between 08:00 and 18:00 UTC+00:00'],
  ['other kind after hours', '{}', 23n, query('other', []), 'allow'],
  ['negative offset', '{"utc_offset_minutes": -330}', 12n, query('insert', [[undefined, 't', 'write']]),
    'writes are allowed between 08:00 and 18:00 UTC-05:30'],
  ['positive offset', '{"utc_offset_minutes": 120, "open_hour": 9, "close_hour": 17}', 15n,
    query('insert', [[undefined, 't', 'write']]), 'writes are allowed between 09:00 and 17:00 UTC+02:00'],
  ['overnight window open', '{"open_hour": 22, "close_hour": 6}', 23n, query('insert', []), 'allow'],
  ['overnight window closed', '{"open_hour": 22, "close_hour": 6}', 12n, query('insert', []),
    'writes are allowed between 22:00 and 06:00 UTC+00:00'],
  ['select big table without limit', '{}', 23n, query('read', [[undefined, 'orders', 'read']], undefined),
    'SELECT on orders needs LIMIT <= 1000'],
  ['select big table limit ok', '{}', 23n, query('read', [[undefined, 'orders', 'read']], 1000n), 'allow'],
  ['select big table limit too high', '{}', 23n, query('read', [[undefined, 'orders', 'read']], 1001n),
    'SELECT on orders needs LIMIT <= 1000'],
  ['select schema-qualified big table', '{"max_rows": 50}', 12n,
    query('read', [['public', 'customers', 'read'], ['public', 'orders', 'read']], 51n),
    'SELECT on orders needs LIMIT <= 50'],
  ['select other table', '{}', 12n, query('read', [[undefined, 'customers', 'read']], undefined), 'allow'],
  ['qualified config entry matches', '{"big_tables": ["sales.Orders"]}', 12n,
    query('read', [['sales', 'orders', 'read']], undefined), 'SELECT on orders needs LIMIT <= 1000'],
  ['qualified config entry ignores other schema', '{"big_tables": ["sales.orders"]}', 12n,
    query('read', [['hr', 'orders', 'read']], undefined), 'allow'],
  ['huge limit', '{}', 12n, query('read', [[undefined, 'orders', 'read']], 18446744073709551615n),
    'SELECT on orders needs LIMIT <= 1000'],
  ['init rejects unknown approval kind', '{"approval_for": ["drop"]}', 12n, null,
    { initError: 'approval_for' }],
  ['init rejects approval_for string', '{"approval_for": "delete"}', 12n, null,
    { initError: 'approval_for' }],
  ['init rejects empty approver', '{"approvers": [""]}', 12n, null, { initError: 'approvers' }],
  ['init rejects approvers object', '{"approvers": {"dba": true}}', 12n, null, { initError: 'approvers' }],
  ['init rejects approval_seconds 0', '{"approval_seconds": 0}', 12n, null,
    { initError: 'approval_seconds' }],
  ['init rejects approval_seconds over u32', '{"approval_seconds": 4294967296}', 12n, null,
    { initError: 'approval_seconds' }],
  ['init rejects fractional approval_seconds', '{"approval_seconds": 1.5}', 12n, null,
    { initError: 'approval_seconds' }],
  ['delete needs approval (defaults)', '{"approval_for": ["delete"]}', 12n,
    query('delete', [[undefined, 't', 'write']]), { approval: ['deletes need approval', ['dba'], 3600] }],
  ['approval with configured approvers and duration',
    '{"approval_for": ["update", "delete"], "approvers": ["dba", "oncall"], "approval_seconds": 600}',
    12n, query('update', [[undefined, 't', 'write']]),
    { approval: ['updates need approval', ['dba', 'oncall'], 600] }],
  ['approval with no approver groups', '{"approval_for": ["ddl"], "approvers": []}', 12n,
    query('ddl', []), { approval: ['schema changes need approval', [], 3600] }],
  ['approval for reads', '{"approval_for": ["read"], "approval_seconds": 4294967295}', 23n,
    query('read', [[undefined, 'customers', 'read']], undefined),
    { approval: ['reads need approval', ['dba'], 4294967295] }],
  ['kind not listed is allowed', '{"approval_for": ["delete"]}', 12n,
    query('insert', [[undefined, 't', 'write']]), 'allow'],
  ['deny wins over approval (after hours)', '{"approval_for": ["delete"]}', 20n,
    query('delete', [[undefined, 't', 'write']]), 'writes are allowed between 08:00 and 18:00 UTC+00:00'],
  ['deny wins over approval (big table)', '{"approval_for": ["read"]}', 12n,
    query('read', [[undefined, 'orders', 'read']], undefined), 'SELECT on orders needs LIMIT <= 1000'],
];

// The verdict as a value comparable with a case's expectation.
function verdictOf(v) {
  if (v.tag === 'allow') return 'allow';
  if (v.tag === 'deny') return v.val;
  if (v.tag === 'require-approval') {
    const a = v.val;
    const secs = a.suggestedDurationSeconds;
    return { approval: [a.reason, [...a.approverGroups], secs === undefined ? null : Number(secs)] };
  }
  return v;
}

let passed = 0;
let failed = 0;

async function load(wasm) {
  const name = basename(wasm, '.wasm');
  const out = join(here, '..', '.test-out', name);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  execFileSync(jco, ['transpile', wasm, '-o', out, '--name', 'component', '--no-typescript',
    '--map', `sluice:policy/host@0.1.0=${pathToFileURL(join(here, 'host.mjs')).href}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  return import(pathToFileURL(join(out, 'component.js')).href);
}

function checkInterface(wasm, lang) {
  const wit = execFileSync(jco, ['wit', wasm], { encoding: 'utf8' });
  const world = wit.slice(0, wit.indexOf('\n}\n') + 3); // the component's own world comes first
  const imports = [...world.matchAll(/^ {2}import ([^;:]+:[^;]+);$/gm)].map((m) => m[1]);
  const exported = (name, sig) => world.includes(`\n  export ${name}: func(${sig}`);
  const allowed = (i) => i === 'sluice:policy/host@0.1.0' || i === 'sluice:policy/types@0.1.0'
    || i.startsWith('wasi:');
  const checks = [
    ['exports init(config: string) -> result<_, string>',
      exported('init', 'config: string) -> result<_, string>;')],
    ['exports evaluate(query: query) -> decision', exported('evaluate', 'query: query) -> decision;')
      && world.includes('use sluice:policy/types@0.1.0.{query, decision};')],
    ['imports only sluice:policy/{host,types}@0.1.0 and WASI', imports.every(allowed)],
  ];
  for (const [name, ok] of checks) {
    ok ? passed++ : failed++;
    console.log(`${ok ? 'ok' : 'FAIL'} ${lang}: ${name}`);
  }
  const wasi = imports.filter((i) => i.startsWith('wasi:'));
  const other = [...world.matchAll(/^ {2}export ([^:]+): interface/gm)].map((m) => m[1]);
  console.log(`# ${lang}: imports ${imports.filter((i) => !i.startsWith('wasi:')).join(', ')}; `
    + `${wasi.length} WASI interfaces${wasi.length ? `: ${wasi.join(', ')}` : ''}`
    + `${other.length ? `; extra exported interfaces: ${other.join(', ')}` : ''}`);
}

for (const wasm of process.argv.slice(2).map((p) => resolve(p))) {
  const lang = basename(wasm, '.wasm').replace(/^business-hours-/, '');
  console.log(`# ${basename(wasm)}: ${statSync(wasm).size} bytes`);
  checkInterface(wasm, lang);
  const t0 = performance.now();
  const m = await load(wasm);
  console.log(`# ${basename(wasm)}: transpiled + loaded in ${(performance.now() - t0).toFixed(0)} ms`);

  // evaluate before init (fresh instance) must deny
  {
    const d = m.evaluate(query('read', [], undefined));
    const ok = d.verdict.tag === 'deny';
    ok ? passed++ : failed++;
    console.log(`${ok ? 'ok' : 'FAIL'} ${lang}: evaluate before init denies`);
  }

  for (const [name, config, hour, q, expected] of cases) {
    let ok = false;
    let got;
    try {
      state.nowMs = DAY + hour * H + 17n * 60000n; // xx:17 UTC
      try {
        m.init(config);
        got = 'init ok';
      } catch (e) {
        got = { initError: String(e.payload ?? e) };
      }
      if (expected.initError !== undefined) {
        ok = got.initError !== undefined && got.initError.includes(expected.initError);
      } else if (got === 'init ok') {
        const d = m.evaluate(q);
        got = verdictOf(d.verdict);
        const ann = Object.fromEntries(d.annotations);
        const same = typeof expected === 'string'
          ? got === expected
          : JSON.stringify(got) === JSON.stringify(expected) && ann.rule === 'approval';
        ok = same && ann.lang === lang && d.rowFilters.length === 0
          && d.columnMasks.length === 0 && d.sessionSettings.length === 0 && d.role === undefined;
        if (ann.lang !== lang) got = `${got} (lang=${ann.lang})`;
      }
    } catch (e) {
      got = `threw ${e}`;
    }
    ok ? passed++ : failed++;
    console.log(`${ok ? 'ok' : 'FAIL'} ${lang}: ${name}${ok ? '' : `: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`}`);
  }

  // warm timing: 1000 evaluations on this instance
  m.init('{}');
  const q = query('read', [[undefined, 'orders', 'read']], 10n);
  const t1 = performance.now();
  for (let i = 0; i < 1000; i++) m.evaluate(q);
  // (Node + jco's JS glue, not wasmtime: only a rough relative number.)
  console.log(`# ${lang}: warm evaluate under node/jco ${((performance.now() - t1)).toFixed(0)} us/call`);
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
