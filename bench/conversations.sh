#!/usr/bin/env bash
# FAOS conversation benchmarks, with the instant builtin model
# (builtin/echo by default), so what is measured is the platform:
#   a. platform overhead per message: POST /v1/agents/{id}/messages,
#      1 connection, p50/p99 (GET /healthz at 1 connection alongside, as
#      the HTTP + wrk floor);
#   b. first streamed byte: "stream": true, BENCH_STREAMS (default 200)
#      sequential requests on one keep-alive connection; curl's
#      time_starttransfer (first byte of the response: the status line),
#      the first body byte (the first SSE event, from curl's trace) and
#      time_total (stream closed after message.completed), p50/p99;
#   c. 200 concurrent conversations: wrk -c200, every request its own
#      conversation_id; throughput, latency, non-2xx (must be 0).
#
# Usage: bench/conversations.sh
#        FAOS_BIN=/path/to/faos bench/conversations.sh
#
# Environment (and the common ones in bench/lib.sh: FAOS_BIN, BENCH_PORT,
# BENCH_COMMIT, BENCH_QUIET):
#   BENCH_MODEL    the agent's model (default builtin/echo)
#   BENCH_DURATION wrk duration per run (default 15s)
#   BENCH_THREADS  wrk threads for the 200-connection run (default 1)
#   BENCH_STREAMS  streamed requests for b (default 200)
#   BENCH_CONNS    connections for c (default 200)
#
# Needs: curl, wrk. Only talks to 127.0.0.1.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MODEL="${BENCH_MODEL:-builtin/echo}"
DURATION="${BENCH_DURATION:-15s}"
THREADS="${BENCH_THREADS:-1}"
STREAMS="${BENCH_STREAMS:-200}"
CONNS="${BENCH_CONNS:-200}"
CONTENT="How do I get a refund?"

bench_init wrk
print_header "FAOS benchmarks: conversations (model $MODEL, wrk duration $DURATION)"

start_server "$TMP/run"
use_server_key
AGENT_ID="$(api POST /v1/agents "{\"name\":\"Bench\",\"template\":\"customer-service\",\"model\":\"$MODEL\"}" | first_id agt)"
[[ -n "$AGENT_ID" ]] || { echo "bench: could not create an agent" >&2; exit 1; }
echo "agent:   $AGENT_ID ($MODEL, customer-service instructions)"
# Warm-up: a few plain and streamed messages.
for i in 1 2 3 4 5; do
  api POST "/v1/agents/$AGENT_ID/messages" "{\"content\":\"$CONTENT\",\"conversation_id\":\"warm$i\"}" >/dev/null
  api POST "/v1/agents/$AGENT_ID/messages" "{\"content\":\"$CONTENT\",\"conversation_id\":\"warms$i\",\"stream\":true}" >/dev/null
done
echo

export FAOS_KEY="$KEY" FAOS_AGENT_ID="$AGENT_ID" FAOS_CONV_MODE=unique

# a. overhead per message ------------------------------------------------------
wait_quiet
echo "== a0. GET /healthz, 1 connection (no auth, no database: the HTTP + wrk floor)"
run_wrk health -t1 -c1 -d5s --latency "$BASE/healthz"
read -r H_RPS H_P50 H_P99 _ _ < <(wrk_summary "$TMP/health.txt")
echo
wait_quiet
echo "== a. POST /v1/agents/{id}/messages, $MODEL, 1 connection, a new conversation per request"
FAOS_CONV_PREFIX=a run_wrk seq -t1 -c1 -d"$DURATION" --latency -s "$here/message.lua" "$BASE"
read -r A_RPS A_P50 A_P99 A_NON2XX A_ERR < <(wrk_summary "$TMP/seq.txt")
echo

# b. first streamed byte -------------------------------------------------------
# One curl process, one keep-alive connection, STREAMS transfers in a row
# (a config file with "next" between them), so no process start or TCP
# connect is counted. curl's --trace-time log gives, per transfer, when the
# request was sent, when the first response byte (the status line) came,
# when the first body bytes (the first SSE event, answer.started) came, and
# when the last body bytes came.
wait_quiet
echo "== b. \"stream\": true, $STREAMS sequential requests on one connection, a new conversation each"
mkdir -p "$TMP/sse"
{
  echo "trace-ascii = \"$TMP/sse.trace\""
  echo "trace-time"
  for i in $(seq 1 "$STREAMS"); do
    echo "url = \"$BASE/v1/agents/$AGENT_ID/messages\""
    echo "header = \"Authorization: Bearer $KEY\""
    echo "header = \"Content-Type: application/json\""
    echo "data = \"{\\\"content\\\":\\\"$CONTENT\\\",\\\"conversation_id\\\":\\\"sse$i\\\",\\\"stream\\\":true}\""
    echo "output = \"$TMP/sse/$i\""
    echo "max-time = 10"
    echo "silent"
    echo "write-out = \"%{http_code} %{time_starttransfer} %{time_total} %{num_connects}\\n\""
    if [[ "$i" -lt "$STREAMS" ]]; then echo "next"; fi
  done
} >"$TMP/sse.curl"
echo "  command: curl -K sse.curl   ($STREAMS blocks of: POST \$BASE/v1/agents/\$AGENT_ID/messages"
echo "           {\"content\":\"$CONTENT\",\"conversation_id\":\"sse<i>\",\"stream\":true},"
echo "           -w '%{http_code} %{time_starttransfer} %{time_total} %{num_connects}', joined by 'next';"
echo "           --trace-time --trace-ascii for the time of the first SSE event)"
busy_start
timeout 120 curl -K "$TMP/sse.curl" >"$TMP/sse.txt" || true
busy_stop
# Per transfer from the trace: ms to the first header byte, to the first
# body byte, to the last body byte.
awk '
  function t(s,  a) { split(s, a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
  function flush() { if (n > 0) printf "%.3f %.3f %.3f\n", (h - s0) * 1000, (d - s0) * 1000, (e - s0) * 1000 }
  $2 == "=>" && $3 == "Send" && $4 == "header," { flush(); n++; s0 = t($1); h = d = e = s0; gh = gd = 0 }
  $2 == "<=" && $3 == "Recv" && $4 == "header," && !gh { h = t($1); gh = 1 }
  $2 == "<=" && $3 == "Recv" && $4 == "data," { if (!gd) { d = t($1); gd = 1 }; e = t($1) }
  END { flush() }' "$TMP/sse.trace" >"$TMP/sse.times"
S_N="$(wc -l <"$TMP/sse.txt")"
S_OK="$(awk '$1 == 200' "$TMP/sse.txt" | wc -l)"
S_CONNECTS="$(awk '{ s += $4 } END { print s + 0 }' "$TMP/sse.txt")"
S_COMPLETED="$(grep -l '^event: message.completed' "$TMP/sse"/* 2>/dev/null | wc -l)"
read -r S_TTFB50 S_TTFB99 < <(awk '$1 == 200 { printf "%.3f\n", $2 * 1000 }' "$TMP/sse.txt" | percentiles 50 99)
read -r S_TOT50 S_TOT99 < <(awk '$1 == 200 { printf "%.3f\n", $3 * 1000 }' "$TMP/sse.txt" | percentiles 50 99)
read -r S_EV50 S_EV99 < <(awk '{ print $2 }' "$TMP/sse.times" | percentiles 50 99)
S_EVENTS="$(grep -c '^event:' "$TMP/sse/1" || true)"
echo "  responses: $S_N, status 200: $S_OK, TCP connects: $S_CONNECTS, streams ending with message.completed: $S_COMPLETED"
echo "  events in one stream: $S_EVENTS ($(grep '^event:' "$TMP/sse/1" | awk '{ print $2 }' | uniq -c | awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1 }'))"
echo "  first byte, status line (time_starttransfer): p50 ${S_TTFB50} ms, p99 ${S_TTFB99} ms"
echo "  first SSE event (first body byte, trace):     p50 ${S_EV50} ms, p99 ${S_EV99} ms"
echo "  whole stream (time_total):                    p50 ${S_TOT50} ms, p99 ${S_TOT99} ms"
echo

# c. many conversations at once ---------------------------------------------------
wait_quiet
echo "== c. $CONNS connections at once, a new conversation per request, $MODEL"
FAOS_CONV_PREFIX=c run_wrk conc -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout 10s --latency -s "$here/message.lua" "$BASE"
read -r C_RPS C_P50 C_P99 C_NON2XX C_ERR < <(wrk_summary "$TMP/conc.txt")
C_REQS="$(awk '/requests in/ { print $1 }' "$TMP/conc.txt")"
echo

server_statuses
echo "  database size after load: $(du -h "$SERVER_DIR/faos.db" | cut -f1) (+ WAL $(du -h "$SERVER_DIR/faos.db-wal" 2>/dev/null | cut -f1 || echo 0))"
echo

echo "== summary"
printf '  %-44s %s\n' "GET /healthz, 1 conn (floor)" "p50 ${H_P50}, p99 ${H_P99}, ${H_RPS} req/s"
printf '  %-44s %s\n' "message overhead, 1 conn" "p50 ${A_P50}, p99 ${A_P99}, ${A_RPS} req/s, non-2xx ${A_NON2XX}, socket errors ${A_ERR}"
printf '  %-44s %s\n' "stream first byte ($S_OK of $STREAMS ok)" "p50 ${S_TTFB50} ms, p99 ${S_TTFB99} ms"
printf '  %-44s %s\n' "stream first event" "p50 ${S_EV50} ms, p99 ${S_EV99} ms"
printf '  %-44s %s\n' "stream whole answer" "p50 ${S_TOT50} ms, p99 ${S_TOT99} ms"
printf '  %-44s %s\n' "$CONNS concurrent conversations" "${C_RPS} req/s, p50 ${C_P50}, p99 ${C_P99}, ${C_REQS} requests, non-2xx ${C_NON2XX}, socket errors ${C_ERR}"
