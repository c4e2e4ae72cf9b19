# Sourced by scripts/edge/*.sh: installs (once) and puts on PATH the tools that build and run the
# edge Worker. See build.sh for what and why. Defines edge_tools_install and WRANGLER.

EDGE_TOOLS="${PRIKKE_TOOLS:-$HOME/.cache/prikke}"
EDGE_WORKER_BUILD_VERSION=0.8.7   # must match the `worker` crate's 0.8.x
EDGE_NPM_PACKAGES=("wrangler@4.86.0" "binaryen@132.0.0" "esbuild@0.28.2")
WRANGLER="$EDGE_TOOLS/npm/node_modules/.bin/wrangler"
export PATH="$EDGE_TOOLS/cargo/bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

_edge_root() { cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd; }

# The wasm32 standard library: rustup's prebuilt one, else Debian's rustc-web with -Zbuild-std.
_edge_wasm_std() {
  local route="${PRIKKE_WASM_ROUTE:-auto}"
  if [ "$route" = auto ]; then
    if [ -d "$(rustc --print target-libdir --target wasm32-unknown-unknown 2>/dev/null)" ] \
       || timeout 300 rustup target add wasm32-unknown-unknown; then route=rustup; else route=debian; fi
  fi
  echo "edge tools: wasm32 std via $route"
  [ "$route" = debian ] || return 0
  local deb="$EDGE_TOOLS/debian" root="$EDGE_TOOLS/debian/root"
  if [ ! -x "$root/usr/bin/rustc" ]; then
    local std llvm
    std=$(apt-cache depends libstd-rust-web-dev | awk '/Depends: libstd-rust-web-1/{print $2; exit}')
    llvm=$(apt-cache depends "$std" | awk '/Depends: libllvm/{print $2; exit}')
    mkdir -p "$deb/debs" "$root" "$deb/bin"
    (cd "$deb/debs" && timeout 900 apt-get download rustc-web cargo-web rust-web-src libstd-rust-web-dev \
        "$std" "$llvm" lld-19 liblld-19 libllvm19 libgit2-1.5 libhttp-parser2.9 libmbedtls14 libmbedx509-1 libmbedcrypto7)
    local f t
    for f in "$deb"/debs/*.deb; do dpkg-deb -x "$f" "$root"; done
    # worker-build only checks that this directory exists; -Zbuild-std rebuilds std itself.
    mkdir -p "$root/usr/lib/rustlib/wasm32-unknown-unknown/lib"
    for t in cargo rustc rustdoc wasm-ld-19; do
      printf '#!/bin/sh\nexport LD_LIBRARY_PATH=%s/usr/lib/x86_64-linux-gnu:%s/usr/lib/llvm-19/lib\nexec %s/usr/bin/%s "$@"\n' \
        "$root" "$root" "$root" "$t" > "$deb/bin/$t"
      chmod +x "$deb/bin/$t"
    done
  fi
  export PATH="$deb/bin:$PATH" RUSTC_BOOTSTRAP=1 CARGO_UNSTABLE_BUILD_STD=std,panic_abort \
         CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$deb/bin/wasm-ld-19"
}

_edge_npm_version() { node -p "require('$EDGE_TOOLS/npm/node_modules/$1/package.json').version" 2>/dev/null || true; }

edge_tools_install() {
  local root; root=$(_edge_root)
  mkdir -p "$EDGE_TOOLS/cargo" "$EDGE_TOOLS/npm"
  _edge_wasm_std

  if [ "$(worker-build --version 2>/dev/null)" != "$EDGE_WORKER_BUILD_VERSION" ]; then
    echo "edge tools: installing worker-build $EDGE_WORKER_BUILD_VERSION (slow the first time)"
    timeout 3000 cargo install worker-build --version "=$EDGE_WORKER_BUILD_VERSION" --locked --root "$EDGE_TOOLS/cargo"
  fi

  local wbg
  # Make sure Cargo.lock is resolved (a fresh clone may not list wasm-bindgen yet).
  (cd "$root" && cargo metadata --format-version 1 > /dev/null)
  wbg=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' "$root/Cargo.lock")
  [ -n "$wbg" ] || { echo "edge tools: no wasm-bindgen in Cargo.lock" >&2; return 1; }
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wbg" ]; then
    echo "edge tools: installing wasm-bindgen-cli $wbg (slow the first time)"
    # Not --locked: its lockfile pins a yanked crate.
    timeout 3000 cargo install wasm-bindgen-cli --version "=$wbg" --root "$EDGE_TOOLS/cargo"
  fi

  local spec missing=()
  for spec in "${EDGE_NPM_PACKAGES[@]}"; do
    [ "$(_edge_npm_version "${spec%@*}")" = "${spec##*@}" ] || missing+=("$spec")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "edge tools: npm install ${missing[*]}"
    [ -f "$EDGE_TOOLS/npm/package.json" ] || echo '{"private": true}' > "$EDGE_TOOLS/npm/package.json"
    (cd "$EDGE_TOOLS/npm" && timeout 900 npm install --no-audit --no-fund "${EDGE_NPM_PACKAGES[@]}")
  fi

  export WASM_BINDGEN_BIN="$EDGE_TOOLS/cargo/bin/wasm-bindgen"
  export WASM_OPT_BIN="$EDGE_TOOLS/npm/node_modules/.bin/wasm-opt"
  export ESBUILD_BIN="$EDGE_TOOLS/npm/node_modules/.bin/esbuild"
}
