// The relay's own CPU cost per event in WebAssembly, against the same work natively.
//
//   node bench/wasm-cpu.mjs --wasm <wasm-bindgen nodejs glue .js> --native <cpu_loop binary>
//        [--rounds 7] [--round-ms 150]
//
// `bash scripts/bench-wasm-cpu.sh` builds both (the bench-only `wasm-bench` build of the
// crate, with the Worker's release profile and wasm-opt flags, and the native
// `examples/cpu_loop.rs`) and runs this. Both time two things from `bench_support`:
// - `pure` (`PurePipeline::run`): verify HS256, parse, normalise, translate, pack and
//   serialise the /users/track body;
// - `journey` (`Journey::run`): the whole request through `pipeline::handle`, routing,
//   config, dedup keys, the in-memory KV read and record, the Braze answer's reading, the
//   log line and the response included: the relay's CPU per request apart from what the
//   runtime itself spends on its KV, fetch and log calls.
// Same method on both sides: warm up, size a round to ~round-ms, time `rounds` rounds;
// median, min and max of the per-request time. Node built-ins only.

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

const KINDS = ['pure', 'journey'];

function timeWasm(kind, index, n) {
  const start = performance.now();
  bench.bench_run(kind, index, n);
  return performance.now() - start;
}

function measureWasm(kind, index) {
  let n = 1;
  let took = timeWasm(kind, index, n);
  while (took < 20) {
    n *= 2;
    took = timeWasm(kind, index, n);
  }
  const perRound = Math.max(1, Math.ceil((n * roundMs) / took));
  const micros = [];
  for (let r = 0; r < rounds; r++) micros.push((timeWasm(kind, index, perRound) * 1e3) / perRound);
  micros.sort((a, b) => a - b);
  return { median: micros[micros.length >> 1], min: micros[0], max: micros[micros.length - 1] };
}

const wasm = payloads.map((payload, index) => ({ ...payload, ...Object.fromEntries(KINDS.map((k) => [k, measureWasm(k, index)])) }));

const nativeLines = execFileSync(values.native, [String(rounds), String(roundMs)], { encoding: 'utf8' }).trim().split('\n');
const native = new Map(nativeLines.map((line) => JSON.parse(line)).map((r) => [r.name, r]));

const f = (x, d = 2) => x.toFixed(d);
const pad = (s, n) => String(s).padStart(n);
const range = (t, per) => `[${f(per(t.min))}..${f(per(t.max))}]`;
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const samples = wasm.filter((w) => w.events === 1 && !w.name.startsWith('large'));
const share = (micros) => `${f((micros / 10_000) * 100, micros < 1000 ? 2 : 0)}%`;
for (const kind of KINDS) {
  console.log(`\nRelay CPU per event, ${kind} (median of ${rounds} rounds of ~${roundMs} ms; min..max in brackets)`);
  console.log(`${'payload'.padEnd(20)}${pad('events', 7)}${pad('wasm µs/event', 16)}${pad('[min..max]', 24)}${pad('native µs/event', 17)}${pad('[min..max]', 24)}${pad('wasm/native', 13)}`);
  for (const w of wasm) {
    const n = native.get(w.name)?.[kind];
    const per = (x) => x / w.events;
    console.log(
      `${w.name.padEnd(20)}${pad(w.events, 7)}${pad(f(per(w[kind].median)), 16)}${pad(range(w[kind], per), 24)}`
        + `${pad(n ? f(per(n.median)) : '-', 17)}${pad(n ? range(n, per) : '-', 24)}${pad(n ? `${f(w[kind].median / n.median, 1)}x` : '-', 13)}`,
    );
  }
  const wasmMean = mean(samples.map((w) => w[kind].median));
  const nativeMean = mean(samples.map((w) => native.get(w.name)?.[kind]?.median ?? NaN));
  console.log(`Samples, mean per event: wasm ${f(wasmMean)} µs (${f(1e6 / wasmMean, 0)} events/s/core), native ${f(nativeMean)} µs, wasm/native ${f(wasmMean / nativeMean, 1)}x.`);
}
const journeyMean = mean(samples.map((w) => w.journey.median));
console.log(`\nAgainst the free plan's 10 ms CPU limit per request, the whole journey of one sample event uses ${share(journeyMean)} of it in wasm (${f(journeyMean)} µs).`);
for (const w of wasm.filter((x) => x.name.startsWith('large'))) {
  console.log(`${w.name} (${w.bytes} bytes) uses ${share(w.journey.median)} of it (${f(w.journey.median / 1000)} ms).`);
}
