#!/usr/bin/env bash
# FAOS webhook benchmarks (issue #5), on SQLite, with a local receiver
# (bench/webhook_receiver.js: Node's http server answering 200 at once and
# writing down when each request arrived):
#   a. deliveries per second: BENCH_ENDPOINTS endpoints subscribed to
#      agent.created, then BENCH_AGENTS agents created as fast as one curl
#      process can (BENCH_CREATE_CONNS at a time); waits until every
#      expected delivery (endpoints x agents) has arrived. Reports
#        - steady state: the middle 80% of the arrivals (10th to 90th
#          percentile of arrival time) divided by the time they took;
#        - overall: all deliveries / (last arrival - first create sent);
#        - while creating and after the last create was answered (if the
#          dispatcher fell behind, the latter is its drain rate);
#      and the CPU seconds used by the server and by the receiver.
#      Goal: >= 2,000 deliveries/s.
#   b. event -> first delivery attempt latency, on a fresh server: one
#      endpoint for agent.created; BENCH_LAT_AGENTS agents created one after
#      the other (each after the previous delivery arrived, plus 20 ms
#      idle); latency = receiver got the request's headers - client read
#      the POST /v1/agents answer. Goal: p50 <= 20 ms.
#
# The server runs with FAOS_OUTBOUND_ALLOW=127.0.0.1 (the URL guard refuses
# loopback otherwise) and FAOS_WEBHOOK_CONCURRENCY from the caller's
# environment (the server's default is 64; section a runs once per value in
# BENCH_WEBHOOK_CONCURRENCIES).
#
# Usage: bench/webhooks.sh
#        FAOS_BIN=/path/to/faos BENCH_COMMIT=abc1234 bench/webhooks.sh
#
# Environment (and the common ones in bench/lib.sh: FAOS_BIN, BENCH_PORT,
# BENCH_COMMIT, BENCH_QUIET):
#   BENCH_RECEIVER_PORT  receiver's port on 127.0.0.1 (default BENCH_PORT + 10)
#   BENCH_ENDPOINTS      endpoints in a (default 5)
#   BENCH_AGENTS         agents created in a (default 2000)
#   BENCH_CREATE_CONNS   connections creating them (default 8)
#   BENCH_WEBHOOK_CONCURRENCIES  FAOS_WEBHOOK_CONCURRENCY values for a
#                        (default "64", the server's default)
#   BENCH_LAT_AGENTS     measured agents in b (default 200, after 10 warm-up)
#   BENCH_SKIP_LATENCY   1 = skip b
#
# Needs: curl, node (18+), jq. Only talks to 127.0.0.1.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RPORT="${BENCH_RECEIVER_PORT:-$(( PORT + 10 ))}"
ENDPOINTS="${BENCH_ENDPOINTS:-5}"
AGENTS="${BENCH_AGENTS:-2000}"
CREATE_CONNS="${BENCH_CREATE_CONNS:-8}"
CONCURRENCIES="${BENCH_WEBHOOK_CONCURRENCIES:-64}"
LAT_AGENTS="${BENCH_LAT_AGENTS:-200}"
SKIP_LATENCY="${BENCH_SKIP_LATENCY:-0}"
export FAOS_OUTBOUND_ALLOW=127.0.0.1

bench_init node jq
RECV_PID=""
webhooks_cleanup() {
  if [[ -n "$RECV_PID" ]]; then kill "$RECV_PID" 2>/dev/null || true; wait "$RECV_PID" 2>/dev/null || true; fi
  bench_cleanup
}
trap webhooks_cleanup EXIT
if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$RPORT/"; then
  echo "bench: something already listens on 127.0.0.1:$RPORT; set BENCH_RECEIVER_PORT" >&2
  exit 1
fi

print_header "FAOS benchmarks: webhooks ($ENDPOINTS endpoints x $AGENTS agents; receiver: node $(node --version) on 127.0.0.1:$RPORT)"

# cpu_s PID: user + system CPU seconds of PID so far.
cpu_s() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}

start_receiver() {
  node "$here/webhook_receiver.js" receive "$RPORT" "$1" &
  RECV_PID=$!
  local _
  for _ in $(seq 1 100); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$RPORT/count" && return 0
    sleep 0.05
  done
  echo "bench: the receiver did not start" >&2; exit 1
}
stop_receiver() {
  kill -TERM "$RECV_PID" 2>/dev/null || true
  wait "$RECV_PID" 2>/dev/null || true
  RECV_PID=""
}

# a. deliveries per second ----------------------------------------------------------
declare -A A_LINE
for conc in $CONCURRENCIES; do
  start_receiver "$TMP/arrivals$conc.log"
  FAOS_WEBHOOK_CONCURRENCY="$conc" start_server "$TMP/tput$conc"
  use_server_key
  for e in $(seq 1 "$ENDPOINTS"); do
    api POST /v1/webhooks "{\"url\":\"http://127.0.0.1:$RPORT/e$e\",\"events\":[\"agent.created\"]}" >/dev/null
  done
  {
    for i in $(seq 1 "$AGENTS"); do
      echo "url = \"$BASE/v1/agents\""
      echo "header = \"Authorization: Bearer $KEY\""
      echo "header = \"Content-Type: application/json\""
      echo "data = \"{\\\"name\\\":\\\"Hook $i\\\",\\\"template\\\":\\\"customer-service\\\"}\""
      echo "output = \"/dev/null\""
      echo "max-time = 30"
      echo "silent"
      echo "write-out = \"%{http_code} %{time_total}\\n\""
      if [[ "$i" -lt "$AGENTS" ]]; then echo "next"; fi
    done
  } >"$TMP/create.curl"
  EXPECTED=$(( ENDPOINTS * AGENTS ))
  wait_quiet
  echo "== a. $ENDPOINTS endpoints for agent.created, $AGENTS agents created at once, FAOS_WEBHOOK_CONCURRENCY=$conc (fresh server and database)"
  echo "  command: curl -s --no-progress-meter --parallel --parallel-max $CREATE_CONNS -K create.curl   ($AGENTS x POST \$BASE/v1/agents {\"name\":\"Hook <i>\",\"template\":\"customer-service\"})"
  S_CPU0="$(cpu_s "$SERVER_PID")"; R_CPU0="$(cpu_s "$RECV_PID")"
  busy_start
  T0_MS="$(awk -v t="$(now_us)" 'BEGIN { printf "%.3f", t / 1000 }')"
  timeout 300 curl -s --no-progress-meter --parallel --parallel-max "$CREATE_CONNS" -K "$TMP/create.curl" >"$TMP/create$conc.txt" || true
  TQ_MS="$(awk -v t="$(now_us)" 'BEGIN { printf "%.3f", t / 1000 }')"
  deadline=$(( $(date +%s) + 300 ))
  while :; do
    got="$(curl -s --max-time 2 "http://127.0.0.1:$RPORT/count" || echo 0)"
    (( got >= EXPECTED )) && break
    if (( $(date +%s) >= deadline )); then echo "  (warning: only $got of $EXPECTED deliveries after 300 s)"; break; fi
    sleep 0.05
  done
  busy_stop
  S_CPU1="$(cpu_s "$SERVER_PID")"; R_CPU1="$(cpu_s "$RECV_PID")"
  sleep 0.5
  stop_receiver
  C_201="$(awk '$1 == 201' "$TMP/create$conc.txt" | wc -l)"
  C_OTHER="$(awk '$1 != 201 { print $1 }' "$TMP/create$conc.txt" | sort | uniq -c | awk '{ printf "%s%s=%s", (NR > 1 ? " " : ""), $2, $1 }')"
  read -r C_P50 C_P99 < <(awk '$1 == 201 { printf "%.3f\n", $2 * 1000 }' "$TMP/create$conc.txt" | percentiles 50 99)
  # Arrival statistics.
  read -r N UNIQ FIRST LAST SS_RATE ALL_RATE DURING AFTER AFTER_RATE < <(awk -v t0="$T0_MS" -v tq="$TQ_MS" '
    { t[NR] = $1; key = $2 " " $3; if (!(key in seen)) { seen[key] = 1; u++ } if ($1 <= tq) during++ }
    END {
      n = NR
      lo = int(0.1 * n); if (lo < 1) lo = 1; hi = int(0.9 * n + 0.999999)
      ss = (t[hi] > t[lo]) ? (hi - lo) / ((t[hi] - t[lo]) / 1000) : 0
      all = (t[n] > t0) ? n / ((t[n] - t0) / 1000) : 0
      after = n - during
      ar = (t[n] > tq && after > 0) ? after / ((t[n] - tq) / 1000) : 0
      printf "%d %d %.0f %.0f %.0f %.0f %d %d %.0f\n", n, u, t[1] - t0, t[n] - t0, ss, all, during, after, ar
    }' <(sort -g "$TMP/arrivals$conc.log"))
  echo "  creating: $(awk -v a="$TQ_MS" -v b="$T0_MS" 'BEGIN { printf "%.0f", a - b }') ms for $AGENTS requests; 201: $C_201${C_OTHER:+; other: $C_OTHER}; each POST p50 ${C_P50} ms, p99 ${C_P99} ms"
  echo "  deliveries: $N received ($UNIQ distinct endpoint+webhook-id) of $EXPECTED expected; first at +${FIRST} ms, last at +${LAST} ms"
  echo "  received while creating: $DURING; after the last create was answered: $AFTER ($AFTER_RATE/s)"
  echo "  CPU used from the first create to the last delivery: server $(awk -v a="$S_CPU0" -v b="$S_CPU1" 'BEGIN { printf "%.2f", b - a }') s, receiver $(awk -v a="$R_CPU0" -v b="$R_CPU1" 'BEGIN { printf "%.2f", b - a }') s, over $(awk -v a="$LAST" 'BEGIN { printf "%.2f", a / 1000 }') s wall"
  echo "  => steady state (middle 80% of arrivals): $SS_RATE deliveries/s; overall (first create sent to last delivery): $ALL_RATE deliveries/s"
  # The server's own view: every delivery should be succeeded after 1 attempt.
  WH_IDS="$(api GET '/v1/webhooks?limit=100' | jq -r '.data[].id')"
  for wh in $WH_IDS; do
    api GET "/v1/webhooks/$wh/deliveries?limit=100" | jq -r '.data[] | "\(.status) \(.attempts)"'
  done | sort | uniq -c | awk '{ printf "%s%s x %s (attempts %s)", (NR > 1 ? ", " : "  newest 100 deliveries per endpoint: "), $1, $2, $3 } END { print "" }'
  server_statuses
  echo "  database size: $(du -h "$SERVER_DIR/faos.db" | cut -f1) (+ WAL $(du -h "$SERVER_DIR/faos.db-wal" 2>/dev/null | cut -f1 || echo 0))"
  A_LINE[$conc]="steady state $SS_RATE deliveries/s, overall $ALL_RATE/s; $N of $EXPECTED received, last at +${LAST} ms (creating took $(awk -v a="$TQ_MS" -v b="$T0_MS" 'BEGIN { printf "%.0f", a - b }') ms); server CPU $(awk -v a="$S_CPU0" -v b="$S_CPU1" 'BEGIN { printf "%.2f", b - a }') s"
  stop_server
  echo
done

# b. event -> first delivery latency ------------------------------------------------
if [[ "$SKIP_LATENCY" != "1" ]]; then
  start_server "$TMP/latency"
  use_server_key
  wait_quiet
  echo "== b. event -> first delivery attempt: 1 endpoint for agent.created, $LAT_AGENTS agents one after the other (+10 warm-up), FAOS_WEBHOOK_CONCURRENCY=${FAOS_WEBHOOK_CONCURRENCY:-default}"
  echo "  command: node bench/webhook_receiver.js latency $RPORT \$BASE \$KEY $LAT_AGENTS"
  busy_start
  timeout 300 node "$here/webhook_receiver.js" latency "$RPORT" "$BASE" "$KEY" "$LAT_AGENTS" >"$TMP/latency.txt"
  busy_stop
  LAT_LINE="$(grep '^latency:' "$TMP/latency.txt")"
  read -r CR_P50 < <(awk '$1 == "lat" { print $4 }' "$TMP/latency.txt" | percentiles 50)
  echo "  $LAT_LINE"
  echo "  (POST /v1/agents itself: p50 ${CR_P50} ms)"
  server_statuses
  stop_server
  echo
fi

echo "== summary"
for conc in $CONCURRENCIES; do
  printf '  %-44s %s\n' "a. deliveries/s, concurrency $conc" "${A_LINE[$conc]}"
done
if [[ "$SKIP_LATENCY" != "1" ]]; then
  printf '  %-44s %s\n' "b. event -> first delivery, 1 conn" "${LAT_LINE#latency: }"
fi
