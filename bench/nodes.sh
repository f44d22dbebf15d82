#!/usr/bin/env bash
# FAOS many-nodes benchmarks (issue #7): 1 node, then 2 nodes, on one
# PostgreSQL database (goal: 2 nodes >= 1.6 x one node), and list latency
# at 1,000 vs 1,000,000 agents on SQLite and PostgreSQL (goal <= 1.5 x).
#   a. workflow step executions/s: a workflow of BENCH_STEPS transform
#      steps; BENCH_RUNS runs queued without wait, spread evenly over the
#      nodes (curl, BENCH_QUEUE_CONNS at a time); steps/s = steps x queued
#      runs succeeded / (last finished_at - first POST sent), read from
#      the runs table. Each node runs FAOS_RUN_CONCURRENCY (default 16)
#      runs at once.
#   b. webhook deliveries/s: BENCH_ENDPOINTS endpoints for agent.created on
#      a receiver (bench/webhook_receiver.js), BENCH_AGENTS agents created
#      spread over the nodes; rate of the middle 80% of the arrivals and
#      overall (first create sent to last delivery).
#   For a and b: CPU seconds used by each node, by all PostgreSQL server
#   processes and by the receiver, during the measurement.
#   c. GET /v1/agents?limit=20, 1 connection, BENCH_LIST_REQUESTS requests
#      after BENCH_WARMUP (bench/count.lua), p50/p90/p99 at 1,000 agents and
#      at BENCH_BIG_AGENTS (default 1,000,000) agents of the key's tenant,
#      on SQLite and on PostgreSQL, one node. The agents are seeded with
#      SQL: one agent made through the API, copied with INSERT ... SELECT
#      (generate_series on PostgreSQL, a recursive CTE on SQLite) with ids
#      agt_seed<n> and the same org_id/mode. PostgreSQL gets ANALYZE after
#      seeding; SQLite is seeded with the server stopped.
#
# Each node count and each backend of c gets a fresh database: PostgreSQL
# databases faos_bench_<pid>_<n> are created with psql on BENCH_PG_ADMIN_URL
# and dropped on exit. Node k listens on 127.0.0.1:(BENCH_PORT + k - 1).
# Limits of organization 'default' are lifted as in bench/lib.sh.
#
# Usage: bench/nodes.sh
#        FAOS_BIN=/path/to/faos BENCH_COMMIT=abc1234 bench/nodes.sh
#
# Environment (and the common ones in bench/lib.sh: FAOS_BIN, BENCH_PORT,
# BENCH_COMMIT, BENCH_QUIET):
#   BENCH_PG_ADMIN_URL  PostgreSQL to create the databases on (default
#                       postgres://postgres@127.0.0.1:5432/test; must be
#                       127.0.0.1; the role needs CREATEDB)
#   BENCH_SECTIONS      which of a b c to run (default "a b c")
#   BENCH_NODES         node counts for a and b (default "1 2")
#   BENCH_RUNS          runs queued in a (default 2000)
#   BENCH_STEPS         transform steps per run in a (default 5)
#   BENCH_QUEUE_CONNS   connections queueing runs / creating agents (default 8)
#   BENCH_ENDPOINTS     endpoints in b (default 5)
#   BENCH_AGENTS        agents created in b (default 2000)
#   BENCH_RECEIVER_PORT receiver's port (default BENCH_PORT + 10)
#   BENCH_BIG_AGENTS    agents for the large list case in c (default 1000000)
#   BENCH_LIST_REQUESTS measured requests per list case (default 2000)
#   BENCH_WARMUP        warm-up requests per list case (default 500)
#   BENCH_BACKENDS      backends for c (default "sqlite postgres")
#   BENCH_NODE_CPU      if set (e.g. 0.2): each node runs in a cgroup of its
#                       own (v1 cpu controller, /sys/fs/cgroup/cpu) limited
#                       to this many cores, as if it were a small machine of
#                       its own; PostgreSQL and the load stay unlimited.
#                       Shows whether nodes scale when they, not the shared
#                       database, are the bottleneck. Needs root.
#
# Needs: curl, wrk, node, psql, sqlite3. Only talks to 127.0.0.1.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_ADMIN_URL="${BENCH_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test}"
SECTIONS="${BENCH_SECTIONS:-a b c}"
NODES="${BENCH_NODES:-1 2}"
RUNS="${BENCH_RUNS:-2000}"
STEPS="${BENCH_STEPS:-5}"
QUEUE_CONNS="${BENCH_QUEUE_CONNS:-8}"
ENDPOINTS="${BENCH_ENDPOINTS:-5}"
AGENTS="${BENCH_AGENTS:-2000}"
RPORT="${BENCH_RECEIVER_PORT:-$(( PORT + 10 ))}"
BIG="${BENCH_BIG_AGENTS:-1000000}"
LIST_REQUESTS="${BENCH_LIST_REQUESTS:-2000}"
WARMUP="${BENCH_WARMUP:-500}"
BACKENDS="${BENCH_BACKENDS:-sqlite postgres}"
export FAOS_OUTBOUND_ALLOW=127.0.0.1
export PGOPTIONS='--client-min-messages=warning'

case "$PG_ADMIN_URL" in
  postgres://*@127.0.0.1:*/*) ;;
  *) echo "bench: BENCH_PG_ADMIN_URL must be postgres://USER@127.0.0.1:PORT/DB" >&2; exit 1 ;;
esac
PG_PREFIX="${PG_ADMIN_URL%/*}"

bench_init wrk node psql sqlite3 jq
psql "$PG_ADMIN_URL" -Atqc 'SELECT 1' >/dev/null || { echo "bench: no PostgreSQL at $PG_ADMIN_URL" >&2; exit 1; }

NODE_CPU="${BENCH_NODE_CPU:-}"
CGROUP_ROOT=/sys/fs/cgroup/cpu
NODE_PIDS=()
RECV_PID=""
DATABASES=()
nodes_cleanup() {
  stop_nodes
  if [[ -n "$NODE_CPU" ]]; then rmdir "$CGROUP_ROOT"/faos_bench_$$_node* 2>/dev/null || true; fi
  if [[ -n "$RECV_PID" ]]; then kill "$RECV_PID" 2>/dev/null || true; wait "$RECV_PID" 2>/dev/null || true; fi
  local db
  for db in "${DATABASES[@]}"; do
    psql "$PG_ADMIN_URL" -Atqc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  bench_cleanup
}
trap nodes_cleanup EXIT

for k in 1 2; do
  if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$(( PORT + k - 1 ))/healthz"; then
    echo "bench: something already listens on 127.0.0.1:$(( PORT + k - 1 )); set BENCH_PORT" >&2; exit 1
  fi
done

print_header "FAOS benchmarks: nodes on PostgreSQL ($(psql "$PG_ADMIN_URL" -Atqc 'SHOW server_version'), $PG_ADMIN_URL) and list latency at scale; sections: $SECTIONS${NODE_CPU:+; each node limited to $NODE_CPU cores (cgroup)}"

# fresh_pg NAME: creates database faos_bench_<pid>_NAME, sets DB_URL.
fresh_pg() {
  local db="faos_bench_$$_$1"
  psql "$PG_ADMIN_URL" -Atqc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
  psql "$PG_ADMIN_URL" -Atqc "CREATE DATABASE $db" >/dev/null
  DATABASES+=("$db")
  DB_URL="$PG_PREFIX/$db"
}
drop_pg() {
  psql "$PG_ADMIN_URL" -Atqc "DROP DATABASE IF EXISTS ${DB_URL##*/} WITH (FORCE)" >/dev/null
}

# start_node K DATABASE_URL: node K on 127.0.0.1:(PORT + K - 1); waits for
# /readyz 200. Node 1 must be started first (it migrates and prints keys).
start_node() {
  local k="$1" url="$2" port=$(( PORT + $1 - 1 )) dir="$TMP/node$1-$(date +%s%N)"
  mkdir -p "$dir"
  local run=()
  if [[ -n "$NODE_CPU" ]]; then
    # Its own cgroup, limited to NODE_CPU cores; the shell joins it and
    # then becomes the node.
    local cg="$CGROUP_ROOT/faos_bench_$$_node$k"
    mkdir -p "$cg"
    echo 100000 >"$cg/cpu.cfs_period_us"
    awk -v c="$NODE_CPU" 'BEGIN { printf "%d\n", c * 100000 }' >"$cg/cpu.cfs_quota_us"
    run=(sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cg")
  fi
  FAOS_LOG="${FAOS_LOG:-info}" "${run[@]}" "$FAOS_BIN" serve --addr "127.0.0.1:$port" --database "$url" >"$dir/stdout" 2>"$dir/stderr" &
  NODE_PIDS[$k]=$!
  NODE_DIRS[$k]="$dir"
  local _
  for _ in $(seq 1 1500); do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/readyz" || true)" == 200 ]] && return 0
    kill -0 "${NODE_PIDS[$k]}" 2>/dev/null || { echo "bench: node $k exited; stderr:" >&2; cat "$dir/stderr" >&2; exit 1; }
    sleep 0.02
  done
  echo "bench: node $k not ready after 30 s" >&2; exit 1
}
stop_nodes() {
  local k pid
  for k in "${!NODE_PIDS[@]}"; do
    pid="${NODE_PIDS[$k]}"
    kill -TERM "$pid" 2>/dev/null || true
  done
  for k in "${!NODE_PIDS[@]}"; do
    pid="${NODE_PIDS[$k]}"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  NODE_PIDS=()
}
declare -A NODE_DIRS

# node_key URL: the live key node 1 printed; lifts the plan's limits.
node_key() {
  KEY="$(awk '$1 == "live:" { print $2 }' "${NODE_DIRS[1]}/stdout")"
  [[ "$KEY" == sk_live_* ]] || { echo "bench: no live key printed on stdout" >&2; exit 1; }
  auth=(-H "Authorization: Bearer $KEY")
  "$FAOS_BIN" orgs set-plan --database "$1" --org default \
    --plan enterprise --per-minute 100000000 --per-day 1000000000 2>&1 | sed 's/^/  /'
}

cpu_s() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}
# pg_cpu: CPU seconds of all PostgreSQL server processes (includes other
# clients' backends, if any).
pg_cpu() {
  local pid total=0
  for pid in $(pgrep -x postgres); do total="$(awk -v a="$total" -v b="$(cpu_s "$pid")" 'BEGIN { print a + b }')"; done
  echo "$total"
}
# cpu_snapshot: "node1 node2 ... postgres receiver" CPU seconds.
cpu_snapshot() {
  local k out=""
  for k in $(echo "${!NODE_PIDS[@]}" | tr ' ' '\n' | sort -n); do out+="$(cpu_s "${NODE_PIDS[$k]}") "; done
  out+="$(pg_cpu) "
  if [[ -n "$RECV_PID" ]]; then out+="$(cpu_s "$RECV_PID")"; else out+=0; fi
  echo "$out"
}
# cpu_report BEFORE AFTER WALL_MS: per-process CPU seconds and % of one core.
cpu_report() {
  awk -v a="$1" -v b="$2" -v wall="$3" 'BEGIN {
    n = split(a, x, " "); split(b, y, " ")
    out = "  CPU during the measurement (" sprintf("%.2f", wall / 1000) " s wall):"
    for (i = 1; i <= n; i++) {
      name = (i == n) ? "receiver" : (i == n - 1) ? "postgres (all processes)" : "node " i
      d = y[i] - x[i]
      if (name == "receiver" && d == 0) continue
      out = out sprintf(" %s %.2f s (%.0f%%);", name, d, wall > 0 ? 100 * d / (wall / 1000) : 0)
    }
    print out
  }'
}

# curl_config FILE N URL_FN BODY_FN: a curl -K file of N POSTs.
node_url() { local k=$(( ($1 - 1) % NODE_COUNT + 1 )); echo "http://127.0.0.1:$(( PORT + k - 1 ))"; }

# wait_runs SECONDS: until no run is queued or running; sets RUNS_STATE to
# "total succeeded unfinished max_finished_at".
wait_runs() {
  local deadline=$(( $(date +%s) + $1 ))
  while :; do
    RUNS_STATE="$(psql "$DB_URL" -Atqc "SELECT count(*), count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status IN ('queued', 'running')), coalesce(max(finished_at), 0) FROM runs" | tr '|' ' ')"
    [[ "$(awk '{ print $3 }' <<<"$RUNS_STATE")" == 0 ]] && return 0
    if (( $(date +%s) >= deadline )); then echo "  (warning: runs unfinished after $1 s)"; return 0; fi
    sleep 0.1
  done
}

start_cluster() {
  fresh_pg "n$1"
  NODE_COUNT="$1"
  local k
  for k in $(seq 1 "$1"); do start_node "$k" "$DB_URL"; done
  BASE="http://127.0.0.1:$PORT"
  node_key "$DB_URL"
}

declare -A RESULT

# a. workflow steps/s ---------------------------------------------------------------
if [[ " $SECTIONS " == *" a "* ]]; then
  steps='{"id":"s1","type":"transform","value":"{{ input.n }}"}'
  for s in $(seq 2 "$STEPS"); do steps+=",{\"id\":\"s$s\",\"type\":\"transform\",\"value\":\"{{ steps.s$((s - 1)).output + 1 }}\"}"; done
  WORKFLOW="{\"name\":\"Bench nodes\",\"steps\":[$steps]}"
  for n in $NODES; do
    start_cluster "$n"
    WF_ID="$(api POST /v1/workflows "$WORKFLOW" | first_id wf)"
    check="$(api POST "/v1/workflows/$WF_ID/run" '{"input":{"n":1},"wait":10}')"
    [[ "$(jq -c '.data.output' <<<"$check")" == "$STEPS" ]] || { echo "bench: check run gave $(jq -c '.data' <<<"$check")" >&2; exit 1; }
    {
      for i in $(seq 1 "$RUNS"); do
        echo "url = \"$(node_url "$i")/v1/workflows/$WF_ID/run\""
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
    echo "== a. $n node(s): $RUNS runs of $STEPS transform steps queued without wait, spread over the nodes, FAOS_RUN_CONCURRENCY=${FAOS_RUN_CONCURRENCY:-16 (default)} per node"
    echo "  command: curl -s --no-progress-meter --parallel --parallel-max $QUEUE_CONNS -K queue.curl   ($RUNS x POST <node i mod $n>/v1/workflows/\$WF_ID/run {\"input\":{\"n\":<i>}})"
    C0="$(cpu_snapshot)"
    busy_start
    T0_MS=$(( $(now_us) / 1000 ))
    timeout 300 curl -s --no-progress-meter --parallel --parallel-max "$QUEUE_CONNS" -K "$TMP/queue.curl" >"$TMP/queue$n.txt" || true
    TQ_MS=$(( $(now_us) / 1000 ))
    wait_runs 300
    busy_stop
    C1="$(cpu_snapshot)"
    read -r R_TOTAL R_OK R_OPEN R_LAST <<<"$RUNS_STATE"
    Q_OK=$(( R_OK - 1 ))
    ELAPSED=$(( R_LAST - T0_MS ))
    SPS="$(awk -v n="$Q_OK" -v s="$STEPS" -v ms="$ELAPSED" 'BEGIN { printf "%.0f", n * s / (ms / 1000) }')"
    AFTER="$(psql "$DB_URL" -Atqc "SELECT count(*) FROM runs WHERE finished_at > $TQ_MS")"
    AFTER_RATE="$(awk -v n="$AFTER" -v s="$STEPS" -v ms="$(( R_LAST - TQ_MS ))" 'BEGIN { if (ms > 0) printf "%.0f", n * s / (ms / 1000); else print "-" }')"
    Q_202="$(awk '$1 == 202' "$TMP/queue$n.txt" | wc -l)"
    read -r Q_P50 Q_P99 < <(awk '$1 == 202 { printf "%.3f\n", $2 * 1000 }' "$TMP/queue$n.txt" | percentiles 50 99)
    BY_NODE="$(psql "$DB_URL" -Atqc "SELECT string_agg(c::text, ' / ') FROM (SELECT count(*) c FROM runs WHERE status = 'succeeded' GROUP BY lease_owner ORDER BY 1 DESC) x")"
    echo "  queueing: $(( TQ_MS - T0_MS )) ms; 202: $Q_202 of $RUNS; each POST p50 ${Q_P50} ms, p99 ${Q_P99} ms"
    echo "  runs: $R_TOTAL in all (1 check run), $R_OK succeeded, $R_OPEN unfinished; last finished at +${ELAPSED} ms; succeeded runs by last lease owner: $BY_NODE"
    echo "  after queueing ended: $AFTER runs finished in $(( R_LAST - TQ_MS )) ms: $AFTER_RATE steps/s"
    cpu_report "$C0" "$C1" "$ELAPSED"
    echo "  => $SPS steps/s (first POST sent to last run finished)"
    for k in $(seq 1 "$n"); do
      echo "  node $k log: $(grep -o 'status=[0-9]*' "${NODE_DIRS[$k]}/stderr" | sort | uniq -c | tr -s ' ' | tr '\n' ' ')$(grep -c -E ' (WARN|ERROR) ' "${NODE_DIRS[$k]}/stderr" || true) WARN/ERROR lines"
    done
    RESULT["a$n"]="$SPS steps/s; $R_OK of $(( RUNS + 1 )) succeeded in ${ELAPSED} ms; after queueing $AFTER_RATE steps/s; $(cpu_report "$C0" "$C1" "$ELAPSED" | sed 's/^ *CPU during the measurement //')"
    stop_nodes
    drop_pg
    echo
  done
fi

# b. webhook deliveries/s ------------------------------------------------------------
if [[ " $SECTIONS " == *" b "* ]]; then
  for n in $NODES; do
    node "$here/webhook_receiver.js" receive "$RPORT" "$TMP/arrivals$n.log" &
    RECV_PID=$!
    for _ in $(seq 1 100); do curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$RPORT/count" && break; sleep 0.05; done
    start_cluster "$n"
    for e in $(seq 1 "$ENDPOINTS"); do
      api POST /v1/webhooks "{\"url\":\"http://127.0.0.1:$RPORT/e$e\",\"events\":[\"agent.created\"]}" >/dev/null
    done
    {
      for i in $(seq 1 "$AGENTS"); do
        echo "url = \"$(node_url "$i")/v1/agents\""
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
    echo "== b. $n node(s): $ENDPOINTS endpoints for agent.created, $AGENTS agents created spread over the nodes, FAOS_WEBHOOK_CONCURRENCY=${FAOS_WEBHOOK_CONCURRENCY:-64 (default)} per node"
    echo "  command: curl -s --no-progress-meter --parallel --parallel-max $QUEUE_CONNS -K create.curl   ($AGENTS x POST <node i mod $n>/v1/agents)"
    C0="$(cpu_snapshot)"
    busy_start
    T0="$(awk -v t="$(now_us)" 'BEGIN { printf "%.3f", t / 1000 }')"
    timeout 300 curl -s --no-progress-meter --parallel --parallel-max "$QUEUE_CONNS" -K "$TMP/create.curl" >"$TMP/create$n.txt" || true
    TQ="$(awk -v t="$(now_us)" 'BEGIN { printf "%.3f", t / 1000 }')"
    deadline=$(( $(date +%s) + 300 ))
    while :; do
      got="$(curl -s --max-time 2 "http://127.0.0.1:$RPORT/count" || echo 0)"
      (( got >= EXPECTED )) && break
      if (( $(date +%s) >= deadline )); then echo "  (warning: only $got of $EXPECTED deliveries after 300 s)"; break; fi
      sleep 0.05
    done
    busy_stop
    C1="$(cpu_snapshot)"
    sleep 0.5
    kill -TERM "$RECV_PID" 2>/dev/null || true; wait "$RECV_PID" 2>/dev/null || true; RECV_PID=""
    C_201="$(awk '$1 == 201' "$TMP/create$n.txt" | wc -l)"
    read -r N UNIQ LAST SS ALL AFTER AFTER_RATE < <(awk -v t0="$T0" -v tq="$TQ" '
      { t[NR] = $1; key = $2 " " $3; if (!(key in seen)) { seen[key] = 1; u++ } if ($1 > tq) after++ }
      END {
        n = NR
        lo = int(0.1 * n); if (lo < 1) lo = 1; hi = int(0.9 * n + 0.999999)
        printf "%d %d %.0f %.0f %.0f %d %.0f\n", n, u, t[n] - t0,
          (t[hi] > t[lo]) ? (hi - lo) / ((t[hi] - t[lo]) / 1000) : 0,
          (t[n] > t0) ? n / ((t[n] - t0) / 1000) : 0, after,
          (t[n] > tq && after > 0) ? after / ((t[n] - tq) / 1000) : 0
      }' <(sort -g "$TMP/arrivals$n.log"))
    echo "  creating: $(awk -v a="$TQ" -v b="$T0" 'BEGIN { printf "%.0f", a - b }') ms; 201: $C_201 of $AGENTS"
    echo "  deliveries: $N received ($UNIQ distinct) of $EXPECTED; last at +${LAST} ms; $AFTER after the last create was answered ($AFTER_RATE/s)"
    cpu_report "$C0" "$C1" "$LAST"
    echo "  => steady state (middle 80% of arrivals): $SS deliveries/s; overall: $ALL deliveries/s"
    RESULT["b$n"]="steady $SS deliveries/s, overall $ALL/s; $N of $EXPECTED; $(cpu_report "$C0" "$C1" "$LAST" | sed 's/^ *CPU during the measurement //')"
    stop_nodes
    drop_pg
    echo
  done
fi

# c. list latency at 1,000 and BIG agents ----------------------------------------------
# list_run LABEL: GET /v1/agents?limit=20 at 1 connection; sets L_P50 L_P90
# L_P99 L_NON2XX (µs).
list_run() {
  local url="$BASE/v1/agents?limit=20"
  BENCH_REQUESTS="$WARMUP" timeout 300 wrk -t1 -c1 -d300s --timeout 10s -H "Authorization: Bearer $KEY" -s "$here/count.lua" "$url" >/dev/null
  wait_quiet
  BENCH_REQUESTS="$LIST_REQUESTS" run_wrk "list-$1" -t1 -c1 -d300s --timeout 10s -H "Authorization: Bearer $KEY" -s "$here/count.lua" "$url"
  read -r L_P50 L_P90 L_P99 L_NON2XX < <(awk '/^count:/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } print v["p50"], v["p90"], v["p99"], v["non2xx"] }' "$TMP/list-$1.txt")
}
COLS="org_id, mode, name, template, instructions, model, tools, max_steps, metadata, created_at, updated_at"
SEL="a.org_id, a.mode, a.name, a.template, a.instructions, a.model, a.tools, a.max_steps, a.metadata, a.created_at, a.updated_at"
if [[ " $SECTIONS " == *" c "* ]]; then
  for backend in $BACKENDS; do
    echo "== c. [$backend] GET /v1/agents?limit=20, 1 connection, $LIST_REQUESTS requests after $WARMUP warm-up: 1,000 vs $BIG agents"
    if [[ "$backend" == postgres ]]; then
      fresh_pg list; NODE_COUNT=1; start_node 1 "$DB_URL"; BASE="http://127.0.0.1:$PORT"; node_key "$DB_URL"
      sql() { psql "$DB_URL" -v ON_ERROR_STOP=1 -Atqc "$1"; }
      gen() { echo "SELECT 'agt_seed' || lpad(g::text, 9, '0'), $SEL FROM agents a, generate_series($1, $2) g WHERE a.id = '$AGENT_ID'"; }
    else
      start_server "$TMP/list-sqlite"; NODE_PIDS[1]="$SERVER_PID"; use_server_key
      sql() { sqlite3 -cmd '.timeout 30000' "$SERVER_DIR/faos.db" "$1"; }
      gen() { echo "WITH RECURSIVE g(n) AS (SELECT $1 UNION ALL SELECT n + 1 FROM g WHERE n < $2) SELECT 'agt_seed' || printf('%09d', n), $SEL FROM g, agents a WHERE a.id = '$AGENT_ID'"; }
    fi
    AGENT_ID="$(api POST /v1/agents '{"name":"Seed","template":"customer-service"}' | first_id agt)"
    t0="$(now_us)"
    sql "INSERT INTO agents (id, $COLS) $(gen 2 1000)"
    [[ "$backend" == postgres ]] && sql "ANALYZE agents"
    echo "  seeded to $(sql "SELECT count(*) FROM agents") agents in $(( ($(now_us) - t0) / 1000 )) ms"
    list_run "$backend-small"; S_P50="$L_P50" S_P90="$L_P90" S_P99="$L_P99" S_NON="$L_NON2XX"
    echo "  1,000 agents: p50 $S_P50 µs, p90 $S_P90, p99 $S_P99, non-2xx $S_NON"
    if [[ "$backend" == sqlite ]]; then stop_server; NODE_PIDS=(); fi
    t0="$(now_us)"
    sql "INSERT INTO agents (id, $COLS) $(gen 1001 "$BIG")"
    [[ "$backend" == postgres ]] && sql "ANALYZE agents"
    echo "  seeded to $(sql "SELECT count(*) FROM agents") agents in $(( ($(now_us) - t0) / 1000 )) ms"
    if [[ "$backend" == sqlite ]]; then start_server "$TMP/list-sqlite"; NODE_PIDS[1]="$SERVER_PID"; fi
    list_run "$backend-big"; B_P50="$L_P50" B_P90="$L_P90" B_P99="$L_P99" B_NON="$L_NON2XX"
    echo "  $BIG agents: p50 $B_P50 µs, p90 $B_P90, p99 $B_P99, non-2xx $B_NON"
    first="$(api GET '/v1/agents?limit=20' | jq -r '[.data[0].id, .data[-1].id, (.data | length)] | join(" ")')"
    echo "  first page: $first (first id, last id, count)"
    RATIO="$(awk -v a="$S_P50" -v b="$B_P50" 'BEGIN { printf "%.2f", b / a }')"
    echo "  => p50 ratio $BIG / 1,000 agents: $RATIO"
    RESULT["c$backend"]="p50 $S_P50 µs at 1,000 agents, $B_P50 µs at $BIG: ratio $RATIO (p99 $S_P99 / $B_P99 µs)"
    if [[ "$backend" == postgres ]]; then stop_nodes; drop_pg; else stop_server; NODE_PIDS=(); fi
    echo
  done
fi

echo "== summary"
for n in $NODES; do
  [[ -n "${RESULT[a$n]:-}" ]] && printf '  %-34s %s\n' "a. steps/s, $n node(s)" "${RESULT[a$n]}"
done
for n in $NODES; do
  [[ -n "${RESULT[b$n]:-}" ]] && printf '  %-34s %s\n' "b. deliveries/s, $n node(s)" "${RESULT[b$n]}"
done
for backend in $BACKENDS; do
  [[ -n "${RESULT[c$backend]:-}" ]] && printf '  %-34s %s\n' "c. list p50, $backend" "${RESULT[c$backend]}"
done
true
