#!/usr/bin/env bash
# API benchmark: POST /api/v1/jobs and GET /api/v1/jobs at 100 concurrent clients on loopback,
# against a release build of api-fn on a fresh database, with the per-key rate limiter counting
# every request (limit set out of reach) and with it turned off, to show what it costs.
# Prints a Markdown table for docs/benchmarks.md (## API). api-fn talks to Postgres on loopback
# without TLS (sslmode=disable), as a local deployment would; production's managed Postgres is
# reached over TLS. The load average is printed with the figures: other work on the machine
# shows up in them.
#
#   scripts/bench-api.sh            BENCH_CLIENTS=100 BENCH_SECS=15 by default
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${BENCH_CLIENTS:-100}
SECS=${BENCH_SECS:-15}

if [ -z "${DATABASE_URL:-}" ] || ! pg_isready -q -d "$DATABASE_URL" -t 3 2>/dev/null; then
  # shellcheck source=scripts/pg.sh
  source scripts/pg.sh
  trap prikke_pg_stop EXIT
  prikke_pg_ensure
fi

cargo build --quiet --release -p api-fn --bin api-fn --example load_api
TARGET="${CARGO_TARGET_DIR:-target}/release"
BIN="$TARGET/api-fn"
LOAD="$TARGET/examples/load_api"
WORK=$(mktemp -d /tmp/prikke-bench.XXXXXX)
DB="prikke_bench_$$"
URL="${DATABASE_URL%/*}/$DB"
SERVER_PID=""
stop_server() { if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; fi; }
cleanup() {
  stop_server
  psql -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
  if declare -F prikke_pg_stop >/dev/null; then prikke_pg_stop; fi
}
trap cleanup EXIT

psql -q "$DATABASE_URL" -c "CREATE DATABASE $DB"
"$BIN" migrate --database-url "$URL" 2>/dev/null
KEY=$("$BIN" create-org --slug bench --name Bench --tier pro --database-url "$URL" 2>/dev/null \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])')

start_server() { # $1 = requests per key per minute (0 = limiter off)
  DATABASE_URL="$URL?sslmode=disable" PRIKKE_ENV=test PRIKKE_BIND=127.0.0.1:0 PRIKKE_MIGRATE=false PRIKKE_DB_MAX_CONNECTIONS=${BENCH_DB_CONNECTIONS:-10} \
    PRIKKE_API_RATE_PER_MINUTE="$1" RUST_LOG=error "$BIN" >"$WORK/stdout" 2>"$WORK/server.log" &
  SERVER_PID=$!
  for _ in $(seq 100); do
    grep -q '^listening on ' "$WORK/stdout" 2>/dev/null && break
    sleep 0.1
  done
  BASE=$(sed -n 's/^listening on //p' "$WORK/stdout")
  [ -n "$BASE" ] || { cat "$WORK/server.log" >&2; exit 1; }
}

run() { # $1 scenario, $2 limiter label
  local line load
  line=$("$LOAD" --url "$BASE" --key "$KEY" --scenario "$1" --clients "$CLIENTS" --secs "$SECS")
  load=$(cut -d' ' -f1 /proc/loadavg)
  python3 - "$1" "$2" "$line" "$load" <<'PY'
import json, sys
scenario, limiter, line, load = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
what = "POST /api/v1/jobs" if scenario == "create" else "GET /api/v1/jobs?limit=20"
print(f"| {what} | {limiter} | {line['clients']} | {line['rps']} | {line['p50_ms']:.1f} | {line['p90_ms']:.1f} | {line['p99_ms']:.1f} | {line['max_ms']:.1f} | {line['errors']} | {load} |")
PY
}

echo "API benchmark: $CLIENTS clients, ${SECS} s measured after a 3 s warm-up, $(nproc) cores, $(date -u +%Y-%m-%d)"
echo
echo "| request | rate limiter | clients | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | load avg (1 min) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
start_server 100000000
run create "on"
run list "on"
stop_server
start_server 0
run create "off"
run list "off"
stop_server
JOBS=$(psql -tA "$URL" -c "SELECT count(*) FROM jobs")
echo
echo "($JOBS jobs in the table at the end; list pages are the newest 20.)"
