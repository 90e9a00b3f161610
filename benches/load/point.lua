-- wrk script for benches/load/run: primary-key point lookups of the caller's tenant's rows.
--
-- Environment: TOKEN (bearer token), DS (datasource), SQL (the statement; one placeholder, no
-- double quotes), TENANTS and ROWS: the table holds ids 1..TENANTS*ROWS with
-- tenant_id = id % TENANTS, and every request asks for a random row of tenant 1
-- (id = k * TENANTS + 1, k in 0..ROWS-1), so a protected lookup finds its row.
--
-- Prints one line: RESULT rps=.. p50_us=.. p99_us=.. errors=.. non2xx=.. (the errors by kind)
local token = os.getenv("TOKEN") or "bench-token"
local ds = os.getenv("DS") or "pg"
local sql = os.getenv("SQL") or "SELECT id, tenant_id, name, email, ssn, balance FROM accounts WHERE id = $1"
local tenants = tonumber(os.getenv("TENANTS") or "50")
local rows = tonumber(os.getenv("ROWS") or "2000")
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("seed", os.time() * 100 + threads)
end

function init(args)
  math.randomseed(seed or os.time())
end

function request()
  local id = math.random(0, rows - 1) * tenants + 1
  local body = string.format('{"datasource":"%s","sql":"%s","params":[%d]}', ds, sql, id)
  return wrk.format("POST", nil, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT rps=%.1f p50_us=%d p99_us=%d errors=%d non2xx=%d" ..
    " (connect=%d read=%d write=%d timeout=%d)\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status, e.connect, e.read, e.write, e.timeout))
end
