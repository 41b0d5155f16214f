// The relay's own CPU cost per event in WebAssembly, against the same work natively.
//
//   node bench/wasm-cpu.mjs --wasm <wasm-bindgen nodejs glue .js> --native <cpu_loop binary>
//        [--rounds 7] [--round-ms 150]
//
// `bash scripts/bench-wasm-cpu.sh` builds both (the bench-only `wasm-bench` build of the
// crate, with the Worker's release profile and wasm-opt flags, and the native
// `examples/cpu_loop.rs`) and runs this. Both time `bench_support::PurePipeline::run`:
// verify HS256, parse, normalise, translate, pack and serialise the /users/track body,
// the relay's CPU work per request apart from KV, fetch and logging. Same method on both
// sides: warm up, size a round to ~round-ms, time `rounds` rounds; median, min and max of
// the per-request time. Node built-ins only.

import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    wasm: { type: 'string' },
    native: { type: 'string' },
    rounds: { type: 'string', default: '7' },
    'round-ms': { type: 'string', default: '150' },
  },
});
if (!values.wasm || !values.native) {
  console.error('usage: node bench/wasm-cpu.mjs --wasm <glue.js> --native <cpu_loop> [--rounds N] [--round-ms M]');
  process.exit(2);
}
const rounds = Number(values.rounds);
const roundMs = Number(values['round-ms']);

const bench = createRequire(import.meta.url)(path.resolve(values.wasm));
const payloads = JSON.parse(bench.bench_payloads());

function timeWasm(index, n) {
  const start = performance.now();
  bench.bench_run(index, n);
  return performance.now() - start;
}

const wasm = payloads.map((payload, index) => {
  let n = 1;
  let took = timeWasm(index, n);
  while (took < 20) {
    n *= 2;
    took = timeWasm(index, n);
  }
  const perRound = Math.max(1, Math.ceil((n * roundMs) / took));
  const micros = [];
  for (let r = 0; r < rounds; r++) micros.push((timeWasm(index, perRound) * 1e3) / perRound);
  micros.sort((a, b) => a - b);
  return { ...payload, iterations: perRound, median: micros[micros.length >> 1], min: micros[0], max: micros[micros.length - 1] };
});

const nativeLines = execFileSync(values.native, [String(rounds), String(roundMs)], { encoding: 'utf8' }).trim().split('\n');
const native = new Map(nativeLines.map((line) => JSON.parse(line)).map((r) => [r.name, r]));

const f = (x, d = 2) => x.toFixed(d);
const pad = (s, n) => String(s).padStart(n);
console.log(`\nRelay CPU per event, pure pipeline (median of ${rounds} rounds of ~${roundMs} ms; min..max in brackets)`);
console.log(`${'payload'.padEnd(20)}${pad('events', 7)}${pad('wasm µs/event', 16)}${pad('[min..max]', 24)}${pad('native µs/event', 17)}${pad('[min..max]', 24)}${pad('wasm/native', 13)}`);
for (const w of wasm) {
  const n = native.get(w.name);
  const per = (x) => x / w.events;
  console.log(
    `${w.name.padEnd(20)}${pad(w.events, 7)}${pad(f(per(w.median)), 16)}${pad(`[${f(per(w.min))}..${f(per(w.max))}]`, 24)}`
      + `${pad(n ? f(per(n.us_per_request.median)) : '-', 17)}${pad(n ? `[${f(per(n.us_per_request.min))}..${f(per(n.us_per_request.max))}]` : '-', 24)}`
      + `${pad(n ? `${f(w.median / n.us_per_request.median, 1)}x` : '-', 13)}`,
  );
}
const samples = wasm.filter((w) => w.events === 1 && !w.name.startsWith('large'));
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const wasmMean = mean(samples.map((w) => w.median));
const nativeMean = mean(samples.map((w) => native.get(w.name)?.us_per_request.median ?? NaN));
console.log(`\nSamples, mean per event: wasm ${f(wasmMean)} µs (${f(1e6 / wasmMean, 0)} events/s/core), native ${f(nativeMean)} µs, wasm/native ${f(wasmMean / nativeMean, 1)}x.`);
console.log(`Against the free plan's 10 ms CPU limit per request, one sample event uses ${f((wasmMean / 10_000) * 100, 2)}% of it in wasm.`);
for (const w of wasm.filter((x) => x.name.startsWith('large'))) {
  console.log(`${w.name} (${w.bytes} bytes) uses ${f((w.median / 10_000) * 100, 0)}% of it (${f(w.median / 1000)} ms).`);
}
