#!/usr/bin/env bash
# Property-based test of the REST API against its own OpenAPI document with schemathesis:
# a real api-fn on a fresh database, an organization and API key made with `api-fn create-org`,
# then every documented operation fuzzed (examples, coverage, fuzzing and stateful phases).
# Fails on any 5xx and on any response that contradicts the document (status code, content
# type, headers, body schema). Prints one summary line.
# One worker: Python 3.11 before 3.11.8 corrupts its AST recursion counter when two threads parse
# at once (CPython gh-106905), which crashes Hypothesis mid-run.
#
#   scripts/api-schema-test.sh                 (uses $DATABASE_URL or starts Postgres via pg.sh)
#   SCHEMATHESIS_MAX_EXAMPLES=200 scripts/api-schema-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=${PRIKKE_TOOLS:-$HOME/.cache/prikke}
VENV="$TOOLS/venv-schemathesis"
VERSION=4.32.5
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-40}

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$VERSION"; then
  echo "schemathesis: installing $VERSION into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
fi

if [ -z "${DATABASE_URL:-}" ] || ! pg_isready -q -d "$DATABASE_URL" -t 3 2>/dev/null; then
  # shellcheck source=scripts/pg.sh
  source scripts/pg.sh
  trap prikke_pg_stop EXIT
  prikke_pg_ensure
fi

cargo build --quiet -p api-fn
BIN="${CARGO_TARGET_DIR:-target}/debug/api-fn"
WORK=$(mktemp -d /tmp/prikke-schemathesis.XXXXXX)
DB="prikke_schemathesis_$$"
URL="${DATABASE_URL%/*}/$DB"
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  psql -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
  if declare -F prikke_pg_stop >/dev/null; then prikke_pg_stop; fi
}
trap cleanup EXIT

psql -q "$DATABASE_URL" -c "CREATE DATABASE $DB"
"$BIN" migrate --database-url "$URL" 2>/dev/null
KEY=$("$BIN" create-org --slug schemathesis --name Schemathesis --tier pro --database-url "$URL" 2>/dev/null \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])')

# Rate limits high enough for the fuzzer; the limiter itself still runs on every request.
DATABASE_URL="$URL" PRIKKE_ENV=test PRIKKE_BIND=127.0.0.1:0 PRIKKE_MIGRATE=false \
  PRIKKE_API_RATE_PER_MINUTE=1000000 PRIKKE_PING_RATE_PER_MINUTE=1000000 RUST_LOG=warn \
  "$BIN" >"$WORK/stdout" 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 100); do
  grep -q '^listening on ' "$WORK/stdout" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.1
done
BASE=$(sed -n 's/^listening on //p' "$WORK/stdout")
[ -n "$BASE" ] || { echo "schemathesis: api-fn did not start" >&2; cat "$WORK/server.log" >&2; exit 1; }

set +e
# from the scratch directory: schemathesis keeps its example database in ./.schemathesis
cd "$WORK"
"$VENV/bin/schemathesis" run "$BASE/api/v1/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --header "Authorization: Bearer $KEY" \
  --max-examples "$MAX_EXAMPLES" --seed 20261122 --workers 1 \
  --suppress-health-check all \
  --report junit --report-junit-path "$WORK/junit.xml" \
  --no-color >"$WORK/run.log" 2>&1
RC=$?
set -e
if [ "$RC" != 0 ]; then
  cat "$WORK/run.log"
  echo "--- server log (last 40 lines)"; tail -40 "$WORK/server.log"
fi
if grep -qE '"level":"ERROR"|ERROR|panicked' "$WORK/server.log"; then
  echo "schemathesis: the server logged errors:"; grep -E 'ERROR|panicked' "$WORK/server.log" | head -20
  RC=1
fi
CASES=$(python3 - "$WORK/junit.xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
tests = sum(int(s.get("tests", 0)) for s in suites)
failures = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
print(f"{tests} operations, {failures} failing")
EOF
)
SUMMARY=$(grep -E '^[0-9]+ (test cases|passed|failed)|test cases generated|[0-9]+ passed' "$WORK/run.log" | tail -1 || true)
echo "schemathesis: $CASES; ${SUMMARY:-see log} (max $MAX_EXAMPLES examples per operation, seed 20261122)"
exit "$RC"
