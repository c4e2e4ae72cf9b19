# shellcheck shell=bash
# Sourced by check.sh and container.sh: makes the Python venv with the pinned tools of
# requirements.txt (cfn-lint, jsonschema, pyyaml) in ${PRIKKE_TOOLS:-$HOME/.cache/prikke}/venv-infra,
# remade whenever requirements.txt differs from what it was made from; sets $INFRA_PYTHON.
prikke_infra_venv() {
  local here venv
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  venv="${PRIKKE_TOOLS:-$HOME/.cache/prikke}/venv-infra"
  if ! cmp -s "$here/requirements.txt" "$venv/requirements.txt" 2>/dev/null; then
    echo "installing $(tr '\n' ' ' <"$here/requirements.txt")into $venv" >&2
    python3 -m venv "$venv" \
      && "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt" \
      && cp "$here/requirements.txt" "$venv/requirements.txt" || return 1
  fi
  INFRA_VENV=$venv
  INFRA_PYTHON=$venv/bin/python
}
