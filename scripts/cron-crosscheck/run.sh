#!/usr/bin/env bash
# Cross-checks domain::schedule against Python's croniter: the cron_dump example prints the next
# runs of several hundred generated expressions, compare.py recomputes them with croniter and
# fails on any disagreement that is not a documented difference (see compare.py).
#
# The venv is kept in ${PRIKKE_TOOLS:-$HOME/.cache/prikke}/venv-cron and reused; the pinned
# packages in requirements.txt are installed from PyPI only when missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${PRIKKE_TOOLS:-$HOME/.cache/prikke}/venv-cron"
python="$venv/bin/python"

pinned_packages_present() {
  [ -x "$python" ] && "$python" - "$here/requirements.txt" <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version

for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if line:
        name, wanted = line.split("==")
        try:
            if version(name) != wanted:
                sys.exit(1)
        except PackageNotFoundError:
            sys.exit(1)
PY
}

if ! pinned_packages_present; then
  echo "installing croniter into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi

started=$SECONDS
dump="$(mktemp)"
trap 'rm -f "$dump"' EXIT
(cd "$root" && cargo run -q -p domain --example cron_dump) > "$dump"
status=0
"$python" "$here/compare.py" < "$dump" || status=$?
echo "cron cross-check took $((SECONDS - started)) s"
exit "$status"
