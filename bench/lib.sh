# Shared helpers for the FAOS benchmark scripts (bench/run.sh,
# bench/conversations.sh, bench/workflows.sh). Source it, then call
# bench_init; everything talks to 127.0.0.1 only.
#
# Environment read here:
#   FAOS_BIN       binary to test; default: build the working tree with
#                  CARGO_TARGET_DIR=/tmp/faos-bench-target cargo build --release
#   BENCH_PORT     port on 127.0.0.1 (default 18480)
#   BENCH_COMMIT   commit label to print when FAOS_BIN was built elsewhere
#   BENCH_QUIET    seconds without any cargo/rustc/clippy process to wait for before
#                  each measurement (default 10; 0 = do not wait)
#   BENCH_QUIET_TIMEOUT  give up waiting after this many seconds (default 900)
#   FAOS_LOG       server log filter (default info: one line per request)
#
# Sets: PORT BASE TMP FAOS_BIN here root; start_server sets SERVER_PID,
# READY_MS, SERVER_DIR.

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

PORT="${BENCH_PORT:-18480}"
BASE="http://127.0.0.1:$PORT"
TMP=""
SERVER_PID=""
SERVER_DIR=""
auth=()
KEY=""

# bench_init TOOL...: checks the tools, builds or checks the binary, makes
# TMP, installs the cleanup trap and checks the port is free.
bench_init() {
  local tool
  for tool in curl awk "$@"; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is not installed" >&2; exit 1; }
  done
  if [[ -z "${FAOS_BIN:-}" ]]; then
    echo "bench: building release binary (CARGO_TARGET_DIR=/tmp/faos-bench-target)" >&2
    (cd "$root" && CARGO_TARGET_DIR=/tmp/faos-bench-target cargo build --release --quiet)
    FAOS_BIN=/tmp/faos-bench-target/release/faos
  fi
  [[ -x "$FAOS_BIN" ]] || { echo "bench: $FAOS_BIN is not executable" >&2; exit 1; }
  TMP="$(mktemp -d /tmp/faos-bench.XXXXXX)"
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  if curl -s -o /dev/null --max-time 1 "$BASE/healthz"; then
    echo "bench: something already listens on 127.0.0.1:$PORT; set BENCH_PORT" >&2
    exit 1
  fi
}

bench_cleanup() {
  if [[ -n "$BUSY_PID" ]]; then kill "$BUSY_PID" 2>/dev/null || true; fi
  stop_server
  [[ -n "$TMP" ]] && rm -rf "$TMP"
}

# Microseconds since the epoch, without forking (bash 5 EPOCHREALTIME).
now_us() { local t="${EPOCHREALTIME/./}"; echo "$t"; }

# wait_quiet: waits until no cargo or rustc process has been seen for
# BENCH_QUIET seconds (other builds on the 2 cores skew every figure).
wait_quiet() {
  local need="${BENCH_QUIET:-10}" limit="${BENCH_QUIET_TIMEOUT:-900}"
  (( need > 0 )) || return 0
  local start quiet_since now
  start="$(date +%s)"; quiet_since="$start"
  while :; do
    now="$(date +%s)"
    if pgrep -x 'cargo|rustc|cargo-clippy|clippy-driver|rustdoc' >/dev/null 2>&1; then
      quiet_since="$now"
    elif (( now - quiet_since >= need )); then
      return 0
    fi
    if (( now - start >= limit )); then
      echo "  (warning: cargo/rustc still running after ${limit} s; measuring anyway)"
      return 0
    fi
    sleep 1
  done
}

# print_header TITLE: date, commit, machine, binary, load.
print_header() {
  echo "== $1"
  echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  local commit="${BENCH_COMMIT:-$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)}"
  if [[ -z "${BENCH_COMMIT:-}" ]] && [[ -n "$(git -C "$root" status --porcelain -- src Cargo.toml Cargo.lock migrations 2>/dev/null)" ]]; then
    commit="$commit (+ uncommitted changes in the working tree)"
  fi
  echo "commit:  $commit"
  echo "machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/^MemTotal/ { printf "%.0f GB RAM", $2 / 1048576 }' /proc/meminfo)"
  echo "binary:  $FAOS_BIN"
  if command -v wrk >/dev/null; then
    echo "wrk:     $(wrk -v 2>&1 | head -1 | awk '{ print $1, $2 }')"
  fi
  echo "curl:    $(curl --version | head -1 | awk '{ print $1, $2 }')"
  echo "note:    server and load generator share the same $(nproc) cores"
  echo "load:    $(cut -d" " -f1-3 /proc/loadavg) (1/5/15 min load average before the run)"
  echo
}

# start_server DIR: starts faos on a fresh database in DIR, waits for
# /readyz 200, and sets SERVER_PID, SERVER_DIR and READY_MS (process start
# to the first 200, polled with curl every 2 ms plus curl's own run time).
# Extra FAOS_* settings come from the caller's environment.
start_server() {
  local dir="$1"
  mkdir -p "$dir"
  local t0 t1 code
  t0="$(now_us)"
  FAOS_LOG="${FAOS_LOG:-info}" "$FAOS_BIN" serve --addr "127.0.0.1:$PORT" \
    --database "sqlite://$dir/faos.db" >"$dir/stdout" 2>"$dir/stderr" &
  SERVER_PID=$!
  SERVER_DIR="$dir"
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

# stop_server: SIGTERM the server started by start_server (SIGKILL after 5 s).
stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    local _
    for _ in $(seq 1 100); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.05
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}

# use_server_key: reads the live key the server printed on its first start
# and sends it with every api call (sets KEY and auth). Benchmarks measure
# speed, not quotas: the organization is moved to limits no run reaches
# (the default starter plan allows 60 requests a minute).
use_server_key() {
  KEY="$(awk '$1 == "live:" { print $2 }' "$SERVER_DIR/stdout")"
  [[ "$KEY" == sk_live_* ]] || { echo "bench: no live key printed on stdout" >&2; exit 1; }
  auth=(-H "Authorization: Bearer $KEY")
  "$FAOS_BIN" orgs set-plan --database "sqlite://$SERVER_DIR/faos.db" --org default \
    --plan enterprise --per-minute 100000000 --per-day 1000000000 2>&1 | sed 's/^/  /'
}

rss_mb() {
  awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status"
}

# api METHOD PATH [BODY]: prints the body; fails on non-2xx.
api() {
  local method="$1" path="$2" body="${3:-}"
  if [[ -n "$body" ]]; then
    curl -sS --max-time 30 --fail-with-body -X "$method" "${auth[@]}" -H 'Content-Type: application/json' \
      --data "$body" "$BASE$path"
  else
    curl -sS --max-time 30 --fail-with-body -X "$method" "${auth[@]}" "$BASE$path"
  fi
}

# first_id PREFIX: the first "id":"PREFIX_…" in the JSON on stdin.
first_id() {
  sed -n "s/.*\"id\":\"\\($1_[A-Za-z0-9]*\\)\".*/\\1/p" | head -1
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

# show_command WORDS...: prints "  command: WORDS" with the key, base URL
# and bench/ path abbreviated, and words with spaces or shell characters
# single-quoted.
show_command() {
  local out="" word
  for word in "$@"; do
    [[ -n "$KEY" ]] && word="${word//$KEY/\$KEY}"
    word="${word//$BASE/\$BASE}"
    word="${word//$here\//bench/}"
    if [[ "$word" =~ [[:space:]\?\&\*\;\|\<\>\(\)\{\}\"] ]]; then word="'$word'"; fi
    out+="${out:+ }$word"
  done
  echo "  command: $out"
}

# busy_start / busy_stop: sample every 0.5 s whether a cargo/rustc process
# runs while a measurement does; busy_stop prints a warning if one did.
BUSY_PID=""
busy_start() {
  : >"$TMP/busy"
  ( while :; do
      if pgrep -x 'cargo|rustc|cargo-clippy|clippy-driver|rustdoc' >/dev/null 2>&1; then echo 1 >>"$TMP/busy"; fi
      sleep 0.5
    done ) &
  BUSY_PID=$!
}
busy_stop() {
  if [[ -n "$BUSY_PID" ]]; then
    kill "$BUSY_PID" 2>/dev/null || true
    wait "$BUSY_PID" 2>/dev/null || true
    BUSY_PID=""
  fi
  if [[ -s "$TMP/busy" ]]; then
    echo "  (warning: cargo/rustc ran during this measurement, seen in $(wc -l <"$TMP/busy") samples 0.5 s apart; the figure is disturbed)"
  fi
}

# run_wrk NAME ARGS...: runs wrk with ARGS (bounded to 300 s), shows the
# command and its output indented, keeps the output in $TMP/NAME.txt.
run_wrk() {
  local name="$1"; shift
  show_command wrk "$@"
  busy_start
  timeout 300 wrk "$@" | tee "$TMP/$name.txt" | sed 's/^/  | /'
  busy_stop
}

# median: the median of the numbers on stdin, one per line.
median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# percentiles P...: nearest-rank percentiles of the numbers on stdin,
# printed space-separated in the order asked.
percentiles() {
  sort -g | awk -v ps="$*" '
    { v[NR] = $1 }
    END {
      n = split(ps, p, " ")
      for (i = 1; i <= n; i++) {
        r = int(p[i] / 100 * NR + 0.999999); if (r < 1) r = 1; if (r > NR) r = NR
        printf "%s%s", v[r], (i < n ? " " : "\n")
      }
    }'
}

# server_statuses: responses by status from the server log (one line per
# request on stderr), and the first WARN/ERROR lines.
server_statuses() {
  echo "== server log: responses by status"
  grep -o 'status=[0-9]*' "$SERVER_DIR/stderr" | sort | uniq -c | sed 's/^/  /' || true
  grep -E ' (WARN|ERROR) ' "$SERVER_DIR/stderr" | head -5 | sed 's/^/  ! /' || true
}
