# shellcheck shell=bash
# Sourced by the dev and test scripts: makes sure a Postgres server answers and exports
# DATABASE_URL (a server URL; tests create and drop their own databases on it).
#
# Order of preference:
#   1. $DATABASE_URL, when it answers;
#   2. the machine's server on 127.0.0.1:5432 (trust auth, user postgres);
#   3. a throwaway cluster started here with the machine's Postgres binaries, as a non-root OS
#      user, on port ${PRIKKE_PG_PORT:-55432}; it is stopped by `prikke_pg_stop` (the callers trap it).
# If no Postgres binaries exist, it says exactly what to install and fails.

prikke_pg_answers() { pg_isready -q -d "$1" -t 3 2>/dev/null; }

# The directory with initdb and pg_ctl: $PRIKKE_PG_BIN, the one on PATH, else the newest installed
# version (the chaos tests' throwaway cluster looks in the same order).
prikke_pg_bin() {
  local d
  for d in "${PRIKKE_PG_BIN:-/nonexistent}" "$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)")" \
           $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV) /usr/local/pgsql/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  done
  return 1
}

prikke_pg_ensure() {
  if ! command -v pg_isready >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
    echo "pg.sh: the Postgres client tools are missing. Install them with: apt-get install -y postgresql postgresql-client" >&2
    return 1
  fi
  local found
  found=$(prikke_pg_bin) && export PRIKKE_PG_BIN="$found"
  if [ -n "${DATABASE_URL:-}" ] && prikke_pg_answers "$DATABASE_URL"; then
    echo "pg.sh: using DATABASE_URL from the environment" >&2; return 0
  fi
  local local_url="postgres://postgres@127.0.0.1:5432/postgres"
  if prikke_pg_answers "$local_url"; then
    export DATABASE_URL="$local_url"; echo "pg.sh: using the server on 127.0.0.1:5432" >&2; return 0
  fi
  local bin port user
  bin=$(prikke_pg_bin) || {
    echo "pg.sh: no Postgres server answers and no Postgres binaries were found." >&2
    echo "pg.sh: install them with: apt-get install -y postgresql   (or set DATABASE_URL to a server)" >&2
    return 1
  }
  port=${PRIKKE_PG_PORT:-55432}
  PRIKKE_PG_DIR=$(mktemp -d /tmp/prikke-pg.XXXXXX)
  export PRIKKE_PG_DIR PRIKKE_PG_BIN="$bin"
  user=$(id -un)
  if [ "$(id -u)" = 0 ]; then
    # initdb refuses to run as root: use the distribution's postgres user, or make one.
    if id postgres >/dev/null 2>&1; then user=postgres; else useradd --system --no-create-home prikke-pg && user=prikke-pg; fi
    chown "$user" "$PRIKKE_PG_DIR"
  fi
  export PRIKKE_PG_USER="$user"
  echo "pg.sh: starting a throwaway cluster in $PRIKKE_PG_DIR on 127.0.0.1:$port as $user" >&2
  prikke_pg_as "$bin/initdb" -D "$PRIKKE_PG_DIR/data" -U postgres --auth=trust -E UTF8 >"$PRIKKE_PG_DIR/initdb.log" 2>&1 \
    || { cat "$PRIKKE_PG_DIR/initdb.log" >&2; return 1; }
  prikke_pg_as "$bin/pg_ctl" -D "$PRIKKE_PG_DIR/data" -l "$PRIKKE_PG_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PRIKKE_PG_DIR -c max_connections=300 -c fsync=off" start >/dev/null \
    || { cat "$PRIKKE_PG_DIR/server.log" >&2; return 1; }
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

prikke_pg_as() {
  if [ "$(id -un)" = "$PRIKKE_PG_USER" ]; then "$@"; else runuser -u "$PRIKKE_PG_USER" -- "$@"; fi
}

# Stops the throwaway cluster, if this shell started one.
prikke_pg_stop() {
  if [ -n "${PRIKKE_PG_DIR:-}" ] && [ -d "$PRIKKE_PG_DIR/data" ]; then
    prikke_pg_as "$PRIKKE_PG_BIN/pg_ctl" -D "$PRIKKE_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PRIKKE_PG_DIR"
  fi
}
