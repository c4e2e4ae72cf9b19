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

# shellcheck source=scripts/api-fixture.sh
source scripts/api-fixture.sh
cargo build --quiet -p api-fn
BIN="${CARGO_TARGET_DIR:-target}/debug/api-fn"
api_fixture_db schemathesis "$BIN"
# Rate limits high enough for the fuzzer; the limiter itself still runs on every request.
api_fixture_start "$BIN" PRIKKE_API_RATE_PER_MINUTE=1000000 PRIKKE_PING_RATE_PER_MINUTE=1000000 PRIKKE_AUTH_FAILURE_RATE_PER_MINUTE=0 RUST_LOG=warn

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
