#!/usr/bin/env bash
# FAOS walking-skeleton benchmarks: start-to-ready time, idle RSS,
# GET /v1/agents throughput, message round trip with the builtin model,
# RSS after load.
#
# Usage: bench/run.sh            (builds a release binary first)
#        FAOS_BIN=/path/to/faos bench/run.sh
#
# Environment (and the common ones in bench/lib.sh: FAOS_BIN, BENCH_PORT,
# BENCH_COMMIT, BENCH_QUIET):
#   BENCH_DURATION wrk duration per run (default 15s)
#   BENCH_THREADS  wrk threads for the multi-connection runs (default 1)
#   BENCH_STARTS   fresh starts for the start-to-ready median (default 5)
#   BENCH_CONV_MODE conversation ids for the message runs: unique (default)
#                  or rotate (see bench/message.lua)
#
# Needs: curl, wrk (apt-get install -y wrk). Only talks to 127.0.0.1.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION="${BENCH_DURATION:-15s}"
THREADS="${BENCH_THREADS:-1}"
STARTS="${BENCH_STARTS:-5}"
CONV_MODE="${BENCH_CONV_MODE:-unique}"

bench_init wrk
print_header "FAOS benchmarks: walking skeleton (wrk duration $DURATION, $THREADS thread(s) for multi-connection runs)"

# a. start to ready ---------------------------------------------------------
wait_quiet
echo "== a. process start to /readyz 200 ($STARTS fresh starts, fresh database each)"
ready=()
for i in $(seq 1 "$STARTS"); do
  start_server "$TMP/start$i"
  ready+=("$READY_MS")
  echo "  start $i: ${READY_MS} ms"
  stop_server
done
READY_MEDIAN="$(printf '%s\n' "${ready[@]}" | median)"
echo "  median: ${READY_MEDIAN} ms"
echo

# The server for everything else.
start_server "$TMP/run"
use_server_key

# b. idle RSS ----------------------------------------------------------------
echo "== b. idle RSS"
AGENT_ID="$(api POST /v1/agents '{"name":"Bench","template":"customer-service"}' | first_id agt)"
[[ -n "$AGENT_ID" ]] || { echo "bench: could not create an agent" >&2; exit 1; }
api GET '/v1/agents?limit=20' >/dev/null
api POST "/v1/agents/$AGENT_ID/messages" '{"content":"How do I get a refund?","conversation_id":"warm"}' >/dev/null
api GET "/v1/agents/$AGENT_ID/messages?conversation_id=warm" >/dev/null
curl -s -o /dev/null "$BASE/healthz"
sleep 1
RSS_IDLE="$(rss_mb)"
echo "  VmRSS after start + 5 requests, 1 s idle: ${RSS_IDLE} MB"
echo

# c. GET /v1/agents -----------------------------------------------------------
echo "== c. GET /v1/agents?limit=20, 50 connections (100 agents seeded)"
for i in $(seq 2 100); do
  api POST /v1/agents "{\"name\":\"Bench $i\",\"template\":\"customer-service\"}" >/dev/null
done
wait_quiet
wrk -t"$THREADS" -c50 -d3s -H "Authorization: Bearer $KEY" "$BASE/v1/agents?limit=20" >/dev/null # warm-up
run_wrk list -t"$THREADS" -c50 -d"$DURATION" --latency -H "Authorization: Bearer $KEY" "$BASE/v1/agents?limit=20"
read -r L_RPS L_P50 L_P99 L_NON2XX L_ERR < <(wrk_summary "$TMP/list.txt")
echo

# d. message round trip ---------------------------------------------------------
export FAOS_KEY="$KEY" FAOS_AGENT_ID="$AGENT_ID" FAOS_CONV_MODE="$CONV_MODE"
wait_quiet
echo "== d1. POST /v1/agents/{id}/messages, builtin/assistant, 1 connection (sequential), conversation ids: $CONV_MODE"
FAOS_CONV_PREFIX=s run_wrk msg1 -t1 -c1 -d"$DURATION" --latency -s "$here/message.lua" "$BASE"
read -r M1_RPS M1_P50 M1_P99 M1_NON2XX M1_ERR < <(wrk_summary "$TMP/msg1.txt")
echo
wait_quiet
echo "== d2. POST /v1/agents/{id}/messages, builtin/assistant, 10 connections, conversation ids: $CONV_MODE"
FAOS_CONV_PREFIX=m run_wrk msg10 -t"$THREADS" -c10 -d"$DURATION" --latency -s "$here/message.lua" "$BASE"
read -r M10_RPS M10_P50 M10_P99 M10_NON2XX M10_ERR < <(wrk_summary "$TMP/msg10.txt")
echo

sleep 1
RSS_AFTER="$(rss_mb)"

server_statuses
echo "  database size after load: $(du -h "$SERVER_DIR/faos.db" | cut -f1) (+ WAL $(du -h "$SERVER_DIR/faos.db-wal" 2>/dev/null | cut -f1 || echo 0))"
echo

echo "== summary"
printf '  %-44s %s\n' "start to ready (median of $STARTS)" "${READY_MEDIAN} ms   (starts: ${ready[*]})"
printf '  %-44s %s\n' "idle RSS" "${RSS_IDLE} MB"
printf '  %-44s %s\n' "GET /v1/agents, 50 conn" "${L_RPS} req/s, p50 ${L_P50}, p99 ${L_P99}, non-2xx ${L_NON2XX}, socket errors ${L_ERR}"
printf '  %-44s %s\n' "message round trip, 1 conn" "p50 ${M1_P50}, p99 ${M1_P99}, ${M1_RPS} req/s, non-2xx ${M1_NON2XX}, socket errors ${M1_ERR}"
printf '  %-44s %s\n' "message round trip, 10 conn" "${M10_RPS} req/s, p50 ${M10_P50}, p99 ${M10_P99}, non-2xx ${M10_NON2XX}, socket errors ${M10_ERR}"
printf '  %-44s %s\n' "RSS after load" "${RSS_AFTER} MB"
