#!/usr/bin/env bash
# Dispatcher benchmarks: scripts/bench-dispatcher.sh [throughput|precision|scale|alerts|memory|all]
# Builds in release mode, uses (or starts) Postgres via scripts/pg.sh, creates and drops a
# database per benchmark, and prints RESULT lines (copy them into docs/benchmarks.md with the
# machine and date it prints). Sizes: BENCH_N (100000), BENCH_BURST (10000), BENCH_MINUTE (100000),
# BENCH_ALERTS (1000), BENCH_ROUNDS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/pg.sh
source scripts/pg.sh
trap prikke_pg_stop EXIT
prikke_pg_ensure
cargo build --release -q -p dispatcher --example bench --bin dispatcher
"${CARGO_TARGET_DIR:-target}/release/examples/bench" "${1:-all}"
