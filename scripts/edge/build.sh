#!/usr/bin/env bash
# Builds the edge Worker (edge/) to WebAssembly with worker-build and checks the size budget.
#
# Tools are installed on first use into "${PRIKKE_TOOLS:-$HOME/.cache/prikke}" (outside the clone)
# and reused when the right versions are present: worker-build (crates.io), wasm-bindgen-cli at
# the version in Cargo.lock, and wrangler, binaryen (wasm-opt) and esbuild from npm. Nothing is
# fetched from GitHub: worker-build is pointed at these binaries.
#
# The wasm32 standard library comes from rustup when it can (`rustup target add`); otherwise from
# Debian's rustc-web packages, rebuilding std with -Zbuild-std (PRIKKE_WASM_ROUTE=debian forces it).
#
# Budget (fails the build when exceeded):
#   Worker bundle (wasm + JS glue), gzip -9     <= 500,000 bytes
#   Landing page (HTML + CSS + images), gzip -9 <=  28,000 bytes
#
# Environment: PRIKKE_TOOLS (tool cache), CARGO_TARGET_DIR (respected), PRIKKE_WASM_ROUTE
# (auto|rustup|debian), PRIKKE_EDGE_PREBUILT=1 (skip everything when edge/build exists; wrangler
# runs this script as its build command and scripts/edge/test.sh has already built).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
EDGE="$ROOT/edge"
if [ "${PRIKKE_EDGE_PREBUILT:-}" = 1 ] && [ -f "$EDGE/build/index.js" ]; then
  echo "edge build: PRIKKE_EDGE_PREBUILT=1, using the existing edge/build"
  exit 0
fi

NATIVE_PATH=$PATH   # the Debian route below changes PATH and cargo's settings for wasm32 only
# shellcheck source=scripts/edge/tools.sh
source "$ROOT/scripts/edge/tools.sh"
edge_tools_install

start=$(date +%s)
export PRIKKE_GIT_SHA="${PRIKKE_GIT_SHA:-$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)}"
(cd "$EDGE" && timeout 3000 worker-build --release)
echo "edge build: worker-build took $(( $(date +%s) - start )) s"

# --- size budget ---------------------------------------------------------------------------------
WORKER_BUDGET=500000
LANDING_BUDGET=28000
gz() { gzip -9c "$1" | wc -c; }

worker_raw=0; worker_gz=0
for f in "$EDGE"/build/*.wasm "$EDGE"/build/*.js; do
  [ -f "$f" ] || continue
  raw=$(stat -c %s "$f"); z=$(gz "$f")
  printf '  %-28s %9d B raw %9d B gzip\n' "$(basename "$f")" "$raw" "$z"
  worker_raw=$((worker_raw + raw)); worker_gz=$((worker_gz + z))
done

# The landing page as the Worker renders it (same code, run natively), plus what it links to.
page_dir=$(mktemp -d)
trap 'rm -rf "$page_dir"' EXIT
env -u RUSTC_BOOTSTRAP -u CARGO_UNSTABLE_BUILD_STD -u CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER PATH="$NATIVE_PATH" \
  cargo run --quiet -p edge --example render_landing > "$page_dir/index.html"
landing_gz=0
for f in "$page_dir/index.html" "$EDGE/content/site.css" "$EDGE/content/favicon.svg"; do
  z=$(gz "$f"); landing_gz=$((landing_gz + z))
  printf '  %-28s %9d B raw %9d B gzip\n' "$(basename "$f")" "$(stat -c %s "$f")" "$z"
done

status=0
echo "edge size: worker ${worker_gz} B gzip (${worker_raw} B raw), budget ${WORKER_BUDGET} B"
echo "edge size: landing page ${landing_gz} B gzip (HTML+CSS+images), budget ${LANDING_BUDGET} B"
if [ "$worker_gz" -gt "$WORKER_BUDGET" ]; then echo "edge size: FAIL worker over budget" >&2; status=1; fi
if [ "$landing_gz" -gt "$LANDING_BUDGET" ]; then echo "edge size: FAIL landing page over budget" >&2; status=1; fi
exit $status
