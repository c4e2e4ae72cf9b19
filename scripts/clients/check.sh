#!/usr/bin/env bash
# Checks the served OpenAPI document the way users' tools read it:
#   1. a real api-fn on a fresh database (scripts/api-fixture.sh), its /api/v1/openapi.json;
#   2. openapi-spec-validator: a valid OpenAPI 3.1 document;
#   3. redocly lint with scripts/clients/redocly.yaml: no error and no warning;
#   4. a TypeScript client (openapi-typescript types + openapi-fetch) generated into a scratch
#      directory; scripts/clients/smoke.ts type-checked with tsc --strict, compiled and run
#      against the api-fn (create a job, list, trigger, read the execution);
#   5. a Python client generated with openapi-python-client, installed into the tools' venv,
#      and scripts/clients/smoke.py doing the same through its typed methods.
# Pinned tools (requirements.txt, package.json here) are installed once under
# ${PRIKKE_TOOLS:-$HOME/.cache/prikke} (venv-clients, npm-clients) and reused while the pins
# stay. Generated code is build output: it lives in the scratch directory, removed on exit.
# Prints one summary line; exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TOOLS=${PRIKKE_TOOLS:-$HOME/.cache/prikke}
VENV="$TOOLS/venv-clients"
NPM="$TOOLS/npm-clients"

if ! cmp -s scripts/clients/requirements.txt "$VENV/prikke-requirements.txt" 2>/dev/null || [ ! -x "$VENV/bin/openapi-python-client" ]; then
  echo "clients: installing $(grep -v '^#' scripts/clients/requirements.txt | tr '\n' ' ')into $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/clients/requirements.txt
  cp scripts/clients/requirements.txt "$VENV/prikke-requirements.txt"
fi
npm_missing=$(node -e '
  const want = require(process.argv[1]).dependencies;
  for (const [name, version] of Object.entries(want)) {
    let have = null;
    try { have = require(`${process.argv[2]}/node_modules/${name}/package.json`).version; } catch {}
    if (have !== version) console.log(`${name}@${version}`);
  }' "$ROOT/scripts/clients/package.json" "$NPM")
if [ -n "$npm_missing" ]; then
  echo "clients: npm install $(echo $npm_missing) into $NPM" >&2
  mkdir -p "$NPM"
  cp scripts/clients/package.json "$NPM/package.json"
  (cd "$NPM" && npm install --no-audit --no-fund --loglevel=error)
fi
BIN_NPM="$NPM/node_modules/.bin"

# shellcheck source=scripts/api-fixture.sh
source scripts/api-fixture.sh
cargo build --quiet -p api-fn
API_BIN="${CARGO_TARGET_DIR:-target}/debug/api-fn"
api_fixture_db clients "$API_BIN"
# the generated Python package leaves the cached venv with the scratch directory
_clients_cleanup() {
  "$VENV/bin/pip" uninstall --quiet --yes prikke-client >/dev/null 2>&1 || true
  _api_fixture_cleanup
}
trap _clients_cleanup EXIT
api_fixture_start "$API_BIN" RUST_LOG=warn
DOC="$WORK/openapi.json"
curl -sSf "$BASE/api/v1/openapi.json" -o "$DOC"

fail() { echo "clients: $*"; exit 1; }

"$VENV/bin/openapi-spec-validator" "$DOC" >"$WORK/validator.log" 2>&1 || { cat "$WORK/validator.log"; fail "openapi-spec-validator found errors"; }

# (redocly prints a Node.js deprecation banner on stderr; the findings are on stdout)
"$BIN_NPM/redocly" lint --config scripts/clients/redocly.yaml --format json "$DOC" >"$WORK/lint.json" 2>"$WORK/lint.err" || true
LINT=$(python3 - "$WORK/lint.json" <<'PY'
import json, sys
try:
    report = json.load(open(sys.argv[1]))
except ValueError:
    print("unreadable"); sys.exit(0)
for p in report["problems"]:
    where = "; ".join(l.get("pointer", "") for l in p.get("location", []))
    print(f"  {p['severity']} {p['ruleId']}: {p['message']} at {where}", file=sys.stderr)
t = report["totals"]
print(f"{t['errors']} errors, {t['warnings']} warnings")
PY
)
[ "$LINT" = "0 errors, 0 warnings" ] || { tail -20 "$WORK/lint.err"; fail "redocly lint: $LINT"; }

# TypeScript: types from the document, the committed smoke script beside them, strict tsc, node.
TS="$WORK/ts"
mkdir -p "$TS"
ln -s "$NPM/node_modules" "$TS/node_modules"
"$BIN_NPM/openapi-typescript" "$DOC" -o "$TS/prikke.ts" --redocly scripts/clients/redocly.yaml >"$WORK/openapi-typescript.log" 2>&1 || { cat "$WORK/openapi-typescript.log"; fail "openapi-typescript failed"; }
cp scripts/clients/smoke.ts "$TS/smoke.ts"
echo '{"type": "module"}' >"$TS/package.json"
cat >"$TS/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "strict": true,
    "noUncheckedIndexedAccess": true,
    "exactOptionalPropertyTypes": true,
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "types": ["node"],
    "lib": ["ES2022", "DOM"],
    "outDir": "out"
  },
  "files": ["smoke.ts"]
}
JSON
(cd "$TS" && "$BIN_NPM/tsc" --noEmit -p tsconfig.json) || fail "typescript: smoke.ts does not type-check against the generated client"
(cd "$TS" && "$BIN_NPM/tsc" -p tsconfig.json) || fail "typescript: compiling smoke.ts failed"
PRIKKE_BASE_URL=$BASE PRIKKE_API_KEY=$KEY node "$TS/out/smoke.js" || fail "typescript: smoke.ts failed against api-fn"

# Python: generate, install into the venv (no dependencies: they are pinned above), run.
(cd "$WORK" && PATH="$VENV/bin:$PATH" "$VENV/bin/openapi-python-client" generate --path "$DOC" --config "$ROOT/scripts/clients/python-client.yaml" --meta setup --output-path "$WORK/py") >"$WORK/python-client.log" 2>&1 \
  || { cat "$WORK/python-client.log"; fail "openapi-python-client failed"; }
if grep -qiE 'warning|error' "$WORK/python-client.log"; then cat "$WORK/python-client.log"; fail "openapi-python-client warned: parts of the client are missing"; fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps --no-build-isolation --force-reinstall "$WORK/py" || fail "python: the generated client does not install"
PRIKKE_BASE_URL=$BASE PRIKKE_API_KEY=$KEY "$VENV/bin/python" scripts/clients/smoke.py || fail "python: smoke.py failed against api-fn"

if grep -qE '"level":"ERROR"|ERROR|panicked' "$WORK/server.log"; then
  grep -E 'ERROR|panicked' "$WORK/server.log" | head -20
  fail "the server logged errors"
fi
echo "clients: document valid (openapi-spec-validator), redocly lint $LINT, typescript ok (tsc --strict, smoke against api-fn), python ok (openapi-python-client, smoke against api-fn)"
