#!/usr/bin/env bash
# FAOS benchmarks: start-to-ready time, idle RSS, GET /v1/agents throughput,
# message round trip with the builtin model, RSS after load.
#
# Usage: bench/run.sh            (builds a release binary first)
#        FAOS_BIN=/path/to/faos bench/run.sh
#
# Environment:
#   FAOS_BIN       binary to test; default: build with
#                  CARGO_TARGET_DIR=/tmp/faos-bench-target cargo build --release
#   BENCH_PORT     port on 127.0.0.1 (default 18480)
#   BENCH_DURATION wrk duration per run (default 15s)
#   BENCH_THREADS  wrk threads for the multi-connection runs (default 1)
#   BENCH_STARTS   fresh starts for the start-to-ready median (default 5)
#   BENCH_COMMIT   commit label to print when FAOS_BIN was built elsewhere
#   BENCH_CONV_MODE conversation ids for the message runs: unique (default)
#                  or rotate (see bench/message.lua)
#
# Needs: curl, wrk (apt-get install -y wrk). Only talks to 127.0.0.1.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

PORT="${BENCH_PORT:-18480}"
DURATION="${BENCH_DURATION:-15s}"
THREADS="${BENCH_THREADS:-1}"
STARTS="${BENCH_STARTS:-5}"
CONV_MODE="${BENCH_CONV_MODE:-unique}"
BASE="http://127.0.0.1:$PORT"

for tool in curl wrk; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed" >&2; exit 1; }
done

if [[ -z "${FAOS_BIN:-}" ]]; then
  echo "bench: building release binary (CARGO_TARGET_DIR=/tmp/faos-bench-target)" >&2
  (cd "$root" && CARGO_TARGET_DIR=/tmp/faos-bench-target cargo build --release --quiet)
  FAOS_BIN=/tmp/faos-bench-target/release/faos
fi
[[ -x "$FAOS_BIN" ]] || { echo "bench: $FAOS_BIN is not executable" >&2; exit 1; }

TMP="$(mktemp -d /tmp/faos-bench.XXXXXX)"
SERVER_PID=""

stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.05
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}

cleanup() {
  stop_server
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if curl -s -o /dev/null --max-time 1 "$BASE/healthz"; then
  echo "bench: something already listens on 127.0.0.1:$PORT; set BENCH_PORT" >&2
  exit 1
fi

# Microseconds since the epoch, without forking (bash 5 EPOCHREALTIME).
now_us() { local t="${EPOCHREALTIME/./}"; echo "$t"; }

# start_server DIR: starts faos on a fresh database in DIR, waits for
# /readyz 200, and sets SERVER_PID and READY_MS (process start to the
# first 200, polled with curl every 2 ms plus curl's own run time).
start_server() {
  local dir="$1"
  mkdir -p "$dir"
  local t0 t1 code
  t0="$(now_us)"
  FAOS_LOG="${FAOS_LOG:-info}" "$FAOS_BIN" serve --addr "127.0.0.1:$PORT" \
    --database "sqlite://$dir/faos.db" >"$dir/stdout" 2>"$dir/stderr" &
  SERVER_PID=$!
  while :; do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$BASE/readyz" || true)"
    if [[ "$code" == "200" ]]; then break; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "bench: server exited during start; stderr:" >&2
      cat "$dir/stderr" >&2
      exit 1
    fi
    t1="$(now_us)"
    if (( t1 - t0 > 30000000 )); then echo "bench: not ready after 30 s" >&2; exit 1; fi
    sleep 0.002
  done
  t1="$(now_us)"
  READY_MS="$(awk -v d="$((t1 - t0))" 'BEGIN { printf "%.1f", d / 1000 }')"
}

rss_mb() {
  awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status"
}

# wrk_summary FILE: "req/s p50 p99 non2xx errors" from wrk --latency output.
wrk_summary() {
  awk '
    /Requests\/sec:/ { rps = $2 }
    /^ +50%/ { p50 = $2 }
    /^ +99%/ { p99 = $2 }
    /Non-2xx or 3xx responses:/ { non2xx = $NF }
    /Socket errors:/ { errors = $0; sub(/.*Socket errors: */, "", errors); gsub(/ /, "", errors) }
    END {
      if (non2xx == "") non2xx = 0
      if (errors == "") errors = "none"
      printf "%s %s %s %s %s\n", rps, p50, p99, non2xx, errors
    }' "$1"
}

auth=(-H "Authorization: Bearer PLACEHOLDER")
api() { # api METHOD PATH [BODY] -> prints body, fails on non-2xx
  local method="$1" path="$2" body="${3:-}"
  if [[ -n "$body" ]]; then
    curl -sS --fail-with-body -X "$method" "${auth[@]}" -H 'Content-Type: application/json' \
      --data "$body" "$BASE$path"
  else
    curl -sS --fail-with-body -X "$method" "${auth[@]}" "$BASE$path"
  fi
}

echo "== FAOS benchmarks"
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
commit="${BENCH_COMMIT:-$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)}"
if [[ -z "${BENCH_COMMIT:-}" ]] && [[ -n "$(git -C "$root" status --porcelain -- src Cargo.toml Cargo.lock migrations 2>/dev/null)" ]]; then
  commit="$commit (+ uncommitted changes in the working tree)"
fi
echo "commit:  $commit"
echo "machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
echo "binary:  $FAOS_BIN"
echo "wrk:     $(wrk -v 2>&1 | head -1 | awk '{ print $1, $2 }'), duration $DURATION, $THREADS thread(s) for multi-connection runs"
echo "note:    server and wrk share the same $(nproc) cores"
echo "load:    $(cut -d" " -f1-3 /proc/loadavg) (1/5/15 min load average before the run; other work on the machine skews every figure)"
echo

# a. start to ready ---------------------------------------------------------
echo "== a. process start to /readyz 200 ($STARTS fresh starts, fresh database each)"
ready=()
for i in $(seq 1 "$STARTS"); do
  start_server "$TMP/start$i"
  ready+=("$READY_MS")
  echo "  start $i: ${READY_MS} ms"
  stop_server
done
READY_MEDIAN="$(printf '%s\n' "${ready[@]}" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
echo "  median: ${READY_MEDIAN} ms"
echo

# The server for everything else.
start_server "$TMP/run"
KEY="$(awk '$1 == "live:" { print $2 }' "$TMP/run/stdout")"
[[ "$KEY" == sk_live_* ]] || { echo "bench: no live key printed on stdout" >&2; exit 1; }
auth=(-H "Authorization: Bearer $KEY")

# b. idle RSS ----------------------------------------------------------------
echo "== b. idle RSS"
AGENT_ID="$(api POST /v1/agents '{"name":"Bench","template":"customer-service"}' \
  | sed -n 's/.*"id":"\(agt_[A-Za-z0-9]*\)".*/\1/p' | head -1)"
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
list_cmd=(wrk -t"$THREADS" -c50 -d"$DURATION" --latency -H "Authorization: Bearer $KEY" "$BASE/v1/agents?limit=20")
wrk -t"$THREADS" -c50 -d3s -H "Authorization: Bearer $KEY" "$BASE/v1/agents?limit=20" >/dev/null # warm-up
echo "  command: wrk -t$THREADS -c50 -d$DURATION --latency -H 'Authorization: Bearer \$KEY' '$BASE/v1/agents?limit=20'"
"${list_cmd[@]}" | tee "$TMP/list.txt" | sed 's/^/  | /'
read -r L_RPS L_P50 L_P99 L_NON2XX L_ERR < <(wrk_summary "$TMP/list.txt")
echo

# d. message round trip ---------------------------------------------------------
export FAOS_KEY="$KEY" FAOS_AGENT_ID="$AGENT_ID" FAOS_CONV_MODE="$CONV_MODE"
echo "== d1. POST /v1/agents/{id}/messages, builtin model, 1 connection (sequential), conversation ids: $CONV_MODE"
echo "  command: wrk -t1 -c1 -d$DURATION --latency -s bench/message.lua '$BASE'"
wrk -t1 -c1 -d"$DURATION" --latency -s "$here/message.lua" "$BASE" | tee "$TMP/msg1.txt" | sed 's/^/  | /'
read -r M1_RPS M1_P50 M1_P99 M1_NON2XX M1_ERR < <(wrk_summary "$TMP/msg1.txt")
echo
echo "== d2. POST /v1/agents/{id}/messages, builtin model, 10 connections, conversation ids: $CONV_MODE"
echo "  command: wrk -t$THREADS -c10 -d$DURATION --latency -s bench/message.lua '$BASE'"
wrk -t"$THREADS" -c10 -d"$DURATION" --latency -s "$here/message.lua" "$BASE" | tee "$TMP/msg10.txt" | sed 's/^/  | /'
read -r M10_RPS M10_P50 M10_P99 M10_NON2XX M10_ERR < <(wrk_summary "$TMP/msg10.txt")
echo

sleep 1
RSS_AFTER="$(rss_mb)"

# Statuses the server logged (one line per request on stderr).
echo "== server log: responses by status"
grep -o 'status=[0-9]*' "$TMP/run/stderr" | sort | uniq -c | sed 's/^/  /' || true
grep -E ' (WARN|ERROR) ' "$TMP/run/stderr" | head -5 | sed 's/^/  ! /' || true
echo "  database size after load: $(du -h "$TMP/run/faos.db" | cut -f1) (+ WAL $(du -h "$TMP/run/faos.db-wal" 2>/dev/null | cut -f1 || echo 0))"
echo

echo "== summary"
printf '  %-44s %s\n' "start to ready (median of $STARTS)" "${READY_MEDIAN} ms   (starts: ${ready[*]})"
printf '  %-44s %s\n' "idle RSS" "${RSS_IDLE} MB"
printf '  %-44s %s\n' "GET /v1/agents, 50 conn" "${L_RPS} req/s, p50 ${L_P50}, p99 ${L_P99}, non-2xx ${L_NON2XX}, socket errors ${L_ERR}"
printf '  %-44s %s\n' "message round trip, 1 conn" "p50 ${M1_P50}, p99 ${M1_P99}, ${M1_RPS} req/s, non-2xx ${M1_NON2XX}, socket errors ${M1_ERR}"
printf '  %-44s %s\n' "message round trip, 10 conn" "${M10_RPS} req/s, p50 ${M10_P50}, p99 ${M10_P99}, non-2xx ${M10_NON2XX}, socket errors ${M10_ERR}"
printf '  %-44s %s\n' "RSS after load" "${RSS_AFTER} MB"
