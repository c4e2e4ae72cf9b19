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

# shellcheck source=scripts/api-fixture.sh
source scripts/api-fixture.sh
cargo build --quiet --release -p api-fn --bin api-fn --example load_api
TARGET="${CARGO_TARGET_DIR:-target}/release"
BIN="$TARGET/api-fn"
LOAD="$TARGET/examples/load_api"
api_fixture_db bench "$BIN"

start_server() { # $1 = requests per key per minute (0 = limiter off)
  api_fixture_start "$BIN" DATABASE_URL="$URL?sslmode=disable" PRIKKE_DB_MAX_CONNECTIONS="${BENCH_DB_CONNECTIONS:-10}" \
    PRIKKE_API_RATE_PER_MINUTE="$1" RUST_LOG=error
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
api_fixture_stop
start_server 0
run create "off"
run list "off"
api_fixture_stop
JOBS=$(psql -tA "$URL" -c "SELECT count(*) FROM jobs")
echo
echo "($JOBS jobs in the table at the end; list pages are the newest 20.)"
