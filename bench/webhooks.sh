#!/usr/bin/env bash
# FAOS webhook benchmarks, against a local Node receiver (bench/receiver.js):
#   a. deliveries per second sustained: BENCH_ENDPOINTS endpoints subscribed
#      to agent.created, BENCH_EVENTS agents created as fast as possible
#      (curl, 8 connections); rate = deliveries / (last - first arrival);
#   b. event -> first attempt latency: arrival time minus the event's
#      created_at, p50 and p99, over the same deliveries.
#
# Usage: bench/webhooks.sh          (FAOS_BIN as in bench/lib.sh)
# Environment: BENCH_EVENTS (default 1000), BENCH_ENDPOINTS (default 5),
#              BENCH_RECEIVER_PORT (default 18490), plus bench/lib.sh's.
# Needs: curl, node. Only talks to 127.0.0.1.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

EVENTS="${BENCH_EVENTS:-1000}"
ENDPOINTS="${BENCH_ENDPOINTS:-5}"
RPORT="${BENCH_RECEIVER_PORT:-18490}"

bench_init node
print_header "FAOS benchmarks: webhooks ($EVENTS events x $ENDPOINTS endpoints)"

LOG="$TMP/received.log"
: >"$LOG"
node "$here/receiver.js" "$RPORT" "$LOG" &
RECEIVER_PID=$!
trap 'kill "$RECEIVER_PID" 2>/dev/null || true; bench_cleanup' EXIT
sleep 0.3

wait_quiet
export FAOS_OUTBOUND_ALLOW=127.0.0.1
start_server "$TMP/server"
use_server_key
for _ in $(seq 1 "$ENDPOINTS"); do
  api POST /v1/webhooks "{\"url\":\"http://127.0.0.1:$RPORT/hook\",\"events\":[\"agent.created\"]}" >/dev/null
done

CONFIG="$TMP/create.curl"
: >"$CONFIG"
for i in $(seq 1 "$EVENTS"); do
  {
    echo "url = \"$BASE/v1/agents\""
    echo "request = \"POST\""
    echo "header = \"Authorization: Bearer $KEY\""
    echo "data = \"{\\\"name\\\":\\\"bench $i\\\"}\""
    echo "output = \"/dev/null\""
  } >>"$CONFIG"
done
expected=$((EVENTS * ENDPOINTS))
t0="$(now_us)"
curl -s --parallel --parallel-max 8 -K "$CONFIG"
t1="$(now_us)"
for _ in $(seq 1 600); do
  [[ "$(wc -l <"$LOG")" -ge "$expected" ]] && break
  sleep 0.1
done
got="$(wc -l <"$LOG")"
echo "== events: $EVENTS agents created in $(( (t1 - t0) / 1000 )) ms; deliveries received: $got of $expected"
sort -n -k2 "$LOG" | awk -v expected="$expected" '
  { created[NR] = $1; received[NR] = $2; lat[NR] = $2 - $1 }
  END {
    n = NR; first = received[1]; last = received[n]
    span = last - first; if (span < 1) span = 1
    asort(lat)
    printf "  a. deliveries/s sustained      %.0f (%d deliveries over %d ms)\n", n * 1000 / span, n, span
    printf "  b. event -> first attempt      p50 %d ms, p99 %d ms\n", lat[int(n * 0.5) + 1], lat[int(n * 0.99) + 1]
  }'
