-- wrk script for bench-server.sh: every request is a new sale,
-- POST /api/sales with its own Idempotency-Key (UUID-shaped, unique per
-- thread and request); with BENCH_KEY set, every request is a retry of the
-- one sale with that key instead.
-- Env: BENCH_TOKEN (demo-cashier-1), BENCH_PRODUCT (7), BENCH_KEY (none),
-- BENCH_SALES (none; e.g. "demo-cashier-1:1 demo-cashier-3:8": each sale
-- takes the next of these token:product pairs in turn instead of BENCH_TOKEN
-- and BENCH_PRODUCT, so sales do not all wait on one product's stock row, or
-- on one business's sequence row).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

local token = os.getenv("BENCH_TOKEN") or "demo-cashier-1"
local product = os.getenv("BENCH_PRODUCT") or "7"
local function body_of(id)
  return '{"locationId":"till-1","items":[{"productId":' .. id .. ',"quantity":1}]}'
end
local body = body_of(product)
local rotation = {}
for t, id in string.gmatch(os.getenv("BENCH_SALES") or "", "([%w_-]+):(%d+)") do
  table.insert(rotation, { token = t, body = body_of(id) })
end
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
  local b, t = body, token
  if #rotation > 0 then
    local r = rotation[(counter + tid) % #rotation + 1]
    b, t = r.body, r.token
  end
  return wrk.format("POST", "/api/sales", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. t,
    ["Idempotency-Key"] = key,
  }, b)
end
