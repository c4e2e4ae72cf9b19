#!/usr/bin/env bash
# api-fn's cold start under the Lambda runtime, without AWS: scripts/bench-cold-start.sh
# Builds the release binary, strips a copy (as a deployment would ship it), makes a fresh database
# with one organization (scripts/api-fixture.sh), and runs scripts/lambda/cold_start.py: BENCH_RUNS
# (20) fresh processes, each with the Lambda template's production settings, answering one
# function-URL event `GET /api/v1/jobs?limit=1` that carries an API key and the edge's proof, so
# the first request authenticates against Postgres. Prints the machine, the stripped size, each
# run and a `cold-start:` summary (init and first-response median / p90); copy them into
# docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${BENCH_RUNS:-20}
cargo build --release -q -p api-fn
bin="${CARGO_TARGET_DIR:-target}/release/api-fn"
keys="k1:$(openssl rand -base64 32)"
edge=$(openssl rand -hex 24)
# shellcheck source=scripts/api-fixture.sh
source scripts/api-fixture.sh
PRIKKE_ENV=production PRIKKE_ENCRYPTION_KEYS="$keys" api_fixture_db coldstart "$bin"
cp "$bin" "$WORK/api-fn" && strip "$WORK/api-fn"
python3 - "$KEY" "$edge" >"$WORK/event.json" <<'PY'
import json, sys
event = json.load(open("api-fn/tests/fixtures/lambda_function_url_request.json"))
event["rawPath"] = event["requestContext"]["http"]["path"] = "/api/v1/jobs"
event["rawQueryString"] = "limit=1"
event["headers"].update({"authorization": f"Bearer {sys.argv[1]}", "x-prikke-edge": sys.argv[2]})
print(json.dumps(event))
PY
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "api-fn release binary: $(stat -c %s "$bin") bytes, stripped $(stat -c %s "$WORK/api-fn") bytes"
# the Lambda template's settings (infra/lambda/template.yaml), with real local values
env -i PATH="$PATH" DATABASE_URL="$URL" PRIKKE_ENV=production PRIKKE_EDGE_SECRET="$edge" PRIKKE_ENCRYPTION_KEYS="$keys" \
  PRIKKE_SHA="$(git rev-parse --short HEAD)" PRIKKE_MIGRATE=false PRIKKE_DB_MAX_CONNECTIONS=2 \
  python3 scripts/lambda/cold_start.py "$WORK/api-fn" "$WORK/event.json" "$runs"
