// Braze faults that tests/e2e/relay.test.mjs does not already cover, end to end: in each,
// Extole gets the documented status (503 + Retry-After for what is retryable, 502 for what
// Braze refuses), nothing is recorded as handled, and a later retry of the same event
// delivers it exactly once (then answers `duplicate`).
//
// Already covered in relay.test.mjs: 500, 503, 503 with Retry-After, 429 with
// X-RateLimit-Reset, 201 without "message": "success", 201 with a non-JSON body, a dropped
// connection, an answer slower than the timeout, 400 and 401.
//
// Run: bash scripts/build-worker.sh && node --test --test-concurrency=1 tests/e2e/

import { test, describe, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';

import { startRelay } from './harness.mjs';

const EXTOLE_KEY = 'faults-e2e-extole-production-key-8b21f4';
const BRAZE_KEY = 'faults-e2e-braze-production-key-27d9c1';
/** Retry-After when Braze gives no hint (src/braze/response.rs). */
const DEFAULT_OUTAGE_RETRY = 30;
const DEFAULT_RATE_LIMIT_RETRY = 60;
const MAX_RETRY_AFTER = 3600;

let relay;

before(async () => {
  relay = await startRelay({
    vars: { EXTOLE_WEBHOOK_SECRET_PRODUCTION: EXTOLE_KEY, BRAZE_API_KEY_PRODUCTION: BRAZE_KEY },
    standinOptions: { keys: [BRAZE_KEY] },
  });
});

after(async () => {
  await relay?.stop();
});

beforeEach(async () => {
  await relay.control('POST', '/_standin/reset');
});

afterEach(async () => {
  const { violations } = await relay.control('GET', '/_standin/violations');
  assert.deepEqual(violations, [], 'the stand-in recorded Braze rule violations');
});

const standinRequests = async () => (await relay.control('GET', '/_standin/requests')).requests;
const RATE_HEADERS_REMOVED = { 'X-RateLimit-Limit': null, 'X-RateLimit-Remaining': null, 'X-RateLimit-Reset': null };

let n = 0;
function freshEvent() {
  n += 1;
  return JSON.stringify({
    type: 'converted',
    event_id: `faults-${Date.now().toString(36)}-${n}`,
    event_time: '2026-11-22T18:44:31.120Z',
    data: { partner_user_id: 'cust-faults', email: 'faults.person@example.com', order_id: `SO-F${n}`, cart_value: '10.00' },
  });
}

function assertError(res, status, code, retryable) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(res.json?.status, 'error', res.text);
  assert.equal(res.json.error, code, res.text);
  assert.equal(res.json.retryable, retryable, res.text);
  assert.ok(res.json.message.length > 0);
  for (const secret of [EXTOLE_KEY, BRAZE_KEY, 'faults.person@example.com']) assert.ok(!res.text.includes(secret), `leak in ${res.text}`);
}

/** 503 braze_unavailable with the given Braze status and a Retry-After of `retryAfter` s. */
function unavailable(brazeStatus, retryAfter) {
  return (res) => {
    assertError(res, 503, 'braze_unavailable', true);
    assert.equal(res.json.braze_status, brazeStatus, res.text);
    assert.equal(res.headers.get('retry-after'), String(retryAfter), 'Retry-After');
  };
}

function rejected(brazeStatus) {
  return (res) => {
    assertError(res, 502, 'braze_rejected', true);
    assert.equal(res.json.braze_status, brazeStatus, res.text);
    assert.equal(res.headers.get('retry-after'), null);
  };
}

/**
 * Queues `faults` at the stand-in, posts a fresh event `faults.length` times (each answer
 * checked by `check`), then once more: delivered, and Braze holds the event exactly once.
 */
async function failThenRetry(faults, check) {
  await relay.control('POST', '/_standin/faults', { faults });
  const body = freshEvent();
  const { event_id: eventId } = JSON.parse(body);
  for (let attempt = 0; attempt < faults.reduce((sum, f) => sum + (f.times ?? 1), 0); attempt++) {
    check(await relay.post('production', body));
  }
  const retry = await relay.post('production', body);
  assert.equal(retry.status, 200, retry.text);
  assert.equal(retry.json.status, 'delivered', 'the failed event was not recorded as handled');
  assert.equal(retry.json.event_id, eventId);

  const requests = await standinRequests();
  assert.ok(requests.slice(0, -1).every((r) => r.fault), 'every earlier attempt met a fault');
  assert.equal(requests.at(-1).fault, null);
  assert.equal(requests.at(-1).status, 201);
  for (const r of requests) assert.equal(r.body.events[0].properties.event_id, eventId, 'each attempt carries the same event');
  const { events } = await relay.control('GET', '/_standin/received');
  assert.deepEqual(events.map((e) => e.properties.event_id), [eventId], 'Braze holds the event exactly once');

  const again = await relay.post('production', body);
  assert.equal(again.status, 200);
  assert.equal(again.json.status, 'duplicate');
  assert.equal((await standinRequests()).length, requests.length, 'the duplicate did not reach Braze');
}

describe('Braze faults not covered by relay.test.mjs', () => {
  test('Braze 502 -> 503 braze_unavailable, Retry-After 30', async () => {
    await failThenRetry([{ status: 502 }], unavailable(502, DEFAULT_OUTAGE_RETRY));
  });

  test('Braze 504 -> 503 braze_unavailable', async () => {
    await failThenRetry([{ status: 504 }], unavailable(504, DEFAULT_OUTAGE_RETRY));
  });

  test('Braze 500 with an HTML error page -> 503', async () => {
    await failThenRetry([{ status: 500, body: '<html><body>Internal Server Error</body></html>' }], unavailable(500, DEFAULT_OUTAGE_RETRY));
  });

  test('Braze 503 with Retry-After as an HTTP date (not seconds) -> 503, default delay', async () => {
    await failThenRetry([{ status: 503, headers: { 'Retry-After': 'Wed, 21 Oct 2026 07:28:00 GMT' } }], unavailable(503, DEFAULT_OUTAGE_RETRY));
  });

  test('Braze 429 with no rate-limit headers at all -> 503, Retry-After 60', async () => {
    await failThenRetry([{ status: 429, headers: RATE_HEADERS_REMOVED }], unavailable(429, DEFAULT_RATE_LIMIT_RETRY));
  });

  test('Braze 429 with only Retry-After: 7 -> Retry-After 7', async () => {
    await failThenRetry([{ status: 429, retry_after_s: 7, headers: RATE_HEADERS_REMOVED }], unavailable(429, 7));
  });

  test('Braze 429 whose X-RateLimit-Reset is already past -> Retry-After 1', async () => {
    const past = String(Math.floor(Date.now() / 1000) - 120);
    await failThenRetry([{ status: 429, headers: { 'X-RateLimit-Reset': past } }], unavailable(429, 1));
  });

  test('Braze 429 whose X-RateLimit-Reset is a day away -> Retry-After capped at 3600', async () => {
    const tomorrow = String(Math.floor(Date.now() / 1000) + 86_400);
    await failThenRetry([{ status: 429, headers: { 'X-RateLimit-Reset': tomorrow } }], unavailable(429, MAX_RETRY_AFTER));
  });

  test('Braze 429 with a nonsense X-RateLimit-Reset -> Retry-After 60', async () => {
    await failThenRetry([{ status: 429, headers: { 'X-RateLimit-Reset': 'soon' } }], unavailable(429, DEFAULT_RATE_LIMIT_RETRY));
  });

  test('Braze 403 -> 502 braze_rejected', async () => {
    await failThenRetry([{ status: 403 }], rejected(403));
  });

  test('Braze 404 -> 502 braze_rejected', async () => {
    await failThenRetry([{ status: 404 }], rejected(404));
  });

  test('three faults in a row (drop, 502, 429 without headers), then the retry delivers once', async () => {
    const answers = [];
    await failThenRetry(
      [{ kind: 'drop' }, { status: 502 }, { status: 429, headers: RATE_HEADERS_REMOVED }],
      (res) => {
        assertError(res, 503, 'braze_unavailable', true);
        answers.push([res.json.braze_status ?? null, res.headers.get('retry-after')]);
      },
    );
    assert.deepEqual(answers, [[null, '30'], [502, '30'], [429, '60']]);
  });
});
