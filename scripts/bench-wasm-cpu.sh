#!/usr/bin/env bash
# The relay's own CPU cost per event in WebAssembly, against the same work natively.
# Builds the bench-only `wasm-bench` variant of the crate (same release profile, same
# wasm-opt flags as the Worker, but exporting the pure pipeline instead of the Worker's
# entry points) and the native examples/cpu_loop.rs, then runs bench/wasm-cpu.mjs.
#   bash scripts/bench-wasm-cpu.sh [--rounds N] [--round-ms M]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh >/dev/null
source scripts/toolchain-env.sh

target_dir=target/wasm-bench
pkg=$target_dir/pkg
echo "== Building the bench wasm (feature wasm-bench) and the native loop" >&2
cargo build --quiet --lib --release --target wasm32-unknown-unknown --features wasm-bench --target-dir "$target_dir"
rm -rf "$pkg"
"$WASM_BINDGEN_BIN" "$target_dir/wasm32-unknown-unknown/release/extole_braze_relay.wasm" \
  --out-dir "$pkg" --target nodejs --no-typescript
echo '{"type": "commonjs"}' > "$pkg/package.json" # the glue is CommonJS; the repository's package.json says module
# The Worker's wasm-opt flags (Cargo.toml) and the features worker-build enables.
mapfile -t wasm_opt_args < <(cargo metadata --no-deps --format-version 1 | node -e '
  const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const meta = m.packages.find((p) => p.name === "extole-braze-relay").metadata;
  const args = meta?.["wasm-pack"]?.profile?.release?.["wasm-opt"] ?? true; // worker-build: -O by default
  for (const a of args === true ? ["-O"] : args) console.log(a);')
"$WASM_OPT_BIN" "$pkg/extole_braze_relay_bg.wasm" -o "$pkg/extole_braze_relay_bg.wasm" "${wasm_opt_args[@]}" \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory \
  --enable-multivalue --enable-reference-types --enable-exception-handling
cargo build --quiet --release --example cpu_loop
echo "wasm-opt ${wasm_opt_args[*]}; bench wasm $(stat -c %s "$pkg/extole_braze_relay_bg.wasm") bytes" >&2
node bench/wasm-cpu.mjs --wasm "$pkg/extole_braze_relay.js" --native target/release/examples/cpu_loop "$@"
