# shellcheck shell=bash
# Sourced before the browser tests (tests/tests/support/browser.rs): makes sure a headless Chromium
# and its chromedriver (Debian packages, installed with apt when missing, as is npm) and
# axe-core (pinned in package.json + package-lock.json, installed with npm ci into
# ${PRIKKE_TOOLS:-$HOME/.cache/prikke}/npm-browser) exist, and exports PRIKKE_CHROMEDRIVER and
# PRIKKE_AXE_JS, which the tests use.
prikke_browser_ensure() {
  local here dir want have sudo=
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  dir="${PRIKKE_TOOLS:-$HOME/.cache/prikke}/npm-browser"
  local -a pkgs=()
  command -v chromedriver >/dev/null 2>&1 && command -v chromium >/dev/null 2>&1 || pkgs+=(chromium chromium-driver)
  command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
  if [ "${#pkgs[@]}" -gt 0 ]; then
    echo "installing ${pkgs[*]} (apt, a minute or two)" >&2
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq \
      && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null \
      || return 1
  fi
  want=$(node -p "require('$here/package.json').dependencies['axe-core']") || return 1
  have=$(node -p "require('$dir/node_modules/axe-core/package.json').version" 2>/dev/null || true)
  if [ "$have" != "$want" ] || [ ! -f "$dir/node_modules/axe-core/axe.min.js" ]; then
    echo "installing axe-core $want into $dir" >&2
    mkdir -p "$dir" && cp "$here/package.json" "$here/package-lock.json" "$dir/" \
      && (cd "$dir" && timeout 600 npm ci --no-audit --no-fund --loglevel=error) || return 1
  fi
  export PRIKKE_CHROMEDRIVER
  PRIKKE_CHROMEDRIVER="$(command -v chromedriver)"
  export PRIKKE_AXE_JS="$dir/node_modules/axe-core/axe.min.js"
}
