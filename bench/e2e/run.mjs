// End-to-end load benchmark (run by `bash scripts/bench-e2e.sh`, which builds first).
//
// Starts, in one run, on loopback only:
//   - the Braze stand-in (in this process, through the e2e harness);
//   - the relay (build/) under `wrangler dev`, delivering to the stand-in;
//   - the baseline Worker (bench/baseline-worker/) under a second `wrangler dev`: it reads
//     the body and makes one fetch to the same stand-in.
// Then, for each round, drives each target with wrk for the same time and connections:
//   relay     POST /extole/production, every request a distinct event, correctly signed
//             (HS256, pre-generated: wrk cannot sign per request), so every one is a first
//             delivery: authenticate, parse, KV dedup lookup, translate, fetch, KV record;
//   baseline  POST / with the same bodies;
//   and, to show where the time goes:
//   baseline-io   POST /io on the baseline Worker: the relay's I/O without the relay (a KV
//                 read, the fetch, a KV write, a log line);
//   relay-health  GET /health on the relay: into the wasm Worker and out, no I/O;
//   noop-log      POST /noop-log on the baseline Worker: reads the body, writes one log
//                 line (as the relay does on every request), answers;
//   noop          POST /noop on the baseline Worker: reads the body, answers at once (the
//                 local runtime's own ceiling);
//   stand-in      POST /users/track straight to the stand-in (the fake Braze's ceiling).
// Prints requests/s, p50 and p99 for each, and relay/baseline, per round and as
// min/median/max over the rounds. Nothing fails on time; it exits non-zero only when a run
// was not valid (errors, non-200 answers, bodies exhausted, Braze not reached).
//
// Settings (environment): BENCH_ROUNDS (3), BENCH_DURATION_S (10), BENCH_CONNECTIONS (8),
// BENCH_THREADS (2), BENCH_WARMUP_S (3). Node built-ins and wrk only.

import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { REPO_ROOT, freePort, sign, startRelay } from '../../tests/e2e/harness.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 3);
// The targets below, in order; BENCH_TARGETS=name,name,... runs a subset (the summary's
// ratios need 'relay' and 'baseline').
const DEFAULT_TARGETS = ['baseline', 'relay', 'baseline-io', 'relay-health', 'noop-log', 'noop', 'stand-in'];
const TARGETS = process.env.BENCH_TARGETS ? process.env.BENCH_TARGETS.split(',') : DEFAULT_TARGETS;
// Far more distinct bodies than any run can send on loopback; a run that still runs out
// says so and fails rather than repeat an event id.
const BODIES_PER_SECOND = Number(process.env.BENCH_BODIES_PER_SECOND ?? 6000);

const EXTOLE_KEY = 'bench-extole-key';
const BRAZE_KEY = 'bench-braze-key';
const WRANGLER = path.join(REPO_ROOT, 'node_modules', '.bin', 'wrangler');
const LUA = path.join(REPO_ROOT, 'bench', 'e2e', 'load.lua');
const SAMPLES_DIR = path.join(REPO_ROOT, 'examples', 'payloads');
const TRACK_BODY = JSON.stringify({ events: [{ external_id: 'bench-standin', name: 'Direct', time: '2026-11-22T18:44:31.120Z' }] });

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-bench-'));
const samples = fs.readdirSync(SAMPLES_DIR).filter((f) => f.endsWith('.json')).sort()
  .map((f) => JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, f), 'utf8')));

/** A file of `count` lines `<hex HS256 signature>\t<body>`, every body a distinct event. */
function bodiesFile(tag, count) {
  const file = path.join(work, `${tag}.txt`);
  const lines = [];
  for (let i = 0; i < count; i++) {
    const event = { ...samples[i % samples.length], event_id: `bench-${tag}-${i}` };
    const body = JSON.stringify(event);
    lines.push(`${sign(body, EXTOLE_KEY)}\t${body}`);
  }
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function staticFile(tag, body, count) {
  const file = path.join(work, `${tag}.txt`);
  fs.writeFileSync(file, `\t${body}\n`.repeat(count));
  return file;
}

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${cmd} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function wrk(url, file, mode, seconds) {
  const out = await run('wrk', [
    '-t', String(THREADS), '-c', String(CONNECTIONS), '-d', `${seconds}s`, '--timeout', '10s',
    '-s', LUA, url, '--', file, String(THREADS), mode, BRAZE_KEY,
  ]);
  const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) throw new Error(`wrk printed no result:\n${out}`);
  const r = JSON.parse(line);
  r.rps = r.requests / (r.duration_us / 1e6);
  return r;
}

/** The baseline Worker under its own `wrangler dev`. */
async function startBaseline(brazeUrl) {
  const port = await freePort();
  let inspector = await freePort();
  while (inspector === port) inspector = await freePort();
  const persist = fs.mkdtempSync(path.join(work, 'baseline-state-'));
  const args = [
    'dev', '--config', path.join(REPO_ROOT, 'bench', 'baseline-worker', 'wrangler.toml'),
    '--port', String(port), '--ip', '127.0.0.1', '--inspector-port', String(inspector),
    '--persist-to', persist, '--show-interactive-dev-session=false',
    '--var', `BRAZE_URL:${brazeUrl}`, '--var', `BRAZE_API_KEY:${BRAZE_KEY}`,
  ];
  const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1',
    WRANGLER_LOG_PATH: path.join(work, 'baseline-logs') };
  const child = spawn(WRANGLER, args, { cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  for (const s of [child.stdout, child.stderr]) s.on('data', (c) => { if (output.length < 200) output.push(String(c)); });
  const url = `http://127.0.0.1:${port}`;
  const stop = () => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } };
  process.on('exit', stop);
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`baseline wrangler dev exited:\n${output.join('')}`);
    if (Date.now() > deadline) { stop(); throw new Error(`baseline did not start:\n${output.join('')}`); }
    try {
      const res = await fetch(`${url}/noop`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return { url, stop };
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-');

async function main() {
  console.log(`Loopback, wrangler dev (workerd) for both Workers; wrk ${THREADS} threads, ${CONNECTIONS} connections, `
    + `${DURATION_S} s per run, ${ROUNDS} rounds; ${os.cpus().length} cores, shared with everything else on this machine.`);
  const relay = await startRelay({
    vars: { EXTOLE_WEBHOOK_SECRET_PRODUCTION: EXTOLE_KEY, BRAZE_API_KEY_PRODUCTION: BRAZE_KEY },
    standinOptions: { keys: [BRAZE_KEY] },
  });
  let baseline;
  try {
    baseline = await startBaseline(relay.standin.url);
    const standin = relay.standin;
    const targets = {
      relay: { url: `${relay.url}/extole/production`, mode: 'extole', bodies: (tag, n) => bodiesFile(tag, n), viaBraze: true },
      baseline: { url: `${baseline.url}/`, mode: 'extole', bodies: (tag, n) => bodiesFile(tag, n), viaBraze: true },
      'baseline-io': { url: `${baseline.url}/io`, mode: 'extole', bodies: (tag, n) => bodiesFile(tag, n), viaBraze: true },
      'io-nolog': { url: `${baseline.url}/io-nolog`, mode: 'extole', bodies: (tag, n) => bodiesFile(tag, n), viaBraze: true },
      'io-deferred': { url: `${baseline.url}/io-deferred`, mode: 'extole', bodies: (tag, n) => bodiesFile(tag, n), viaBraze: true },
      'io-get': { url: `${baseline.url}/io-get`, mode: 'extole', bodies: (tag, n) => bodiesFile(tag, n), viaBraze: true },
      'relay-health': { url: `${relay.url}/health`, mode: 'get', bodies: (tag) => staticFile(tag, '', 100), viaBraze: false },
      noop: { url: `${baseline.url}/noop`, mode: 'none', bodies: (tag, n) => bodiesFile(tag, n), viaBraze: false },
      'noop-log': { url: `${baseline.url}/noop-log`, mode: 'none', bodies: (tag, n) => bodiesFile(tag, n), viaBraze: false },
      'stand-in': { url: `${standin.url}/users/track`, mode: 'braze', bodies: (tag) => staticFile(tag, TRACK_BODY, 1000), viaBraze: true },
    };

    const results = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
    const problems = [];
    const once = async (name, tag, seconds) => {
      const t = targets[name];
      const file = t.bodies(tag, Math.ceil(seconds * BODIES_PER_SECOND));
      await relay.control('POST', '/_standin/reset');
      const r = await wrk(t.url, file, t.mode, seconds);
      const stats = await relay.control('GET', '/_standin/stats');
      fs.rmSync(file);
      r.braze_201 = stats.by_status['201'] ?? 0;
      if (r.socket_errors || r.other_status || r.out_of_bodies) {
        problems.push(`${name} ${tag}: ${r.socket_errors} socket errors, ${r.other_status} non-2xx answers, ${r.out_of_bodies} requests past the bodies file`);
      }
      // Every answered webhook must have been delivered to Braze (a few in flight at the
      // end of the run may reach Braze without wrk seeing the answer).
      if (t.viaBraze && (r.braze_201 < r.ok || r.braze_201 > r.ok + CONNECTIONS)) {
        problems.push(`${name} ${tag}: ${r.ok} answered 200 but the stand-in accepted ${r.braze_201}`);
      }
      return r;
    };

    process.stdout.write('Warming up (JIT, isolates, KV) ... ');
    for (const name of TARGETS.filter((t) => t !== 'stand-in')) await once(name, `warmup-${name}`, WARMUP_S);
    console.log('done.');
    problems.length = 0;

    const header = `${'target'.padEnd(13)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'requests'.padStart(10)}${'Braze 201'.padStart(11)}`;
    for (let round = 1; round <= ROUNDS; round++) {
      const all = TARGETS;
      const order = round % 2 ? all : [...all].reverse();
      console.log(`\nRound ${round}\n${header}`);
      for (const name of order) {
        const r = await once(name, `r${round}-${name}`, DURATION_S);
        results[name].push(r);
        console.log(`${name.padEnd(13)}${fmt(r.rps).padStart(9)}${fmt(r.p50_us / 1000, 2).padStart(9)}${fmt(r.p99_us / 1000, 2).padStart(9)}`
          + `${String(r.requests).padStart(10)}${String(targets[name].viaBraze ? r.braze_201 : '-').padStart(11)}`);
      }
      const last = (name) => results[name].at(-1)?.rps ?? NaN;
      console.log(`relay/baseline: ${fmt(last('relay') / last('baseline'), 2)}; relay/baseline-io: ${fmt(last('relay') / last('baseline-io'), 2)}`);
    }

    const ratio = (a, b) => (results[a].length && results[b].length ? results[a].map((r, i) => r.rps / results[b][i].rps) : [NaN]);
    const mmm = (xs, d = 0) => `${fmt(Math.min(...xs), d)} / ${fmt(median(xs), d)} / ${fmt(Math.max(...xs), d)}`;
    console.log(`\nOver ${ROUNDS} rounds, min / median / max:`);
    console.log(`${'target'.padEnd(13)}${'req/s'.padStart(24)}${'p50 ms'.padStart(26)}${'p99 ms'.padStart(26)}`);
    for (const [name, rs] of Object.entries(results).filter(([, rs]) => rs.length)) {
      console.log(`${name.padEnd(13)}${mmm(rs.map((r) => r.rps)).padStart(24)}${mmm(rs.map((r) => r.p50_us / 1000), 2).padStart(26)}`
        + `${mmm(rs.map((r) => r.p99_us / 1000), 2).padStart(26)}`);
    }
    console.log(`relay/baseline req/s: ${mmm(ratio('relay', 'baseline'), 2)} (target: at least 0.8)`);
    console.log(`relay/baseline-io req/s (same I/O, so the relay's own cost): ${mmm(ratio('relay', 'baseline-io'), 2)}`);
    console.log(`baseline-io/baseline req/s (the most any relay that deduplicates in KV and logs could reach here): ${mmm(ratio('baseline-io', 'baseline'), 2)}`);
    console.log(`relay-health/noop-log req/s (wasm Worker against JS, no I/O, one log line each): ${mmm(ratio('relay-health', 'noop-log'), 2)}`);
    console.log(`noop-log/noop req/s (the cost of one log line in wrangler dev): ${mmm(ratio('noop-log', 'noop'), 2)}`);
    const noopVsBaseline = median(results.noop.map((r) => r.rps)) / median(results.baseline.map((r) => r.rps));
    const standinVsBaseline = median(results['stand-in'].map((r) => r.rps)) / median(results.baseline.map((r) => r.rps));
    console.log(`Ceilings, as multiples of the baseline's req/s: the runtime alone (noop) ${fmt(noopVsBaseline, 1)}x, `
      + `the Braze stand-in alone ${fmt(standinVsBaseline, 1)}x.`);
    if (problems.length) {
      console.log(`\nINVALID RUNS:\n  ${problems.join('\n  ')}`);
      process.exitCode = 1;
    }
  } finally {
    baseline?.stop();
    await relay.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  fs.rmSync(work, { recursive: true, force: true });
  process.exit(1);
});
