#!/usr/bin/env bash
# Checks the deployment files with what their platforms use, as far as this machine allows:
# - infra/lambda/template.yaml with cfn-lint (AWS's own linter; pinned in requirements.txt,
#   installed into ${PRIKKE_TOOLS:-$HOME/.cache/prikke}/venv-infra);
# - every setting a service refuses to start without in production (read from the services' own
#   "… is required in production" messages, so the list cannot drift from the code) is set by
#   the file that deploys it: api-fn's by the Lambda template, the dispatcher's by koyeb.yaml.
# Prints one summary line; exits non-zero on any problem.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="${PRIKKE_TOOLS:-$HOME/.cache/prikke}/venv-infra"
want=$(cat scripts/infra/requirements.txt)
if [ "$("$venv/bin/cfn-lint" --version 2>/dev/null || true)" != "cfn-lint ${want#cfn-lint==}" ]; then
  echo "installing $want into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/infra/requirements.txt
fi
problems=0
if ! "$venv/bin/cfn-lint" infra/lambda/template.yaml; then
  echo "infra: cfn-lint found problems in infra/lambda/template.yaml" >&2
  problems=$((problems + 1))
fi
required() { grep -rhoE '[A-Z][A-Z_]+ is required in production' "$@" | cut -d' ' -f1 | sort -u; }
check() { # check <deploy file> <sources…>: each required setting appears as a variable there
  local file=$1; shift
  for var in DATABASE_URL $(required "$@"); do
    if ! grep -qE "^[[:space:]]*(- key: )?$var(:|$)" "$file"; then
      echo "infra: $file does not set $var, which the service requires in production" >&2
      problems=$((problems + 1))
    fi
  done
}
check infra/lambda/template.yaml api-fn/src/config.rs store/src/keyring.rs
check infra/dispatcher/koyeb.yaml dispatcher/src/config.rs store/src/keyring.rs
n_api=$(($(required api-fn/src/config.rs store/src/keyring.rs | wc -l) + 1))
n_dispatcher=$(($(required dispatcher/src/config.rs store/src/keyring.rs | wc -l) + 1))
if [ "$problems" -gt 0 ]; then
  echo "infra: $problems problems"
  exit 1
fi
echo "infra: cfn-lint clean; the Lambda template sets api-fn's $n_api and koyeb.yaml the dispatcher's $n_dispatcher settings required in production"
