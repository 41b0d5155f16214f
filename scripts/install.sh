#!/usr/bin/env bash
# Installs everything the relay needs to build, run and test, idempotently:
#   - the Rust toolchain pinned in rust-toolchain.toml, with the wasm32 target;
#   - worker-build (pinned) and wasm-bindgen-cli at exactly the version of the wasm-bindgen
#     crate in Cargo.lock (worker-build would otherwise download them from GitHub);
#   - wrangler, workerd, esbuild and wasm-opt (binaryen) from npm, as locked in package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain-env.sh

WORKER_BUILD_VERSION=0.8.7
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)

step() { printf '\n== %s\n' "$*"; }

step "Rust toolchain (rust-toolchain.toml)"
command -v rustup >/dev/null || { echo "rustup is required (https://rustup.rs)"; exit 1; }
rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install
rustup target add wasm32-unknown-unknown >/dev/null
rustc --version

# cargo install without --locked: a locked version may be missing from a registry mirror.
cargo_tool() { # crate version binary
  local crate=$1 version=$2 binary=$3
  if "$binary" --version 2>/dev/null | grep -q -- "$version"; then
    echo "$crate $version: present"
  else
    echo "$crate $version: installing (a cold install takes several minutes)"
    cargo install "$crate" --version "=$version" --force --quiet
  fi
}
step "worker-build and wasm-bindgen-cli"
cargo_tool worker-build "$WORKER_BUILD_VERSION" worker-build
cargo_tool wasm-bindgen-cli "$WASM_BINDGEN_VERSION" wasm-bindgen

step "Node packages (wrangler, workerd, esbuild, binaryen)"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<3)) {console.error("Node >= 20.3 is required"); process.exit(1)}'
lock_hash=$(node -e 'process.stdout.write(require("crypto").createHash("sha256").update(require("fs").readFileSync("package-lock.json")).digest("hex"))')
if [[ -f node_modules/.install-stamp && "$(cat node_modules/.install-stamp)" == "$lock_hash" ]]; then
  echo "node_modules: up to date"
else
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.install-stamp
fi
wrangler --version
