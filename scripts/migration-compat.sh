#!/usr/bin/env bash
# Migration compatibility (the expand/contract policy, README "Migration policy"): the previous
# release keeps running while a release's migrations are applied, so the previous release's own
# tests must pass against the schema the CURRENT migrations make.
#
#   scripts/migration-compat.sh                         previous release found from history (below)
#   PRIKKE_PREVIOUS_RELEASE=<rev> scripts/migration-compat.sh   any commit instead
#
# "Previous release" (there are no release tags): the first parent of the newest commit on the
# first-parent line of HEAD that changed migrations/, i.e. the code that ran just before the
# newest migrations arrived. On main that is the state before the merge that brought them; on a
# branch whose own commit adds a migration, the commit before it. Uncommitted migration files
# count as current (that is how the check below was shown to fail).
#
# How: the previous release is checked out with `git worktree add` (full history is present in
# a clean clone), its migrations/ is replaced by the current tree's files, and its tests are
# built and run. `sqlx::migrate!` embeds migrations/ at compile time and every database test
# (`#[sqlx::test(migrator = "store::MIGRATOR")]`) migrates its own database with it, so the old
# code runs against the new schema: its store tests, dispatcher engine tests and api-fn tests.
# Before that, every migration file the previous release has must be unchanged in the current
# tree (released migrations are never edited or deleted; sqlx would refuse the changed checksum).
#
# Nothing cached can make it pass falsely: the old tree is a fresh checkout (every file newer than
# any artifact), and its build is checked to embed exactly the current migrations (its own
# `api-fn migrate` applies them to an empty database, then the current tree's `api-fn migrate`
# finds each one applied with the same checksum and nothing left to do). The build shares the
# target directory so dependencies compile once; the old tree's crates get their own artifacts
# (another path, other hashes), and the binaries it copies to target/debug/ are put back from
# the current tree at the end.
#
# Shown to fail: with an uncommitted contracting migration added to the current tree,
#   migrations/20261205000013_drop_response_body.sql: ALTER TABLE executions DROP COLUMN response_body;
# the previous release's tests that record or read a delivery's response fail (column
# "response_body" does not exist) and this step fails.
#
# Prints: migration-compat: previous release <sha>, N of its tests passed against M migrations
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
: "${DATABASE_URL:?DATABASE_URL must name a Postgres server (scripts/pg.sh sets it)}"

# the alert tests send to a real SMTP server (scripts/test has set this up; alone, set it up here)
if [ -z "${PRIKKE_SMTP_SINK_PYTHON:-}" ]; then
  # shellcheck source=scripts/smtp-sink/ensure.sh
  source scripts/smtp-sink/ensure.sh && prikke_smtp_sink_ensure || exit 1
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  export PATH="${PRIKKE_TOOLS:-$HOME/.cache/prikke}/bin:$PATH"
  cargo nextest --version >/dev/null 2>&1 \
    || cargo install cargo-nextest --locked --root "${PRIKKE_TOOLS:-$HOME/.cache/prikke}" || exit 1
fi

if [ -n "${PRIKKE_PREVIOUS_RELEASE:-}" ]; then
  prev=$(git rev-parse --verify --quiet "${PRIKKE_PREVIOUS_RELEASE}^{commit}") \
    || { echo "migration-compat: PRIKKE_PREVIOUS_RELEASE=$PRIKKE_PREVIOUS_RELEASE is not a commit" >&2; exit 1; }
else
  newest=$(git log --first-parent -1 --format=%H HEAD -- migrations/)
  [ -n "$newest" ] || { echo "migration-compat: no commit changed migrations/" >&2; exit 1; }
  [ "$(git rev-parse --is-shallow-repository)" = false ] \
    || { echo "migration-compat: needs the full history (git fetch --unshallow)" >&2; exit 1; }
  prev=$(git rev-parse --verify --quiet "$newest^1") \
    || { echo "migration-compat: $newest is the first commit (nothing ran before its migrations)"; exit 0; }
fi
short=$(git rev-parse --short "$prev")
echo "migration-compat: previous release $prev ($(git log -1 --format=%s "$prev" | cut -c1-80))"

# Forward-only: the previous release's migrations are all here, byte for byte.
changed=0
while IFS= read -r f; do
  if [ ! -f "$f" ]; then echo "migration-compat: $f was released and is gone" >&2; changed=1
  elif ! git show "$prev:$f" | cmp -s - "$f"; then echo "migration-compat: $f was released and is changed" >&2; changed=1; fi
done < <(git ls-tree --name-only "$prev" migrations/ | grep '\.sql$')
[ "$changed" = 0 ] || { echo "migration-compat: released migrations are never edited or removed; add a new one" >&2; exit 1; }
mapfile -t current < <(ls migrations/*.sql)
M=${#current[@]}
new=$(comm -13 <(git ls-tree --name-only "$prev" migrations/ | grep '\.sql$' | sort) <(printf '%s\n' "${current[@]}" | sort) | xargs -r -n1 basename | paste -sd ' ')
echo "migration-compat: new since then: ${new:-(none)}"

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case "$TARGET" in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
export CARGO_TARGET_DIR=$TARGET
TREE=$TARGET/migration-compat/tree
DB="prikke_compat_$$"
DB_URL="${DATABASE_URL%/*}/$DB"
cleanup() {
  psql -qX "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
  git worktree remove --force "$TREE" >/dev/null 2>&1
  rm -rf "$TREE"; git worktree prune
  # the old tree's build copied its api-fn and dispatcher binaries to target/debug/: put back this
  # tree's (built as the other steps build them, so their artifacts are reused)
  (cd "$ROOT" && cargo build --quiet -p api-fn && cargo build --quiet -p dispatcher) || echo "migration-compat: could not rebuild this tree's binaries" >&2
}
trap cleanup EXIT

git worktree remove --force "$TREE" >/dev/null 2>&1; rm -rf "$TREE"; git worktree prune
mkdir -p "$(dirname "$TREE")"
git worktree add --detach --quiet "$TREE" "$prev" || exit 1
rm -rf "$TREE/migrations" && cp -R migrations "$TREE/migrations" || exit 1

# The tests that touch the schema: store's (unit tests with databases), the dispatcher's engine
# tests (its own SQL end to end; not the chaos and fairness ones, which test restarts and
# timings, not the schema) and every api-fn test (the router against its database). One cargo
# invocation, so dependencies resolve their features once.
tests=()
for f in "$TREE"/dispatcher/tests/engine_*.rs "$TREE"/api-fn/tests/*.rs; do
  [ -f "$f" ] || continue
  name=$(basename "$f" .rs)
  case "$name" in engine_chaos | engine_fairness) continue ;; esac
  tests+=(--test "$name")
done
# Left out by name: tests that hold the schema and the code in lockstep, which an expand
# migration breaks on purpose (the old code's list of names no longer equals the schema's).
# the_schema_allows_no_name_the_domain_lacks (before 2026-12-06 the same check and its other
# half were one test, every_stored_enum_allows_exactly_the_domains_names): the schema's CHECK
# lists may grow past the old code's enums; that every name the old code has is allowed is the
# other half, every_name_the_domain_has_is_allowed_by_the_schema, which runs.
lockstep='test(=schema_names::tests::the_schema_allows_no_name_the_domain_lacks) | test(=schema_names::tests::every_stored_enum_allows_exactly_the_domains_names)'
filter="((package(store) & kind(lib)) | (package(dispatcher) & kind(test)) | (package(api-fn) & kind(test))) & !($lockstep)"

cd "$TREE" || exit 1
log=$TARGET/migration-compat/nextest.log
rc=0
cargo nextest run --no-fail-fast -p store -p dispatcher -p api-fn --lib "${tests[@]}" -E "$filter" 2>&1 | tee "$log" | grep -vE '^\s+(PASS|SKIP) '
[ "${PIPESTATUS[0]}" = 0 ] || rc=1
cd "$ROOT" || exit 1

# The old build embeds exactly the current migrations: its `migrate` applies all M to an empty
# database, and this tree's `migrate` then finds every checksum equal and nothing to apply.
psql -qX "$DATABASE_URL" -c "CREATE DATABASE $DB" || exit 1
RUST_LOG=warn "$TARGET/debug/api-fn" migrate --database-url "$DB_URL" >/dev/null || { echo "migration-compat: the previous release's migrate failed" >&2; rc=1; }
by_old=$(psql -tAX "$DB_URL" -c "SELECT count(*) FROM _sqlx_migrations WHERE success")
RUST_LOG=warn cargo run --quiet -p api-fn -- migrate --database-url "$DB_URL" >/dev/null || { echo "migration-compat: this tree's migrate refused what the previous release applied" >&2; rc=1; }
by_both=$(psql -tAX "$DB_URL" -c "SELECT count(*) FROM _sqlx_migrations WHERE success")
if [ "$by_old" != "$M" ] || [ "$by_both" != "$M" ]; then
  echo "migration-compat: the previous release's build applied $by_old migrations, $by_both after this tree's; expected $M" >&2; rc=1
fi

passed=$(grep -E '^\s+Summary ' "$log" | grep -oE '[0-9]+ passed' | awk '{s += $1} END {print s + 0}')
grep -qE '^\s+Summary ' "$log" || { echo "migration-compat: the previous release's tests did not run" >&2; rc=1; }
[ "$passed" -gt 0 ] || rc=1
[ "$rc" = 0 ] && echo "migration-compat: previous release $short, $passed of its tests passed against $M migrations"
[ "$rc" = 0 ] || echo "migration-compat: FAILED: previous release $short against $M migrations ($passed of its tests passed)"
exit "$rc"
