-- wrk script: GET /api/v1/availability with a random set of SKUs on every request.
--   wrk ... -s bench/availability.lua URL -- <api key> <variants> <skus per request> [store|ALL]
-- With a store code: one item per SKU at that store; with ALL (or nothing): no store
-- parameter, so one item per SKU and active location (50 SKUs x 50 locations = 2,500 items).
-- Against the trivial app pass "trivial" as the key: it requests /trivial with the same header.
-- Pass "healthz" to request Shelfside's /healthz (the whole app stack and one SELECT 1).
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)  -- seeds each thread's random SKU sets differently
end

function init(args)
  key = args[1] or ""
  variants = tonumber(args[2] or "100000")
  per_request = tonumber(args[3] or "50")
  store = args[4] or "ALL"
  math.randomseed(os.time() * 1000 + id)
  wrk.headers["Authorization"] = "Bearer " .. key
  wrk.headers["Accept"] = "application/json"
end

function request()
  if key == "trivial" then
    return wrk.format("GET", "/trivial")
  elseif key == "healthz" then
    return wrk.format("GET", "/healthz")
  end
  local parts = {}
  for i = 1, per_request do
    parts[i] = string.format("sku=SKU-%06d", math.random(1, variants))
  end
  local path = "/api/v1/availability?" .. table.concat(parts, "&")
  if store ~= "ALL" then
    path = path .. "&store=" .. store
  end
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
