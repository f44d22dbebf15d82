-- wrk script: stop after a fixed number of requests and print their
-- latency percentiles with microsecond precision (wrk's own --latency table
-- has no p90 at -c1 resolution worth reading and runs for a fixed time).
--
-- Use with one connection and one thread (wrk -t1 -c1 -d60s ...): the URL
-- and headers come from the wrk command line; this script only counts.
--
-- Environment (set by bench/access.sh):
--   BENCH_REQUESTS  responses to record before stopping (default 5000)
--
-- The count is kept in request(), not response(): a response() function
-- makes wrk copy every header and body into Lua, which costs more for a
-- larger body and would bias the comparison between two endpoints.
-- wrk calls request() once at start to check the script (not sent), then
-- once per request sent; on call N + 2 the first N responses have been
-- recorded (one connection, no pipelining) and the thread stops before
-- the extra request's answer is read. wrk's main thread would still sleep
-- for the whole -d duration, so the script then sends wrk SIGINT (its
-- own way to end a run early: it prints the statistics as usual).
--
-- Prints one line at the end:
--   "count: requests=N p50=… p90=… p99=… p999=… mean=… max=… (µs) non2xx=N"

local limit = tonumber(os.getenv("BENCH_REQUESTS") or "5000")
local sent = 0
local req = nil

function init(args)
  req = wrk.format(nil, nil)
end

function request()
  sent = sent + 1
  if sent == limit + 2 then
    wrk.thread:stop()
    -- io.popen, not os.execute: system() ignores SIGINT while it runs.
    -- Repeated every 0.2 s until wrk has exited, in case the first
    -- signal came before the main thread started its sleep.
    io.popen("(while kill -INT $PPID 2>/dev/null; do sleep 0.2; done) >/dev/null 2>&1 &"):close()
  end
  return req
end

function done(summary, latency, requests)
  io.write(string.format(
    "count: requests=%d p50=%d p90=%d p99=%d p999=%d mean=%.1f max=%d (us) non2xx=%d timeouts=%d\n",
    summary.requests, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.mean, latency.max, summary.errors.status,
    summary.errors.timeout))
end
