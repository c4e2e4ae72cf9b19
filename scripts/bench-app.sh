#!/usr/bin/env bash
# Web app benchmark: argon2id's cost per hash, BENCH_CLIENTS (100) people signing in at once, the
# same sessions loading the jobs page and the members page in a closed loop for BENCH_SECS (15),
# and each page's weight gzipped with the stylesheet. A release api-fn on a fresh database
# (removed afterwards), on loopback. Prints JSON lines; their figures go into
# docs/benchmarks.md with the machine and date this prints.
#
#   scripts/bench-app.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${BENCH_CLIENTS:-100}
SECS=${BENCH_SECS:-15}

# shellcheck source=scripts/api-fixture.sh
source scripts/api-fixture.sh
cargo build --quiet --release -p api-fn --bin api-fn --example bench_app
TARGET="${CARGO_TARGET_DIR:-target}/release"
api_fixture_db benchapp "$TARGET/api-fn"
# sign-in throttling stays on, set out of reach of one client per address
api_fixture_start "$TARGET/api-fn" DATABASE_URL="$URL?sslmode=disable" PRIKKE_LOGIN_RATE_PER_MINUTE=100000 RUST_LOG=error
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); date: $(date -u '+%Y-%m-%d %H:%M UTC')"
"$TARGET/examples/bench_app" --url "$BASE" --database-url "$URL" --clients "$CLIENTS" --secs "$SECS"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
