// The hostile corpus (tests/hostile/corpus.json) end to end: every case against the built
// Worker in workerd, in front of the Braze stand-in.
//
// - Every case: its exact 4xx status and `error` code, a JSON error body with a message,
//   never a 5xx, and nothing reaching the stand-in. Requests go out through node:http with
//   exactly the corpus's headers and bytes (fetch would trim a header's trailing space), and
//   the `transport: chunked` cases are streamed without a Content-Length.
// - After every batch of BATCH cases, a fresh valid event is still delivered.
// - Every accepted case: 200 delivered, the expected Braze requests, each answered 201 and
//   valid by the stand-in's rules, and the corpus's checks on the body.
// - The secrets and personal-data scan (last): every sample payload was delivered too, and no
//   log line or response body carries a key, an email address or a phone number.
//
// The bearer, basic and key-less environments exist only through RELAY_CONFIG documents,
// written with `wrangler kv key put --local` into the relay's own KV before any request.
//
// Run: bash scripts/build-worker.sh && node --test --test-concurrency=1 tests/e2e/

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

import { startRelay, sign, REPO_ROOT } from './harness.mjs';
import { bodyOf, checkBrazeBody, loadCorpus, requestOf, secretSuffix } from '../hostile/corpus.mjs';
import { findLeaks, personalNeedles } from '../hostile/scan.mjs';

const corpus = loadCorpus();
const BATCH = 10;
const PRODUCTION_KEY = corpus.environments.production.keys[0];
const BRAZE_KEYS = Object.values(corpus.environments).map((e) => e.braze_key);

let relay;
/** Answers to requests sent with node:http (the harness records its own). */
const rawResponses = [];
/** Every request body sent, for the personal values the scan looks for. */
const sentBodies = [];

before(async () => {
  relay = await startRelay({
    vars: ({ standinUrl }) => {
      const vars = { RELAY_CONFIG_CACHE_SECONDS: '1' };
      for (const [name, env] of Object.entries(corpus.environments)) {
        const suffix = secretSuffix(name);
        if (env.keys.length) vars[`EXTOLE_WEBHOOK_SECRET_${suffix}`] = env.keys.join(',');
        vars[`BRAZE_API_KEY_${suffix}`] = env.braze_key;
        vars[`BRAZE_REST_ENDPOINT_${suffix}`] = standinUrl;
      }
      return vars;
    },
    standinOptions: { keys: BRAZE_KEYS },
  });
  for (const [name, env] of Object.entries(corpus.environments)) {
    if (env.kv === null) continue;
    await relay.putConfig(name, env.kv);
  }
});

after(async () => {
  await relay?.stop();
});

// ---------------------------------------------------------------------------------------
// Helpers.

/**
 * Sends exactly `headers` and `body` with node:http; `chunked` streams the body without a
 * Content-Length. Resolves `{status, headers, text, json}`; an answer that arrives while the
 * body is still being written counts (the relay may refuse a huge body before reading it all).
 */
function rawRequest({ method, path: pathname, headers, body, chunked = false }) {
  const { port } = new URL(relay.url);
  const all = { ...headers };
  if (!chunked && (body.length > 0 || !['GET', 'HEAD', 'OPTIONS', 'DELETE'].includes(method))) all['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request({ host: '127.0.0.1', port, method, path: pathname, headers: all, agent: false }, (res) => {
      answered = true;
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        rawResponses.push({ method, path: pathname, status: res.statusCode, headers: res.headers, text });
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (chunked) {
      // Like a careful uploader: a chunk at a time, yielding between chunks, and stop sending
      // as soon as the answer is in (the relay refuses a huge body before reading it all;
      // writing on would only race the server closing the connection).
      const CHUNK = 64 * 1024;
      const drained = () => new Promise((resolve) => {
        const done = () => {
          req.off('drain', done);
          req.off('close', done);
          resolve();
        };
        req.once('drain', done);
        req.once('close', done);
      });
      (async () => {
        for (let offset = 0; offset < body.length && !answered && !req.destroyed; offset += CHUNK) {
          if (!req.write(body.subarray(offset, offset + CHUNK))) await drained();
          await new Promise((r) => setImmediate(r));
        }
        if (!req.destroyed) req.end();
      })();
    } else {
      req.end(body);
    }
  });
}

const standinStats = () => relay.control('GET', '/_standin/stats');
const standinRequestsSince = async (seq) => (await relay.control('GET', `/_standin/requests?since=${seq}`)).requests;

let heartbeats = 0;
/** A fresh valid event must still be delivered: 200 delivered, one 201 from the stand-in. */
async function heartbeat() {
  heartbeats += 1;
  const body = JSON.stringify({ type: 'shared', event_id: `hb-e2e-${heartbeats}`, userId: 'u-heartbeat', data: { email: 'heartbeat@example.com' } });
  sentBodies.push(Buffer.from(body));
  const before = (await standinStats()).requests;
  const res = await relay.post('production', body, { key: PRODUCTION_KEY });
  const after = await standinRequestsSince(before);
  if (res.status !== 200 || res.json?.status !== 'delivered' || after.length !== 1 || after[0].status !== 201) {
    return `heartbeat ${heartbeats}: ${res.status} ${res.text.slice(0, 200)}, ${after.length} Braze request(s)`;
  }
  return null;
}

function describe(res) {
  return `${res.status} ${res.text.slice(0, 300)}`;
}

/** What is wrong with the answer to a 4xx case (empty: nothing). */
function refusalProblems(testCase, res, brazeRequests) {
  const { expect } = testCase;
  const problems = [];
  if (res.status !== expect.status) problems.push(`status ${res.status} (expected ${expect.status})`);
  if (res.status >= 500) problems.push('a 5xx');
  if (!/^application\/json/.test(res.headers['content-type'] ?? '')) problems.push(`content-type ${res.headers['content-type']}`);
  if (res.json?.status !== 'error') problems.push('body.status is not "error"');
  if (res.json?.error !== expect.error) problems.push(`error ${JSON.stringify(res.json?.error)} (expected ${JSON.stringify(expect.error)})`);
  if (typeof res.json?.message !== 'string' || !res.json.message.trim()) problems.push('no message');
  if (expect.at !== undefined && res.json?.at !== expect.at) problems.push(`at ${JSON.stringify(res.json?.at)} (expected ${JSON.stringify(expect.at)})`);
  if (brazeRequests !== 0) problems.push(`${brazeRequests} request(s) reached Braze`);
  return problems;
}

function send(testCase) {
  const body = bodyOf(testCase);
  sentBodies.push(body.length <= 300 * 1024 ? body : Buffer.alloc(0));
  const request = requestOf(corpus, testCase, body);
  return rawRequest({ ...request, body, chunked: testCase.transport === 'chunked' });
}

// ---------------------------------------------------------------------------------------

test('hostile corpus: every case is refused with its 4xx and a JSON reason, never a 5xx, nothing reaches Braze', async () => {
  const { cases } = corpus;
  assert.ok(cases.length >= 150, `${cases.length} cases`);
  const started = Date.now();
  const failures = [];
  const fiveHundreds = [];
  let devProxyResets = 0;
  let passed = 0;
  for (let i = 0; i < cases.length; i++) {
    const testCase = cases[i];
    const before = (await standinStats()).requests;
    let res;
    try {
      res = await send(testCase);
    } catch (error) {
      failures.push(`${testCase.id}: no answer (${error.code ?? error.message})`);
      continue;
    }
    const brazeRequests = (await standinStats()).requests - before;
    if (res.status >= 500) fiveHundreds.push(`${testCase.id}: ${describe(res)}`);
    const problems = refusalProblems(testCase, res, brazeRequests);
    if (problems.length) failures.push(`${testCase.id}: ${problems.join('; ')} -- answered ${describe(res)}`);
    else passed += 1;
    if (testCase.transport === 'chunked') {
      // wrangler dev's proxy in front of workerd cannot reuse its connection after a Worker
      // answered before reading a streamed body to the end (the relay stops reading one byte
      // past its 8 MiB limit): the next request gets the proxy's own 503 "Your worker
      // restarted mid-request" (a GET hangs) without reaching the Worker; a plain JavaScript
      // Worker does the same. A POST /health takes that broken connection: it is answered
      // either by the relay (405) or by the proxy's 503, nothing else; the heartbeat then
      // proves the relay serves the next webhook.
      const absorb = await rawRequest({ method: 'POST', path: '/health', headers: {}, body: Buffer.from('{}') });
      rawResponses.pop(); // not an answer of the relay's to scan or count
      const proxy503 = absorb.status === 503 && /^Your worker restarted mid-request/.test(absorb.text);
      if (proxy503) devProxyResets += 1;
      else if (absorb.status !== 405) failures.push(`after ${testCase.id}: POST /health answered ${describe(absorb)}`);
      const problem = await heartbeat();
      if (problem) failures.push(`after ${testCase.id}: ${problem}`);
    }
    if ((i + 1) % BATCH === 0 || i + 1 === cases.length) {
      const problem = await heartbeat();
      if (problem) failures.push(problem);
    }
  }
  const { violations } = await relay.control('GET', '/_standin/violations');
  const failedCases = cases.length - passed;
  console.log(`hostile corpus (e2e): ${cases.length} cases tried, ${passed} passed, ${failedCases} failed; `
    + `${heartbeats} heartbeat events; ${fiveHundreds.length} 5xx; ${devProxyResets} wrangler-dev proxy reset(s) after a streamed body; `
    + `${((Date.now() - started) / 1000).toFixed(1)} s`);
  assert.deepEqual(failures, [], `${failures.length} failure(s)`);
  assert.deepEqual(fiveHundreds, [], 'never a 5xx');
  assert.deepEqual(violations, [], 'the stand-in recorded Braze rule violations');
});

test('accepted boundary cases: 200 delivered, and every Braze body valid by the stand-in', async () => {
  const started = Date.now();
  const failures = [];
  let passed = 0;
  for (const testCase of corpus.accepted) {
    const before = (await standinStats()).requests;
    let res;
    try {
      res = await send(testCase);
    } catch (error) {
      failures.push(`${testCase.id}: no answer (${error.code ?? error.message})`);
      continue;
    }
    const requests = await standinRequestsSince(before);
    const problems = [];
    const { expect } = testCase;
    if (res.status !== 200 || res.json?.status !== expect.outcome) problems.push(`answer ${describe(res)} (expected 200 ${expect.outcome})`);
    if (requests.length !== expect.braze_requests) problems.push(`${requests.length} Braze request(s) (expected ${expect.braze_requests})`);
    for (const r of requests) {
      if (r.status !== 201) problems.push(`stand-in answered ${r.status}`);
      if (r.violations.length) problems.push(`Braze body invalid by the stand-in's rules: ${r.violations.join('; ')}`);
    }
    if (requests[0]) problems.push(...checkBrazeBody(requests[0].body, expect.checks));
    if (problems.length) failures.push(`${testCase.id}: ${problems.join('; ')}`);
    else passed += 1;
  }
  console.log(`accepted boundary cases (e2e): ${corpus.accepted.length} tried, ${passed} passed, `
    + `${corpus.accepted.length - passed} failed; ${((Date.now() - started) / 1000).toFixed(1)} s`);
  assert.deepEqual(failures, [], `${failures.length} failure(s)`);
});

test('every sample payload is still delivered after the corpus', async () => {
  const dir = path.join(REPO_ROOT, 'examples', 'payloads');
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const raw = fs.readFileSync(path.join(dir, file));
    sentBodies.push(raw);
    const res = await relay.request('POST', '/extole/production', {
      body: raw,
      headers: { 'content-type': 'application/json', 'x-extole-signature': sign(raw, PRODUCTION_KEY) },
    });
    assert.equal(res.status, 200, `${file}: ${res.text}`);
    assert.equal(res.json.status, 'delivered', `${file}: ${res.text}`);
  }
});

test('secrets and personal data: no key, email or phone number in any log line or response (runs last)', async () => {
  await new Promise((r) => setTimeout(r, 500)); // let the last log lines arrive
  const needles = new Set();
  for (const body of sentBodies) personalNeedles(body, needles);
  for (const must of ['omar.haddad@example.com', 'dana.weller@example.com', '+16175550142', 'pat@example.com']) {
    assert.ok(needles.has(must), `the scan must look for ${must}`);
  }
  // wrangler's own access log ("[wrangler:info] POST /path 404 Not Found (3ms)") prints the
  // request path, which a hostile request can fill with anything: it is the local dev
  // server's line, not the relay's, and does not exist in production.
  const accessLog = /^\[wrangler:info\] [A-Z]+ \/\S* \d{3}\b/;
  const logs = relay.logs();
  const scanned = logs.filter((line) => !accessLog.test(line));
  const responses = [...relay.responses(), ...rawResponses];
  const requestLines = logs.filter((l) => l.startsWith('{') && l.includes('"msg":"request"'));
  assert.ok(requestLines.length >= responses.length, `${requestLines.length} request log lines for ${responses.length} responses`);
  const places = [
    ...scanned.map((line, i) => [`log line ${i}`, line]),
    ...responses.map((r, i) => [`response ${i} (${r.method} ${r.path.slice(0, 60)} ${r.status})`, `${JSON.stringify(r.headers)} ${r.text}`]),
  ];
  const leaks = findLeaks(places, { secrets: corpus.secrets, needles });
  console.log(`secrets/PII scan (e2e): ${scanned.length} log lines and ${responses.length} responses scanned for `
    + `${corpus.secrets.length} secrets and ${needles.size} personal values: ${leaks.length} leak(s)`);
  assert.deepEqual(leaks, []);
});
