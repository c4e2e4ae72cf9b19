# shellcheck shell=bash
# Sourced by scripts/test and scripts/dev: makes sure a Python with aiosmtpd (pinned in
# requirements.txt) exists in ${PRIKKE_TOOLS:-$HOME/.cache/prikke}/venv-smtp and exports
# PRIKKE_SMTP_SINK_PYTHON, which the tests and the dev stack use to run smtp_sink.py.
prikke_smtp_sink_ensure() {
  local here venv python
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  venv="${PRIKKE_TOOLS:-$HOME/.cache/prikke}/venv-smtp"
  python="$venv/bin/python"
  if ! "$python" -c 'import aiosmtpd' >/dev/null 2>&1; then
    echo "installing aiosmtpd into $venv" >&2
    python3 -m venv "$venv" && "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt" || return 1
  fi
  export PRIKKE_SMTP_SINK_PYTHON="$python"
  export PRIKKE_SMTP_SINK_SCRIPT="$here/smtp_sink.py"
}
