#!/usr/bin/env bash
# Checks the deployment files with what their platforms use, as far as this machine allows:
# - infra/lambda/template.yaml with cfn-lint (AWS's own linter; pinned in requirements.txt,
#   installed into ${PRIKKE_TOOLS:-$HOME/.cache/prikke}/venv-infra);
# - infra/dispatcher/koyeb.yaml against the fields Koyeb documents (koyeb.schema.json, which cites
#   its sources; Koyeb has no offline validator), and first a misspelt copy of it, which must be
#   refused, so the check is known to check something;
# - every setting a service refuses to start without in production (read from the services' own
#   "… is required in production" messages, so the list cannot drift from the code) is set by
#   the file that deploys it: api-fn's by the Lambda template, the dispatcher's by koyeb.yaml.
# Prints one summary line; exits non-zero on any problem.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/infra/venv.sh
source scripts/infra/venv.sh
prikke_infra_venv
venv=$INFRA_VENV
problems=0
if ! "$venv/bin/cfn-lint" infra/lambda/template.yaml; then
  echo "infra: cfn-lint found problems in infra/lambda/template.yaml" >&2
  problems=$((problems + 1))
fi
koyeb() { "$venv/bin/python" scripts/infra/koyeb_validate.py scripts/infra/koyeb.schema.json "$1"; }
misspelt=$(mktemp /tmp/prikke-koyeb.XXXXXX.yaml)
trap 'rm -f "$misspelt"' EXIT
sed 's/^instance_types:/instance_type:/' infra/dispatcher/koyeb.yaml >"$misspelt"
if cmp -s "$misspelt" infra/dispatcher/koyeb.yaml || koyeb "$misspelt" 2>/dev/null; then
  echo "infra: the Koyeb schema accepted koyeb.yaml with instance_types misspelt; it checks nothing" >&2
  problems=$((problems + 1))
fi
if ! koyeb infra/dispatcher/koyeb.yaml; then
  echo "infra: infra/dispatcher/koyeb.yaml uses fields or values Koyeb does not document (scripts/infra/koyeb.schema.json)" >&2
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
echo "infra: cfn-lint clean; koyeb.yaml holds to Koyeb's documented fields (a misspelt copy is refused); the Lambda template sets api-fn's $n_api and koyeb.yaml the dispatcher's $n_dispatcher settings required in production"
