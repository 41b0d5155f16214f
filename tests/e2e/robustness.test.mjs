// A panic inside the relay, end to end: with RELAY_TEST_HOOKS=enabled, POST /__test/panic
// panics in the Rust code (src/worker_glue.rs). The entry guard (shim/entry.mjs) must answer
// 500 with a JSON body that gives nothing away (no panic message, no file path, no stack),
// and the Worker must keep serving: the next webhook is delivered, twice in a row.
//
// Run: bash scripts/build-worker.sh && node --test --test-concurrency=1 tests/e2e/

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startRelay } from './harness.mjs';

const EXTOLE_KEY = 'robust-e2e-extole-production-key-41c7e9';
const BRAZE_KEY = 'robust-e2e-braze-production-key-9a03d2';
const PANIC_MESSAGE = 'forced panic: the panic-recovery test hook'; // src/worker_glue.rs

let relay;

before(async () => {
  relay = await startRelay({
    vars: {
      EXTOLE_WEBHOOK_SECRET_PRODUCTION: EXTOLE_KEY,
      BRAZE_API_KEY_PRODUCTION: BRAZE_KEY,
      RELAY_TEST_HOOKS: 'enabled',
    },
    standinOptions: { keys: [BRAZE_KEY] },
  });
});

after(async () => {
  await relay?.stop();
});

const requests = async () => (await relay.control('GET', '/_standin/requests')).requests;
let n = 0;

/** A fresh event must be delivered: 200 delivered and exactly one new 201 at the stand-in. */
async function deliversOne(label) {
  const event = { type: 'converted', event_id: `robust-${++n}`, event_time: '2026-11-22T18:44:31.120Z', data: { partner_user_id: 'cust-robust', order_id: `SO-${n}` } };
  const before = (await requests()).length;
  const res = await relay.post('production', event);
  assert.equal(res.status, 200, `${label}: ${res.text}`);
  assert.equal(res.json.status, 'delivered', `${label}: ${res.text}`);
  assert.equal(res.json.event_id, event.event_id);
  const after = await requests();
  assert.equal(after.length, before + 1, `${label}: one Braze request`);
  assert.equal(after.at(-1).status, 201);
  assert.equal(after.at(-1).body.events[0].properties.event_id, event.event_id);
}

/** POST /__test/panic: 500, JSON, no details. */
async function panics(label) {
  const before = (await requests()).length;
  const res = await relay.request('POST', '/__test/panic', { body: '{}', headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 500, `${label}: ${res.status} ${res.text}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, label);
  assert.equal(res.json?.status, 'error', res.text);
  assert.equal(res.json.error, 'internal_error', res.text);
  assert.equal(res.json.retryable, true, res.text);
  assert.ok(typeof res.json.message === 'string' && res.json.message.length > 0, res.text);
  assert.deepEqual(Object.keys(res.json).sort(), ['error', 'message', 'retryable', 'status'], `no extra fields: ${res.text}`);
  for (const detail of [PANIC_MESSAGE, 'forced', 'panicked', '.rs', 'src/', 'worker_glue', 'RuntimeError', 'unreachable', 'wasm', 'at ']) {
    assert.ok(!res.text.includes(detail), `${label}: the 500 body gives away "${detail}": ${res.text}`);
  }
  assert.equal((await requests()).length, before, 'a panic sends nothing to Braze');
}

test('a panic is answered 500 without details and the next webhook is delivered, twice in a row', async () => {
  await deliversOne('before any panic');
  await panics('first panic');
  await deliversOne('after the first panic');
  await panics('second panic');
  await deliversOne('after the second panic');
  await deliversOne('and again');

  await new Promise((r) => setTimeout(r, 300)); // let the last log lines arrive
  const logs = relay.logs();
  // The readable panic message (console_error_panic_hook, chained before worker's own hook)
  // is in the Worker's log, and the guard logged each 500.
  assert.ok(logs.some((l) => l.includes(PANIC_MESSAGE)), 'the panic message is logged');
  assert.equal(logs.filter((l) => l.includes('"outcome":"internal_error"') && l.includes('"status":500')).length, 2, 'the guard logged both 500s');
  const { violations } = await relay.control('GET', '/_standin/violations');
  assert.deepEqual(violations, []);
});
