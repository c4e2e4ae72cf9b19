#!/usr/bin/env bash
# Dashboard benchmark: a fresh database (dropped afterwards) with 1,000 jobs and 100,000
# executions, a release api-fn router on loopback, one signed-in client loading each dashboard
# page BENCH_ROUNDS (300) times: p50 / p99 / max per page, and each page's weight gzipped with
# the stylesheet and the script. Prints JSON lines; their figures go into docs/benchmarks.md with
# the machine and date this prints.
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres scripts/bench-dashboard.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release -p api-fn --example bench_dashboard
TARGET="${CARGO_TARGET_DIR:-target}/release"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); date: $(date -u '+%Y-%m-%d %H:%M UTC')"
"$TARGET/examples/bench_dashboard" --database-url "${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}" --rounds "${BENCH_ROUNDS:-300}"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
