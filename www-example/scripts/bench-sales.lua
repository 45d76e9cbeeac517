-- wrk script for bench-server.sh: every request is a new sale,
-- POST /api/sales with its own Idempotency-Key (UUID-shaped, unique per
-- thread and request); with BENCH_KEY set, every request is a retry of the
-- one sale with that key instead.
-- Env: BENCH_TOKEN (demo-cashier-1), BENCH_PRODUCT (7), BENCH_KEY (none).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

local token = os.getenv("BENCH_TOKEN") or "demo-cashier-1"
local product = os.getenv("BENCH_PRODUCT") or "7"
local body = '{"locationId":"till-1","items":[{"productId":' .. product .. ',"quantity":1}]}'
local retried_key = os.getenv("BENCH_KEY")
local counter = 0
local prefix = nil

function init(args)
  math.randomseed(os.time() * 1000 + tid)
  prefix = string.format("%08x", math.random(0, 0x7fffffff))
end

function request()
  counter = counter + 1
  local key = retried_key or string.format("%s-%04x-4000-8000-%012x", prefix, tid, counter)
  return wrk.format("POST", "/api/sales", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = key,
  }, body)
end
