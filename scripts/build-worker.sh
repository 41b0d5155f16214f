#!/usr/bin/env bash
# Builds the Worker (build/index.js + build/index_bg.wasm) with worker-build, using the
# wasm-bindgen, wasm-opt and esbuild this project installs (scripts/install.sh), since
# worker-build's own downloads come from hosts that may be unreachable.
# Skips the build when build/ is newer than every input (FORCE_BUILD=1 builds anyway).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain-env.sh

for tool in "$WASM_BINDGEN_BIN" "$WASM_OPT_BIN" "$ESBUILD_BIN"; do
  [[ -x $tool ]] || { echo "build: $tool is missing; run bash scripts/install.sh" >&2; exit 1; }
done

stamp=build/.stamp
if [[ -f $stamp && -z "${FORCE_BUILD:-}" ]]; then
  newer=$(find src config Cargo.toml Cargo.lock .cargo rust-toolchain.toml -newer "$stamp" -print -quit)
  if [[ -z $newer ]]; then
    echo "build: up to date (build/index.js)"
    exit 0
  fi
fi
worker-build --release
# A second wasm-opt pass over worker-build's output, which keeps a names section (it runs
# wasm-opt with --debuginfo): -Oz again finds a little more, and the names and producers
# sections are dropped. About 1.5 KB gzip (README "Performance").
"$WASM_OPT_BIN" -Oz -ocimfs=20 --strip-debug --strip-producers build/index_bg.wasm -o build/index_bg.wasm
touch "$stamp"
ls -l build/index.js build/index_bg.wasm 2>/dev/null | awk '{print "build:", $5, $9}'
