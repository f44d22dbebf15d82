-- wrk script: the same POST with a JSON body on every request, counting
-- the answers by status (wrk itself only counts "non-2xx", which cannot
-- tell a 200 from a 202).
--
-- Environment (set by bench/workflows.sh):
--   FAOS_KEY   secret key (sk_live_… / sk_test_…)
--   BENCH_PATH path to POST to, e.g. /v1/workflows/wf_…/run
--   BENCH_BODY JSON body, e.g. {"input":{"n":1},"wait":10}
--
-- Prints one line at the end: "statuses: 200=N 202=N …".

local key = os.getenv("FAOS_KEY") or error("FAOS_KEY is not set")
local path = os.getenv("BENCH_PATH") or error("BENCH_PATH is not set")
local body = os.getenv("BENCH_BODY") or error("BENCH_BODY is not set")

wrk.method = "POST"
wrk.path = path
wrk.body = body
wrk.headers["Authorization"] = "Bearer " .. key
wrk.headers["Content-Type"] = "application/json"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

-- Per-thread counts, one global per status seen (thread:get copies
-- numbers and strings, not tables).
seen = ""

function response(status, headers, body)
  local name = "s" .. status
  local count = _G[name]
  if count == nil then
    count = 0
    seen = seen .. " " .. status
  end
  _G[name] = count + 1
end

function done(summary, latency, requests)
  local totals, order = {}, {}
  for _, thread in ipairs(threads) do
    for status in string.gmatch(thread:get("seen") or "", "%d+") do
      if totals[status] == nil then
        totals[status] = 0
        table.insert(order, status)
      end
      totals[status] = totals[status] + (thread:get("s" .. status) or 0)
    end
  end
  table.sort(order)
  local parts = {}
  for _, status in ipairs(order) do
    table.insert(parts, status .. "=" .. totals[status])
  end
  io.write("statuses: " .. table.concat(parts, " ") .. "\n")
end
