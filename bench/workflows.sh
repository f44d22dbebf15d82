#!/usr/bin/env bash
# FAOS workflow benchmarks, with a workflow of 3 transform steps
# (a = input.n, b = a * 2, c = b + 1), on SQLite:
#   a. end to end: POST /v1/workflows/{id}/run with "wait": 10 (answers 200
#      with the finished run), 1 connection, p50/p99;
#   b. run start: the same without wait (answers 202 with the queued run),
#      1 connection, p50/p99; the worker executes the queued runs meanwhile;
#   c. step executions per second: on a fresh server for each worker
#      concurrency in BENCH_CONCURRENCIES, queue BENCH_RUNS runs as fast as
#      possible (curl, BENCH_QUEUE_CONNS connections), then wait until all
#      have finished; steps/s = 3 * queued runs succeeded / (last
#      finished_at - first POST sent).
#
# Usage: bench/workflows.sh
#        FAOS_BIN=/path/to/faos bench/workflows.sh
#
# Environment (and the common ones in bench/lib.sh: FAOS_BIN, BENCH_PORT,
# BENCH_COMMIT, BENCH_QUIET):
#   BENCH_DURATION      wrk duration for a and b (default 15s)
#   BENCH_RUNS          runs queued in c (default 2000)
#   BENCH_QUEUE_CONNS   connections queueing them (default 8)
#   BENCH_CONCURRENCIES FAOS_RUN_CONCURRENCY values for c (default "16 64";
#                       16 is the server's default)
#
# Needs: curl, wrk, jq. Only talks to 127.0.0.1.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION="${BENCH_DURATION:-15s}"
RUNS="${BENCH_RUNS:-2000}"
QUEUE_CONNS="${BENCH_QUEUE_CONNS:-8}"
CONCURRENCIES="${BENCH_CONCURRENCIES:-16 64}"
STEPS_PER_RUN=3
WORKFLOW='{"name":"Bench","steps":[{"id":"a","type":"transform","value":"{{ input.n }}"},{"id":"b","type":"transform","value":"{{ steps.a.output * 2 }}"},{"id":"c","type":"transform","value":"{{ steps.b.output + 1 }}"}]}'

bench_init wrk jq
print_header "FAOS benchmarks: workflows (3 transform steps; wrk duration $DURATION; $RUNS runs for the throughput test)"

# RFC 3339 with milliseconds ("2026-11-29T12:00:00.123Z") to Unix ms.
JQ_MS='def ms: if . == null then null else ((.[0:19] + "Z") | fromdateiso8601) * 1000 + (.[20:23] | tonumber) end;'

# create_workflow: sets WF_ID and checks one run gives 3 for n = 1.
create_workflow() {
  WF_ID="$(api POST /v1/workflows "$WORKFLOW" | first_id wf)"
  [[ -n "$WF_ID" ]] || { echo "bench: could not create the workflow" >&2; exit 1; }
  local run
  run="$(api POST "/v1/workflows/$WF_ID/run" '{"input":{"n":1},"wait":10}')"
  if [[ "$(jq -r '.data.status' <<<"$run")" != succeeded ]] || [[ "$(jq -c '.data.output' <<<"$run")" != 3 ]]; then
    echo "bench: the check run did not give 3:" >&2
    echo "$run" >&2
    exit 1
  fi
}

# runs_state: walks GET /v1/workflows/$WF_ID/runs (100 a page) and prints
# "total succeeded unfinished min_created_ms min_started_ms max_finished_ms".
runs_state() {
  local cursor="" page
  : >"$TMP/runs.jsonl"
  while :; do
    page="$(api GET "/v1/workflows/$WF_ID/runs?limit=100${cursor:+&cursor=$cursor}")"
    jq -c '.data[] | {status, created_at, started_at, finished_at}' <<<"$page" >>"$TMP/runs.jsonl"
    [[ "$(jq -r '.meta.has_more' <<<"$page")" == true ]] || break
    cursor="$(jq -r '.meta.next_cursor' <<<"$page")"
  done
  jq -rs "$JQ_MS"'
    [length,
     (map(select(.status == "succeeded")) | length),
     (map(select(.status == "queued" or .status == "running")) | length),
     (map(.created_at | ms) | min),
     (map(.started_at | ms) | map(select(. != null)) | min),
     (map(.finished_at | ms) | map(select(. != null)) | max)] | map(tostring) | join(" ")' "$TMP/runs.jsonl"
}

# wait_drained SECONDS: returns once the newest runs of $WF_ID have all
# ended (runs are claimed oldest first) and a full walk finds none queued
# or running; sets STATE to runs_state's line.
wait_drained() {
  local deadline=$(( $(date +%s) + $1 )) newest
  while :; do
    newest="$(api GET "/v1/workflows/$WF_ID/runs?limit=20" | jq '[.data[] | select(.status == "queued" or .status == "running")] | length')"
    if [[ "$newest" == 0 ]]; then
      STATE="$(runs_state)"
      [[ "$(awk '{ print $3 }' <<<"$STATE")" == 0 ]] && return 0
    fi
    if (( $(date +%s) >= deadline )); then
      STATE="$(runs_state)"
      echo "  (warning: runs still unfinished after $1 s)"
      return 0
    fi
    sleep 0.1
  done
}

start_server "$TMP/run"
use_server_key
create_workflow
echo "workflow: $WF_ID (checked: input n = 1 gives output 3)"
export FAOS_KEY="$KEY" BENCH_PATH="/v1/workflows/$WF_ID/run"
echo

# a. end to end with wait --------------------------------------------------------
wait_quiet
echo "== a. POST /v1/workflows/{id}/run {\"input\":{\"n\":1},\"wait\":10}, 1 connection"
echo "  (bench/post.lua sends BENCH_BODY='{\"input\":{\"n\":1},\"wait\":10}' to BENCH_PATH=/v1/workflows/\$WF_ID/run)"
BENCH_BODY='{"input":{"n":1},"wait":10}' run_wrk wait -t1 -c1 -d"$DURATION" --timeout 15s --latency -s "$here/post.lua" "$BASE"
read -r W_RPS W_P50 W_P99 W_NON2XX W_ERR < <(wrk_summary "$TMP/wait.txt")
W_STATUSES="$(sed -n 's/^statuses: //p' "$TMP/wait.txt")"
echo

# b. run start without wait ----------------------------------------------------------
wait_quiet
echo "== b. POST /v1/workflows/{id}/run {\"input\":{\"n\":1}} (no wait), 1 connection"
echo "  (bench/post.lua sends BENCH_BODY='{\"input\":{\"n\":1}}' to BENCH_PATH=/v1/workflows/\$WF_ID/run)"
BENCH_BODY='{"input":{"n":1}}' run_wrk start -t1 -c1 -d"$DURATION" --timeout 15s --latency -s "$here/post.lua" "$BASE"
read -r B_RPS B_P50 B_P99 B_NON2XX B_ERR < <(wrk_summary "$TMP/start.txt")
B_STATUSES="$(sed -n 's/^statuses: //p' "$TMP/start.txt")"
B_END_MS=$(( $(now_us) / 1000 ))
wait_drained 300
read -r B_TOTAL B_OK B_OPEN _ _ B_LAST_MS <<<"$STATE"
B_DRAIN_MS=$(( B_LAST_MS - B_END_MS ))
if (( B_DRAIN_MS > 0 )); then B_DRAIN="the last run finished ${B_DRAIN_MS} ms after wrk stopped"; else B_DRAIN="no backlog when wrk stopped"; fi
echo "  after the run: $B_TOTAL runs in all, $B_OK succeeded, $B_OPEN unfinished; $B_DRAIN"
echo

server_statuses
echo "  database size: $(du -h "$SERVER_DIR/faos.db" | cut -f1) (+ WAL $(du -h "$SERVER_DIR/faos.db-wal" 2>/dev/null | cut -f1 || echo 0))"
stop_server
echo

# c. steps per second --------------------------------------------------------------
# The queueing requests: one curl process, QUEUE_CONNS transfers at a time.
declare -A C_LINE
for conc in $CONCURRENCIES; do
  FAOS_RUN_CONCURRENCY="$conc" start_server "$TMP/tput$conc"
  use_server_key
  create_workflow
  {
    for i in $(seq 1 "$RUNS"); do
      echo "url = \"$BASE/v1/workflows/$WF_ID/run\""
      echo "header = \"Authorization: Bearer $KEY\""
      echo "header = \"Content-Type: application/json\""
      echo "data = \"{\\\"input\\\":{\\\"n\\\":$i}}\""
      echo "output = \"/dev/null\""
      echo "max-time = 30"
      echo "silent"
      echo "write-out = \"%{http_code} %{time_total}\\n\""
      if [[ "$i" -lt "$RUNS" ]]; then echo "next"; fi
    done
  } >"$TMP/queue.curl"
  wait_quiet
  echo "== c. $RUNS runs queued at once, FAOS_RUN_CONCURRENCY=$conc (fresh server and database)"
  echo "  command: curl -s --no-progress-meter --parallel --parallel-max $QUEUE_CONNS -K queue.curl   ($RUNS x POST \$BASE/v1/workflows/\$WF_ID/run {\"input\":{\"n\":<i>}})"
  busy_start
  T0_MS=$(( $(now_us) / 1000 ))
  timeout 300 curl -s --no-progress-meter --parallel --parallel-max "$QUEUE_CONNS" -K "$TMP/queue.curl" >"$TMP/queue$conc.txt" || true
  TQ_MS=$(( $(now_us) / 1000 ))
  wait_drained 300
  busy_stop
  read -r C_TOTAL C_OK C_OPEN C_FIRST_CREATED C_FIRST_STARTED C_LAST_MS <<<"$STATE"
  # Runs that finished after the last POST had been answered, and how fast.
  D_RUNS="$(jq -rs "$JQ_MS"' map(.finished_at | ms) | map(select(. != null and . > '"$TQ_MS"')) | length' "$TMP/runs.jsonl")"
  D_RATE="$(awk -v n="$D_RUNS" -v s="$STEPS_PER_RUN" -v ms="$(( C_LAST_MS - TQ_MS ))" 'BEGIN { if (ms > 0) printf "%.0f steps/s (%.0f runs/s)", n * s / (ms / 1000), n / (ms / 1000); else print "-" }')"
  Q_202="$(awk '$1 == 202' "$TMP/queue$conc.txt" | wc -l)"
  Q_OTHER="$(awk '$1 != 202 { print $1 }' "$TMP/queue$conc.txt" | sort | uniq -c | awk '{ printf "%s%s=%s", (NR > 1 ? " " : ""), $2, $1 }')"
  read -r Q_P50 Q_P99 < <(awk '$1 == 202 { printf "%.3f\n", $2 * 1000 }' "$TMP/queue$conc.txt" | percentiles 50 99)
  ELAPSED_MS=$(( C_LAST_MS - T0_MS ))
  Q_OK=$(( C_OK - 1 )) # less the check run, made before the clock started
  STEPS_S="$(awk -v n="$Q_OK" -v s="$STEPS_PER_RUN" -v ms="$ELAPSED_MS" 'BEGIN { printf "%.0f", n * s / (ms / 1000) }')"
  RUNS_S="$(awk -v n="$Q_OK" -v ms="$ELAPSED_MS" 'BEGIN { printf "%.0f", n / (ms / 1000) }')"
  echo "  queueing: $((TQ_MS - T0_MS)) ms for $RUNS requests; 202: $Q_202${Q_OTHER:+; other: $Q_OTHER}; each POST p50 ${Q_P50} ms, p99 ${Q_P99} ms"
  echo "  runs: $C_TOTAL in all (1 check run), $C_OK succeeded, $C_OPEN unfinished"
  echo "  first POST sent to last run finished: ${ELAPSED_MS} ms (queueing done at +$((TQ_MS - T0_MS)) ms, last finished at +${ELAPSED_MS} ms)"
  echo "  => $STEPS_S steps/s ($RUNS_S runs/s) from the first POST to the last run finished"
  echo "  after queueing ended: $D_RUNS runs finished in $(( C_LAST_MS - TQ_MS )) ms: $D_RATE"
  server_statuses
  echo "  database size: $(du -h "$SERVER_DIR/faos.db" | cut -f1) (+ WAL $(du -h "$SERVER_DIR/faos.db-wal" 2>/dev/null | cut -f1 || echo 0))"
  C_LINE[$conc]="$STEPS_S steps/s ($RUNS_S runs/s), $C_OK of $((RUNS + 1)) runs succeeded, ${ELAPSED_MS} ms; after queueing: $D_RATE"
  stop_server
  echo
done

echo "== summary"
printf '  %-44s %s\n' "run with wait, 1 conn (end to end)" "p50 ${W_P50}, p99 ${W_P99}, ${W_RPS} req/s, statuses ${W_STATUSES}, socket errors ${W_ERR}"
printf '  %-44s %s\n' "run without wait, 1 conn (start)" "p50 ${B_P50}, p99 ${B_P99}, ${B_RPS} req/s, statuses ${B_STATUSES}, socket errors ${B_ERR}"
for conc in $CONCURRENCIES; do
  printf '  %-44s %s\n' "steps/s, $RUNS runs, concurrency $conc" "${C_LINE[$conc]}"
done
