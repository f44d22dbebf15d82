#!/usr/bin/env bash
# FAOS access benchmarks: what authentication plus rate limiting add to a
# request (issue #6: goal ≤ 50 µs p50 added to a cached-key request), once
# per rate limiter:
#   a. latency at 1 connection, BENCH_REQUESTS sequential requests each
#      after BENCH_WARMUP warm-up requests, p50/p90/p99 of
#        GET /healthz       no auth, no database: the baseline;
#        GET /v1/templates  secret key (found in the in-memory key cache
#                           after the first request) + rate limit + a
#                           static handler;
#      "added p50" = p50(templates) - p50(healthz);
#   b. GET /v1/agents?limit=20, 50 connections: bench/run.sh section c (same
#      100 agents, 3 s warm-up, same wrk command) with the plan's limits
#      lifted, so the per-request rate-limit write is counted but never
#      refuses.
#
# Limiters: "database" (the default: a BEGIN IMMEDIATE transaction on the
# SQLite file per request) and "redis" (FAOS_REDIS_URL set: one Lua script
# in Redis per request). Each gets a fresh server on a new database, whose
# organization 'default' is moved, after the server printed its keys, to
#   faos orgs set-plan --org default --plan enterprise
#        --per-minute 100000000 --per-day 1000000000
# A binary from before rate limits (no X-RateLimit-Limit header on an
# authenticated answer) is run once, as limiter "none".
#
# Usage: bench/access.sh            (builds a release binary first)
#        FAOS_BIN=/path/to/faos BENCH_COMMIT=abc1234 bench/access.sh
#
# Environment (and the common ones in bench/lib.sh: FAOS_BIN, BENCH_PORT,
# BENCH_COMMIT, BENCH_QUIET):
#   BENCH_REQUESTS  measured requests per endpoint in a (default 5000)
#   BENCH_WARMUP    warm-up requests per endpoint before each (default 1000)
#   BENCH_LIMITERS  limiters to run (default "database redis"; a binary
#                   without rate limits runs once, shown as "none")
#   BENCH_REDIS_URL Redis for the redis limiter (default
#                   redis://127.0.0.1:6379; must be on 127.0.0.1)
#   BENCH_DURATION  wrk duration of b (default 15s)
#   BENCH_THREADS   wrk threads of b (default 1)
#   BENCH_SKIP_LIST 1 = skip b
#
# Needs: curl, wrk; redis-cli for the redis limiter. Only talks to 127.0.0.1.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REQUESTS="${BENCH_REQUESTS:-5000}"
WARMUP="${BENCH_WARMUP:-1000}"
REDIS_URL="${BENCH_REDIS_URL:-redis://127.0.0.1:6379}"
DURATION="${BENCH_DURATION:-15s}"
THREADS="${BENCH_THREADS:-1}"
SKIP_LIST="${BENCH_SKIP_LIST:-0}"

case "$REDIS_URL" in
  redis://127.0.0.1:*) ;;
  *) echo "bench: BENCH_REDIS_URL must be redis://127.0.0.1:PORT" >&2; exit 1 ;;
esac

bench_init wrk

LIMITERS="${BENCH_LIMITERS:-database redis}"

print_header "FAOS benchmarks: access (auth + rate limits; limiters: $LIMITERS; $REQUESTS requests after $WARMUP warm-up at 1 connection)"

# count_run NAME URL [HEADER]: BENCH_WARMUP then BENCH_REQUESTS sequential
# requests through bench/count.lua; keeps the measured run's output in
# $TMP/NAME.txt and sets C_P50 C_P90 C_P99 C_N C_NON2XX (µs).
count_run() {
  local name="$1" url="$2"; shift 2
  local args=(-t1 -c1 -d120s --timeout 5s)
  if [[ $# -gt 0 ]]; then args+=(-H "$1"); fi
  BENCH_REQUESTS="$WARMUP" timeout 300 wrk "${args[@]}" -s "$here/count.lua" "$url" >"$TMP/$name-warmup.txt"
  BENCH_REQUESTS="$REQUESTS" run_wrk "$name" "${args[@]}" -s "$here/count.lua" "$url"
  read -r C_N C_P50 C_P90 C_P99 C_NON2XX < <(awk '/^count:/ {
      for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      print v["requests"], v["p50"], v["p90"], v["p99"], v["non2xx"] }' "$TMP/$name.txt")
}

declare -A SUMMARY=()

RAN=()
for limiter in $LIMITERS; do
  unset FAOS_REDIS_URL
  if [[ "$limiter" == "redis" ]]; then
    command -v redis-cli >/dev/null || { echo "bench: redis-cli is not installed" >&2; exit 1; }
    redis-cli -u "$REDIS_URL" ping >/dev/null || { echo "bench: no Redis at $REDIS_URL" >&2; exit 1; }
    export FAOS_REDIS_URL="$REDIS_URL"
  fi
  echo "== limiter: $limiter${FAOS_REDIS_URL:+ (FAOS_REDIS_URL=$FAOS_REDIS_URL)}"
  start_server "$TMP/$limiter"
  # Also lifts the plan's limits (older binaries have the command too:
  # plans came before their limits).
  use_server_key
  # The plan applies to the next request; show that it does.
  limit_header="$(curl -s -D - -o /dev/null "${auth[@]}" "$BASE/v1/templates" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-ratelimit-limit" { print $2 }')"
  echo "  X-RateLimit-Limit on /v1/templates: ${limit_header:-(none)}"
  if [[ -z "$limit_header" ]]; then
    echo "  this binary has no rate limits: measured once, as limiter 'none'"
    limiter=none
  fi
  RAN+=("$limiter")
  echo "  /v1/templates body: $(curl -s "${auth[@]}" "$BASE/v1/templates" | wc -c) bytes; /healthz body: $(curl -s "$BASE/healthz" | wc -c) bytes"
  echo

  # a. latency at 1 connection -----------------------------------------------
  wait_quiet
  echo "== a. [$limiter] GET /healthz, 1 connection, $REQUESTS requests after $WARMUP warm-up"
  count_run "$limiter-health" "$BASE/healthz"
  H=("$C_P50" "$C_P90" "$C_P99" "$C_N" "$C_NON2XX")
  echo
  wait_quiet
  echo "== a. [$limiter] GET /v1/templates (secret key), 1 connection, $REQUESTS requests after $WARMUP warm-up"
  count_run "$limiter-templates" "$BASE/v1/templates" "Authorization: Bearer $KEY"
  T=("$C_P50" "$C_P90" "$C_P99" "$C_N" "$C_NON2XX")
  ADDED=$(( T[0] - H[0] ))
  echo
  SUMMARY["$limiter-a"]="$(printf 'healthz p50/p90/p99 %s/%s/%s us (n=%s); templates %s/%s/%s us (n=%s, non-2xx %s); added p50 %s us' \
    "${H[0]}" "${H[1]}" "${H[2]}" "${H[3]}" "${T[0]}" "${T[1]}" "${T[2]}" "${T[3]}" "${T[4]}" "$ADDED")"

  # b. GET /v1/agents throughput (bench/run.sh section c) ---------------------
  if [[ "$SKIP_LIST" != "1" ]]; then
    echo "== b. [$limiter] GET /v1/agents?limit=20, 50 connections (100 agents seeded; bench/run.sh section c)"
    for i in $(seq 1 100); do
      api POST /v1/agents "{\"name\":\"Bench $i\",\"template\":\"customer-service\"}" >/dev/null
    done
    wait_quiet
    wrk -t"$THREADS" -c50 -d3s -H "Authorization: Bearer $KEY" "$BASE/v1/agents?limit=20" >/dev/null # warm-up
    run_wrk "$limiter-list" -t"$THREADS" -c50 -d"$DURATION" --latency -H "Authorization: Bearer $KEY" "$BASE/v1/agents?limit=20"
    read -r L_RPS L_P50 L_P99 L_NON2XX L_ERR < <(wrk_summary "$TMP/$limiter-list.txt")
    SUMMARY["$limiter-b"]="${L_RPS} req/s, p50 ${L_P50}, p99 ${L_P99}, non-2xx ${L_NON2XX}, socket errors ${L_ERR}"
    echo
  fi

  if [[ "$limiter" == "redis" ]]; then
    echo "  Redis keys faos:ratelimit:*: $(redis-cli -u "$REDIS_URL" --scan --pattern 'faos:ratelimit:*' | wc -l)"
  fi
  server_statuses
  echo "  database size after load: $(du -h "$SERVER_DIR/faos.db" | cut -f1) (+ WAL $(du -h "$SERVER_DIR/faos.db-wal" 2>/dev/null | cut -f1 || echo 0))"
  echo
  stop_server
  [[ "$limiter" == "none" ]] && break
done

echo "== summary"
for limiter in "${RAN[@]}"; do
  printf '  %-10s %-34s %s\n' "$limiter" "a. 1 conn, $REQUESTS requests" "${SUMMARY[$limiter-a]}"
  if [[ -n "${SUMMARY[$limiter-b]:-}" ]]; then
    printf '  %-10s %-34s %s\n' "$limiter" "b. GET /v1/agents, 50 conn" "${SUMMARY[$limiter-b]}"
  fi
done
