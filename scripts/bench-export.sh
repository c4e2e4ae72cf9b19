#!/usr/bin/env bash
# Export benchmark: an organization with BENCH_EXECUTIONS (1,000,000) executions on a fresh
# database (removed afterwards), exported through a release `api-fn serve` on loopback
# (GET /api/v1/export, NDJSON), measuring wall time, bytes and the server's memory from
# /proc/<pid>/status (VmHWM: peak resident size). Prints JSON lines and a RESULT line; the
# figures go into docs/benchmarks.md with the machine and date this prints.
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres scripts/bench-export.sh
set -euo pipefail
cd "$(dirname "$0")/.."
EXECUTIONS=${BENCH_EXECUTIONS:-1000000}

# shellcheck source=scripts/api-fixture.sh
source scripts/api-fixture.sh
cargo build --quiet --release -p api-fn --bin api-fn --example bench_export
TARGET="${CARGO_TARGET_DIR:-target}/release"
api_fixture_db benchexport "$TARGET/api-fn"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GB; date: $(date -u '+%Y-%m-%d %H:%M UTC')"
"$TARGET/examples/bench_export" seed --database-url "$URL" --executions "$EXECUTIONS"
# the server starts on the filled database, so its memory before the export is its own
api_fixture_start "$TARGET/api-fn" DATABASE_URL="$URL?sslmode=disable" RUST_LOG=error
"$TARGET/examples/bench_export" export --url "$BASE" --key "$KEY" --pid "$SERVER_PID"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
