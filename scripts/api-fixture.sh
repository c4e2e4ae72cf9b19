# Sourced by the scripts that run a real api-fn on a fresh database of their own
# (api-schema-test.sh, bench-api.sh). Sourcing finds Postgres ($DATABASE_URL, else scripts/pg.sh).
#
#   api_fixture_db LABEL BIN      a scratch directory $WORK and a fresh, migrated database $DB at
#                                 $URL holding one Pro organization, whose API key is in $KEY;
#                                 all of it (and a running server) is removed on exit
#   api_fixture_start BIN [VAR=VALUE ...]
#                                 runs the server with the test settings plus those variables,
#                                 waits for its "listening on" line; sets $BASE and $SERVER_PID
#   api_fixture_stop              stops the server
if [ -z "${DATABASE_URL:-}" ] || ! pg_isready -q -d "$DATABASE_URL" -t 3 2>/dev/null; then
  # shellcheck source=scripts/pg.sh
  source scripts/pg.sh
  trap prikke_pg_stop EXIT
  prikke_pg_ensure
fi

SERVER_PID=""
api_fixture_stop() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; fi
}

_api_fixture_cleanup() {
  api_fixture_stop
  psql -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
  if declare -F prikke_pg_stop >/dev/null; then prikke_pg_stop; fi
}

api_fixture_db() {
  local label=$1 bin=$2
  WORK=$(mktemp -d "/tmp/prikke-$label.XXXXXX")
  DB="prikke_${label}_$$"
  URL="${DATABASE_URL%/*}/$DB"
  trap _api_fixture_cleanup EXIT
  psql -q "$DATABASE_URL" -c "CREATE DATABASE $DB"
  "$bin" migrate --database-url "$URL" 2>/dev/null
  KEY=$("$bin" create-org --slug "$label" --name "$label" --tier pro --database-url "$URL" 2>/dev/null \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])')
}

api_fixture_start() {
  local bin=$1; shift
  env DATABASE_URL="$URL" PRIKKE_ENV=test PRIKKE_BIND=127.0.0.1:0 PRIKKE_MIGRATE=false "$@" \
    "$bin" >"$WORK/stdout" 2>"$WORK/server.log" &
  SERVER_PID=$!
  for _ in $(seq 100); do
    grep -q '^listening on ' "$WORK/stdout" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  BASE=$(sed -n 's/^listening on //p' "$WORK/stdout")
  [ -n "$BASE" ] || { echo "api-fn did not start:" >&2; cat "$WORK/server.log" >&2; exit 1; }
}
