#!/usr/bin/env bash
# Size of the Worker upload, raw and gzip, checked against a budget: exits 1 over it.
# Measures what `wrangler deploy` would upload, from `wrangler deploy --dry-run --outdir`
# (offline, no account): the bundled JS module and the WebAssembly module. The budget is
# checked against the larger of wrangler's own "gzip" figure and the sum of each module
# gzipped at zlib's default level, in bytes (1 KB = 1,000 bytes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh >/dev/null # the build's tools and wrangler; quick when present
source scripts/toolchain-env.sh

BUDGET_GZIP_BYTES=${BUDGET_GZIP_BYTES:-250000}   # 250 KB (the issue's budget), in bytes

bash scripts/build-worker.sh >&2
outdir=$(mktemp -d)
trap 'rm -rf "$outdir"' EXIT
wrangler deploy --dry-run --outdir "$outdir" > "$outdir/wrangler.log" 2>&1 || { cat "$outdir/wrangler.log" >&2; exit 1; }
OUTDIR=$outdir BUDGET_GZIP_BYTES=$BUDGET_GZIP_BYTES node -e '
const fs = require("fs");
const path = require("path");
const zlib = require("zlib");
const dir = process.env.OUTDIR;
const budget = Number(process.env.BUDGET_GZIP_BYTES);
const kb = (n) => `${(n / 1000).toFixed(1)} KB`;
const row = (name, raw, gz) => console.log(`${name.padEnd(26)}${String(raw).padStart(9)} B ${kb(raw).padStart(10)}${String(gz).padStart(9)} B ${kb(gz).padStart(10)}`);
const modules = fs.readdirSync(dir).filter((f) => /\.(js|mjs|wasm)$/.test(f)).sort();
console.log(`${"module (as uploaded)".padEnd(26)}${"raw".padStart(22)}${"gzip".padStart(21)}`);
let raw = 0, gz = 0;
for (const f of modules) {
  const bytes = fs.readFileSync(path.join(dir, f));
  const g = zlib.gzipSync(bytes).length;
  raw += bytes.length; gz += g;
  row(f.replace(/^[0-9a-f]{40}-/, ""), bytes.length, g);
}
row("upload (sum)", raw, gz);
const log = fs.readFileSync(path.join(dir, "wrangler.log"), "utf8");
const m = log.match(/Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/);
if (!m) { console.log(log); console.log("wrangler printed no upload size"); process.exit(1); }
const wranglerGz = Math.round(Number(m[2]) * 1024);
console.log(`wrangler deploy --dry-run: ${m[0]} (gzip ${wranglerGz} B)`);
const total = Math.max(gz, wranglerGz);
const pct = ((total / budget) * 100).toFixed(1);
if (total > budget) {
  console.log(`OVER BUDGET: ${kb(total)} gzip > ${kb(budget)} (${pct}% of the budget)`);
  process.exit(1);
}
console.log(`within budget: ${kb(total)} gzip of ${kb(budget)} (${pct}%; ${kb(budget - total)} to spare)`);
'
