#!/usr/bin/env bash
# Tests the edge Worker under the real workerd runtime (wrangler dev, local) with real HTTP:
#   1. builds it (scripts/edge/build.sh: tools, worker-build --release, size budget) and makes the
#      deployment bundle with `wrangler deploy --dry-run`;
#   2. creates a fresh Postgres database and starts a real api-fn on it (migrated at start);
#   3. starts a real echo origin (scripts/edge/echo_origin.py) that reports what it received;
#   4. starts two `wrangler dev` instances of the edge: one forwarding to api-fn, one to the echo;
#   5. runs scripts/edge/http_checks.py against them and prints `edge: N passed, M failed`.
# Exits non-zero on any failure; child processes and the database are always cleaned up.
#
# Environment: DATABASE_URL (a Postgres server URL, as scripts/pg.sh exports; default
# postgres://postgres@127.0.0.1:5432/postgres), CARGO_TARGET_DIR, PRIKKE_TOOLS (see build.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SERVER_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/prikke-edge-test.XXXXXX")
PGIDS=()
DB=""

cleanup() {
  local status=$?
  for pgid in "${PGIDS[@]}"; do kill -TERM -- "-$pgid" 2>/dev/null || true; done
  for pgid in "${PGIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 -- "-$pgid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pgid" 2>/dev/null || true
  done
  if [ -n "$DB" ]; then psql -q "$SERVER_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true; fi
  if [ "$status" -ne 0 ]; then
    echo "edge test: failed; logs in $WORK" >&2
    for log in "$WORK"/*.log; do [ -f "$log" ] && { echo "--- $log (tail)" >&2; tail -n 25 "$log" >&2; }; done
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts a command in its own process group (so cleanup ends it and its children) and records it.
start() {
  local log=$1; shift
  setsid "$@" > "$WORK/$log.out" 2> "$WORK/$log.log" < /dev/null &
  PGIDS+=("$!")
  LAST_PID=$!
}

# Waits (bounded) for a process to print `listening on http://HOST:PORT` as its first line.
listening_url() {
  local name=$1 pid=$2 deadline=$((SECONDS + ${3:-120})) line
  while [ "$SECONDS" -lt "$deadline" ]; do
    line=$(head -n 1 "$WORK/$name.out" 2>/dev/null || true)
    case "$line" in "listening on http://"*) echo "${line#listening on }"; return 0 ;; esac
    kill -0 "$pid" 2>/dev/null || { echo "edge test: $name exited before listening" >&2; return 1; }
    sleep 0.2
  done
  echo "edge test: $name did not report its address in time" >&2; return 1
}

# A free port below the kernel's ephemeral range: wrangler binds it a moment after we checked, and
# a port the kernel hands out to outgoing connections (or to anyone binding port 0) could be taken
# in between; below the range only an explicit bind can take it.
free_port() {
  python3 - <<'PY'
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(200):
    port = random.randint(10000, low - 1)
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(port)
        break
else:
    raise SystemExit("no free port below the ephemeral range")
PY
}

# Waits (bounded) until the edge at $1 answers.
wait_ready() {
  local url=$1 pid=$2 deadline=$((SECONDS + 120))
  while [ "$SECONDS" -lt "$deadline" ]; do
    curl -fsS -m 2 -o /dev/null -H 'cf-connecting-ip: 192.0.2.250' "$url/favicon.svg" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { echo "edge test: wrangler for $url exited" >&2; return 1; }
    sleep 0.25
  done
  echo "edge test: $url not ready in time" >&2; return 1
}

# --- 1. build --------------------------------------------------------------------------------------
bash "$ROOT/scripts/edge/build.sh"
# shellcheck source=scripts/edge/tools.sh
source "$ROOT/scripts/edge/tools.sh"
# The deployment bundle, made as `wrangler deploy` makes it (a dry run needs no account): checks
# wrangler.toml (bindings, vars, rate limits) the way a deploy does, and that the build bundles.
(cd "$ROOT" && PRIKKE_EDGE_PREBUILT=1 WRANGLER_SEND_METRICS=false CI=true "$WRANGLER" deploy --dry-run --outdir "$WORK/bundle") \
  > "$WORK/deploy-dry-run.log" 2>&1 || { echo "edge test: wrangler deploy --dry-run failed" >&2; cat "$WORK/deploy-dry-run.log" >&2; exit 1; }
[ -s "$WORK/bundle/index.js" ] || { echo "edge test: wrangler deploy --dry-run wrote no bundle" >&2; ls -la "$WORK/bundle" >&2; exit 1; }
echo "edge: wrangler deploy --dry-run bundled $(du -sk "$WORK/bundle" | cut -f1) KiB"

# --- 2. api-fn on a fresh database -----------------------------------------------------------------
DB="prikke_edge_$(date +%s)_$RANDOM"
psql -q "$SERVER_URL" -c "CREATE DATABASE $DB"
DATABASE_URL="${SERVER_URL%/*}/$DB"
(cd "$ROOT" && cargo build --quiet -p api-fn)
TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
# the origin refuses what did not come through the edge: both share this secret
ORIGIN_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
start api-fn env DATABASE_URL="$DATABASE_URL" PRIKKE_BIND=127.0.0.1:0 PRIKKE_MIGRATE=1 PRIKKE_ENV=test \
  PRIKKE_EDGE_SECRET="$ORIGIN_SECRET" PRIKKE_TRUST_FORWARDED_FOR=true \
  "$TARGET_DIR/debug/api-fn"
API_URL=$(listening_url api-fn "$LAST_PID" 120)

# --- 3. echo origin --------------------------------------------------------------------------------
start echo python3 -u "$ROOT/scripts/edge/echo_origin.py"
ECHO_URL=$(listening_url echo "$LAST_PID" 30)

# --- 4. the edge under workerd, twice --------------------------------------------------------------
run_edge() {
  local name=$1 origin=$2 port inspector
  port=$(free_port); inspector=$(free_port)
  start "$name" env PRIKKE_EDGE_PREBUILT=1 WRANGLER_SEND_METRICS=false CI=true WRANGLER_LOG_PATH="$WORK/wrangler-logs" \
    "$WRANGLER" dev --cwd "$ROOT" --ip 127.0.0.1 --port "$port" --inspector-port "$inspector" \
    --persist-to "$WORK/state-$name" --var "API_ORIGIN:$origin" --var PRIKKE_ENV:test --var "ORIGIN_SECRET:$ORIGIN_SECRET" --log-level warn
  EDGE_PID=$LAST_PID
  EDGE_PORT=$port
}
run_edge edge-api "$API_URL";  EDGE_URL="http://127.0.0.1:$EDGE_PORT";      API_EDGE_PID=$EDGE_PID
run_edge edge-echo "$ECHO_URL"; EDGE_ECHO_URL="http://127.0.0.1:$EDGE_PORT"; ECHO_EDGE_PID=$EDGE_PID
wait_ready "$EDGE_URL" "$API_EDGE_PID"
wait_ready "$EDGE_ECHO_URL" "$ECHO_EDGE_PID"

# --- 5. checks -------------------------------------------------------------------------------------
EDGE_URL=$EDGE_URL EDGE_ECHO_URL=$EDGE_ECHO_URL ECHO_URL=$ECHO_URL API_URL=$API_URL \
DATABASE_URL=$DATABASE_URL PRIKKE_ROOT=$ROOT ORIGIN_SECRET=$ORIGIN_SECRET \
  python3 "$ROOT/scripts/edge/http_checks.py"
