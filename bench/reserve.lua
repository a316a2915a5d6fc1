-- wrk script: POST /api/v1/reservations for ONE SKU at ONE store, quantity 1, each request
-- with a fresh Idempotency-Key (run id, wrk thread, counter), counting answers by status.
--   wrk ... -s bench/reserve.lua URL -- <api key> <sku> <store> <run id>
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  key = args[1]
  sku = args[2]
  store = args[3]
  run = args[4] or tostring(os.time())
  sent = 0
  statuses = {}
  body = string.format('{"store": "%s", "lines": [{"sku": "%s", "quantity": 1}], "kind": "online_order", "reference": "bench-%s", "expires_in": 3600}', store, sku, run)
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. key
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  sent = sent + 1
  wrk.headers["Idempotency-Key"] = string.format("bench-%s-%d-%d", run, id, sent)
  return wrk.format("POST", "/api/v1/reservations", nil, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for status, n in pairs(counts) do
      merged[status] = (merged[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(merged) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, "statuses": {%s}}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, errors.connect, errors.read, errors.write, errors.status, errors.timeout, table.concat(parts, ", ")))
end
