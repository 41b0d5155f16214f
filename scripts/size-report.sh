#!/usr/bin/env bash
# Size of the Worker upload (build/index_bg.wasm + build/index.js), raw and gzip, checked
# against a budget: exits 1 over it. Builds first if build/ is out of date.
# The gzip figure is computed as `wrangler deploy` computes its "Total Upload ... gzip":
# zlib's default level over the modules concatenated.
set -euo pipefail
cd "$(dirname "$0")/.."

BUDGET_GZIP_BYTES=${BUDGET_GZIP_BYTES:-250000}   # 250 KB (the issue's budget), in bytes

bash scripts/build-worker.sh >&2
BUDGET_GZIP_BYTES=$BUDGET_GZIP_BYTES node -e '
const fs = require("fs");
const zlib = require("zlib");
const files = ["build/index_bg.wasm", "build/index.js"];
const budget = Number(process.env.BUDGET_GZIP_BYTES);
const kb = (n) => `${(n / 1000).toFixed(1)} KB`;
const row = (name, raw, gz) => console.log(`${name.padEnd(22)}${String(raw).padStart(9)} B ${kb(raw).padStart(10)}${String(gz).padStart(9)} B ${kb(gz).padStart(10)}`);
console.log(`${"file".padEnd(22)}${"raw".padStart(22)}${"gzip".padStart(21)}`);
const contents = files.map((f) => fs.readFileSync(f));
files.forEach((f, i) => row(f, contents[i].length, zlib.gzipSync(contents[i]).length));
const all = Buffer.concat(contents);
const total = zlib.gzipSync(all).length;
row("upload (together)", all.length, total);
const pct = ((total / budget) * 100).toFixed(1);
if (total > budget) {
  console.log(`OVER BUDGET: ${kb(total)} gzip > ${kb(budget)} (${pct}% of the budget)`);
  process.exit(1);
}
console.log(`within budget: ${kb(total)} gzip of ${kb(budget)} (${pct}%; ${kb(budget - total)} to spare)`);
'
