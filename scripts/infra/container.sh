#!/usr/bin/env bash
# Proves infra/dispatcher/Dockerfile without Docker: runs its own commands, read from the file so
# this cannot drift from it, and then runs the image's entrypoint the way the container does.
#
# 1. Build stage: copies the checkout (COPY . .) into a build directory standing in for WORKDIR,
#    ${CARGO_TARGET_DIR:-target}/container/src (its target/ is kept between runs, and no other
#    step uses it), and runs the stage's RUN there with sh -c in a clean environment, as docker
#    build does. The Rust version and Debian release must match the FROM lines.
# 2. Runtime stage: installs the packages its RUN installs with apt-get when missing and creates
#    its user with its useradd command when absent; puts the COPY'd binaries into a root of their
#    own, and starts ENTRYPOINT + CMD as USER with a container's clean environment: the
#    Dockerfile's ENV, then koyeb.yaml's values (as Koyeb sets them), its secrets given real local
#    values (a fresh database migrated with the image's own `api-fn migrate`, generated master
#    keys, a real SMTP sink), and PRIKKE_ALLOW_PRIVATE_TARGETS=127.0.0.1/32 (the SSRF guard's
#    documented allow-list) so a receiver on this machine may be called.
# 3. Asserts: the dispatcher and tini run as the image's user (uid from /proc); koyeb.yaml's HTTP
#    health check (port and path read from it) answers 200; a delivery held in flight by a real
#    receiver survives SIGTERM to tini: the dispatcher is still running when the receiver answers,
#    the execution is recorded as a success on its first attempt, and the process exits 0 within
#    PRIKKE_SHUTDOWN_GRACE_SECS.
# Differences from a real container, said plainly: the network, file system and PID namespace
# are the host's (tini is not PID 1, so it warns that it cannot reap zombies), and the host's
# Debian and Rust stand in for the images'. Needs root (apt-get, useradd, changing user).
# Prints one summary line; exits non-zero on any problem.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DOCKERFILE=infra/dispatcher/Dockerfile
KOYEB=infra/dispatcher/koyeb.yaml
fail() { echo "container: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (it installs packages, creates the image's user and runs the dispatcher as it)"

# shellcheck source=scripts/infra/venv.sh
source scripts/infra/venv.sh
prikke_infra_venv
df=$(python3 scripts/infra/dockerfile.py "$DOCKERFILE") || fail "cannot read $DOCKERFILE"
eval "$df"

# --- the images' toolchain and distribution are the ones on this machine -------------------
want_rust=$(sed -nE 's/^rust:([0-9]+\.[0-9]+).*/\1/p' <<<"$DF_BUILD_FROM")
have_rust=$(rustc --version | sed -nE 's/^rustc ([0-9]+\.[0-9]+).*/\1/p')
[ -n "$want_rust" ] || fail "the build stage's FROM ($DF_BUILD_FROM) is not a rust:<version> image"
[ "$want_rust" = "$have_rust" ] || fail "$DOCKERFILE builds with Rust $want_rust ($DF_BUILD_FROM) but this machine has $have_rust: change one to match the other"
# shellcheck disable=SC1091
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
for image in "$DF_BUILD_FROM" "$DF_RUN_FROM"; do
  [[ "$image" == *"$codename"* ]] || fail "$image is not Debian $codename, which this machine runs"
done

# --- build stage --------------------------------------------------------------------------
stage="${CARGO_TARGET_DIR:-$ROOT/target}/container"
src="$stage/src"
mkdir -p "$src"
find "$src" -mindepth 1 -maxdepth 1 ! -name target -exec rm -rf {} +
# COPY . . of a clean checkout: the tracked and untracked-but-not-ignored files, times kept so
# cargo's cache in $src/target stays valid
git ls-files -z -co --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$src"
echo "container: build stage: $DF_BUILD_RUN" >&2
t0=$SECONDS
(cd "$src" && env -i PATH="$PATH" HOME="$HOME" ${CARGO_HOME:+CARGO_HOME="$CARGO_HOME"} ${RUSTUP_HOME:+RUSTUP_HOME="$RUSTUP_HOME"} \
  CARGO_TERM_COLOR=never sh -c "$DF_BUILD_RUN") || fail "the build stage's RUN failed"
build_secs=$((SECONDS - t0))

# --- runtime stage: packages and user as its RUN makes them --------------------------------
IFS=$'\n' read -r -d '' -a parts < <(sed 's/ *&& */\n/g' <<<"$DF_RUN_RUN" && printf '\0')
packages=() useradd=()
for part in "${parts[@]}"; do
  read -r -a words <<<"$part"
  case "$part" in
    "apt-get update"*|"rm -rf /var/lib/apt/lists/"*) ;;  # what install does when needed; lists stay
    "apt-get install "*) for w in "${words[@]:2}"; do [[ "$w" == -* ]] || packages+=("$w"); done ;;
    "useradd "*) useradd=("${words[@]}") ;;
    *) fail "the runtime stage's RUN does something this check does not reproduce: $part" ;;
  esac
done
[ "${#useradd[@]}" -gt 0 ] || fail "the runtime stage creates no user; the check expects the image not to run as root"
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "container: installing ${missing[*]} (apt, as the runtime stage does)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || fail "apt-get could not install ${missing[*]}"
fi
user_name=${useradd[-1]}
want_uid=$(sed -nE 's/.*--uid[ =]([0-9]+).*/\1/p' <<<"${useradd[*]}")
[ "$DF_USER" = "$user_name" ] || fail "USER $DF_USER is not the user the runtime stage creates ($user_name)"
if ! id "$user_name" >/dev/null 2>&1; then
  "${useradd[@]}" || fail "${useradd[*]} failed"
fi
uid=$(id -u "$user_name") gid=$(id -g "$user_name")
[ -z "$want_uid" ] || [ "$uid" = "$want_uid" ] || fail "user $user_name exists here with uid $uid, not the image's $want_uid"

# --- work area, cleanup --------------------------------------------------------------------
work=$(mktemp -d /tmp/prikke-container.XXXXXX)
chmod 755 "$work"
db="prikke_container_$$"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "${DATABASE_URL:-}" ]; then psql -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
  if declare -F prikke_pg_stop >/dev/null; then prikke_pg_stop; fi
}
trap cleanup EXIT
# waits (up to $3 seconds) until file $1 has a line matching $2, or fails showing $4's tail
wait_for() {
  local deadline=$((SECONDS + $3))
  until grep -qE "$2" "$1" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "--- ${4:-$1}" >&2; tail -20 "${4:-$1}" >&2; fail "no line matching '$2' in $1 after $3 s"; }
    sleep 0.05
  done
}

# the image's file system: each COPY --from=build to its path under $work/rootfs
for copy in "${DF_COPIES[@]}"; do
  IFS=: read -r from source dest <<<"$copy"
  [ "$from" = "$DF_BUILD_NAME" ] || fail "COPY from '$from' is not from the build stage"
  mkdir -p "$work/rootfs$(dirname "$dest")"
  install -m 755 "$src${source#"$DF_BUILD_WORKDIR"}" "$work/rootfs$dest"
done
chmod -R a+rX "$work/rootfs"
image_path="$work/rootfs/usr/local/sbin:$work/rootfs/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
api_fn="$work/rootfs/usr/local/bin/api-fn"

# --- real services: Postgres, SMTP sink, receiver --------------------------------------------
if [ -z "${DATABASE_URL:-}" ] || ! pg_isready -q -d "$DATABASE_URL" -t 3 2>/dev/null; then
  # shellcheck source=scripts/pg.sh
  source scripts/pg.sh
  prikke_pg_ensure || fail "no Postgres"
fi
# shellcheck source=scripts/smtp-sink/ensure.sh
source scripts/smtp-sink/ensure.sh
prikke_smtp_sink_ensure || fail "no SMTP sink"
"$PRIKKE_SMTP_SINK_PYTHON" "$PRIKKE_SMTP_SINK_SCRIPT" >"$work/smtp.out" 2>"$work/smtp.err" & pids+=($!)
mkfifo "$work/release"
"$INFRA_PYTHON" scripts/infra/held_receiver.py <"$work/release" >"$work/receiver.out" 2>"$work/receiver.err" & pids+=($!)
exec 7>"$work/release" # held open: each line written releases one held request
wait_for "$work/smtp.out" '^listening on ' 20 "$work/smtp.err"
wait_for "$work/receiver.out" '^listening on ' 20 "$work/receiver.err"
smtp=$(sed -n 's/^listening on //p' "$work/smtp.out")
receiver=$(sed -n 's/^listening on //p' "$work/receiver.out")

# the release step: the image's api-fn migrates a fresh database; an organization to deliver for
keys="k1:$(openssl rand -base64 32)"
url="${DATABASE_URL%/*}/$db"
psql -q "$DATABASE_URL" -c "CREATE DATABASE $db" || fail "cannot create database $db"
"$api_fn" migrate --database-url "$url" 2>"$work/migrate.log" || { cat "$work/migrate.log" >&2; fail "api-fn migrate failed"; }
PRIKKE_ENV=production PRIKKE_ENCRYPTION_KEYS="$keys" "$api_fn" create-org --slug container --name container --tier pro --database-url "$url" >"$work/org.json" 2>"$work/org.log" \
  || { cat "$work/org.log" >&2; fail "api-fn create-org failed"; }
api_key=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["api_key"])' "$work/org.json")
# api-fn serves the queue API locally (test settings, the same master keys)
env DATABASE_URL="$url" PRIKKE_ENV=test PRIKKE_BIND=127.0.0.1:0 PRIKKE_MIGRATE=false PRIKKE_ENCRYPTION_KEYS="$keys" \
  "$api_fn" >"$work/api.out" 2>"$work/api.err" & pids+=($!)
wait_for "$work/api.out" '^listening on ' 20 "$work/api.err"
api=$(sed -n 's/^listening on //p' "$work/api.out")

# --- the container's environment: Dockerfile ENV, then koyeb.yaml's, secrets filled in --------
# shellcheck disable=SC2016
koyeb=$("$INFRA_PYTHON" -c '
import shlex, sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
checks = [c["http"] for c in d.get("health_checks") or [] if "http" in c]
if len(checks) != 1:
    sys.exit("koyeb.yaml: expected one HTTP health check")
print("health_port=%d health_path=%s" % (checks[0]["port"], shlex.quote(checks[0]["path"])))
print("koyeb_values=(%s)" % " ".join(shlex.quote(e["key"] + "=" + e["value"]) for e in d.get("env", []) if "value" in e))
print("koyeb_secrets=(%s)" % " ".join(shlex.quote(e["key"]) for e in d.get("env", []) if "secret" in e))
' "$KOYEB") || fail "cannot read $KOYEB"
eval "$koyeb"
sha=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
declare -A secret_values=([DATABASE_URL]="$url" [PRIKKE_ENCRYPTION_KEYS]="$keys" [PRIKKE_SMTP_URL]="smtp://$smtp")
container_env=(PATH="$image_path" HOME=/ HOSTNAME=container-check "${DF_ENV[@]}")
for kv in "${koyeb_values[@]}"; do container_env+=("${kv//\$\{PRIKKE_SHA\}/$sha}"); done
for key in "${koyeb_secrets[@]}"; do
  [ -n "${secret_values[$key]+set}" ] || fail "koyeb.yaml takes $key from a secret this check has no local value for; add one here"
  container_env+=("$key=${secret_values[$key]}")
done
container_env+=(PRIKKE_ALLOW_PRIVATE_TARGETS=127.0.0.1/32)
grace=$(env -i "${container_env[@]}" sh -c 'echo "${PRIKKE_SHUTDOWN_GRACE_SECS:-25}"')
bind=$(env -i "${container_env[@]}" sh -c 'echo "${PRIKKE_DISPATCHER_BIND:-127.0.0.1:9090}"')
[ "${bind##*:}" = "$health_port" ] || fail "the dispatcher binds $bind but koyeb.yaml checks port $health_port"
[[ " ${DF_EXPOSE[*]} " == *" $health_port "* ]] || fail "koyeb.yaml checks port $health_port, which $DOCKERFILE does not EXPOSE (${DF_EXPOSE[*]})"
if "$INFRA_PYTHON" -c 'import socket, sys; s = socket.socket(); s.connect(("127.0.0.1", int(sys.argv[1])))' "$health_port" 2>/dev/null; then
  fail "port $health_port is in use on this machine; the check runs the container on the host's network"
fi

# --- run the entrypoint as the image's user ---------------------------------------------------
(cd / && exec setpriv --reuid="$uid" --regid="$gid" --init-groups env -i "${container_env[@]}" "${DF_ENTRYPOINT[@]}" "${DF_CMD[@]}") \
  >"$work/dispatcher.out" 2>"$work/dispatcher.err" &
tini=$!
pids+=("$tini")
wait_for "$work/dispatcher.out" '^listening on ' 30 "$work/dispatcher.err"
dispatcher=$(cat "/proc/$tini/task/$tini/children" 2>/dev/null | awk '{print $1}')
[ -n "$dispatcher" ] || fail "tini ($tini) has no child process"
[ "$(tr '\0' ' ' <"/proc/$dispatcher/cmdline")" = "${DF_CMD[*]} " ] || fail "tini's child is not '${DF_CMD[*]}': $(tr '\0' ' ' <"/proc/$dispatcher/cmdline")"
for pid in "$tini" "$dispatcher"; do
  uids=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$pid/status")
  [ "$uids" = "$uid $uid $uid $uid" ] || fail "process $pid runs with uids '$uids' (real, effective, saved, fs), not $uid ($user_name)"
done
code=$(curl -s -o "$work/health.json" -w '%{http_code}' "http://127.0.0.1:$health_port$health_path")
[ "$code" = 200 ] || { cat "$work/health.json" >&2; fail "koyeb.yaml's health check GET :$health_port$health_path answered $code, not 200"; }

# --- SIGTERM with a delivery in flight ----------------------------------------------------------
curl -sf -o "$work/queued.json" -X POST "$api/api/v1/queue" -H "Authorization: Bearer $api_key" -H 'content-type: application/json' \
  -d "{\"url\": \"http://$receiver/held\", \"method\": \"POST\", \"body\": \"{}\", \"timeout_secs\": 60}" \
  || fail "POST /api/v1/queue failed: $(cat "$work/queued.json" 2>/dev/null)"
execution=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$work/queued.json")
wait_for "$work/receiver.out" '^held POST /held' 30 "$work/dispatcher.err"
kill -TERM "$tini"
term_at=$(date +%s.%N)
wait_for "$work/dispatcher.err" 'shutdown requested' 10 "$work/dispatcher.err"
kill -0 "$dispatcher" 2>/dev/null || fail "the dispatcher exited on SIGTERM without waiting for the delivery in flight"
echo released >&7 # the receiver answers now; whether the dispatcher was still there to hear it shows below
deadline=$((SECONDS + grace + 5))
while kill -0 "$tini" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
kill -0 "$tini" 2>/dev/null && { kill -KILL "$tini"; fail "still running $((grace + 5)) s after SIGTERM (PRIKKE_SHUTDOWN_GRACE_SECS=$grace)"; }
rc=0; wait "$tini" || rc=$?
drain=$(python3 -c "import sys, time; print(f'{time.time() - float(sys.argv[1]):.2f}')" "$term_at")
[ "$rc" = 0 ] || { tail -20 "$work/dispatcher.err" >&2; fail "exited with status $rc after SIGTERM, not 0"; }
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" "$drain" "$grace" \
  || fail "took $drain s to exit after SIGTERM, not within PRIKKE_SHUTDOWN_GRACE_SECS=$grace"
curl -sf -o "$work/execution.json" "$api/api/v1/executions/$execution" -H "Authorization: Bearer $api_key" || fail "GET the execution failed"
outcome=$(python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))
print(e["status"], e["attempt"], (e.get("response") or {}).get("status"))' "$work/execution.json")
[ "$outcome" = "success 1 200" ] || { cat "$work/execution.json" >&2; fail "the delivery in flight at SIGTERM was recorded as '$outcome' (status, attempt, response), not 'success 1 200'"; }

size=$(stat -c %s "$work/rootfs/usr/local/bin/dispatcher")
echo "container: $DOCKERFILE's build ($build_secs s) and entrypoint ran as uid $uid ($user_name); :$health_port$health_path answered 200; SIGTERM with a delivery in flight drained it (success, 200) and exited 0 in $drain s (grace $grace s); dispatcher $((size / 1024)) KiB stripped"
