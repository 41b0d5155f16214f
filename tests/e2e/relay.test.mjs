// End-to-end tests: Extole webhook in, through the built Worker under wrangler dev
// (workerd), out to the Braze stand-in. One relay for the whole file; the stand-in is reset
// before each test and must have recorded no rule violation after each.
//
// Run: bash scripts/build-worker.sh && node --test tests/e2e/

import { test, describe, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { startRelay, sign, REPO_ROOT } from './harness.mjs';

// ---------------------------------------------------------------------------------------
// Keys (test-only values) and the relay.

const EXTOLE_KEY_PRODUCTION = 'e2e-extole-production-key-7f3a91';
const EXTOLE_KEY_STAGING_OLD = 'e2e-extole-staging-old-key-19c4b2';
const EXTOLE_KEY_STAGING_NEW = 'e2e-extole-staging-new-key-d82e07';
const WRONG_EXTOLE_KEY = 'e2e-extole-wrong-key-000000';
const BRAZE_KEY_UNUSED = 'e2e-braze-unused-key-4c4c4c';
const BRAZE_KEY_PRODUCTION = 'e2e-braze-production-key-5b1d33';
const BRAZE_KEY_STAGING = 'e2e-braze-staging-key-a6e0f8';
// Stand-in key order: key_index 1 means the production Braze key, 2 the staging one.
const BRAZE_KEYS = [BRAZE_KEY_UNUSED, BRAZE_KEY_PRODUCTION, BRAZE_KEY_STAGING];
const KEY_INDEX = { production: 1, staging: 2 };
const ALL_KEYS = [
  EXTOLE_KEY_PRODUCTION, EXTOLE_KEY_STAGING_OLD, EXTOLE_KEY_STAGING_NEW, WRONG_EXTOLE_KEY,
  BRAZE_KEY_UNUSED, BRAZE_KEY_PRODUCTION, BRAZE_KEY_STAGING,
];

/** The relay's Braze timeout (config/default.json braze.timeout_ms). */
const BRAZE_TIMEOUT_MS = 5000;
const MAX_BODY_BYTES = 256 * 1024;

let relay;

before(async () => {
  relay = await startRelay({
    vars: {
      EXTOLE_WEBHOOK_SECRET_PRODUCTION: EXTOLE_KEY_PRODUCTION,
      EXTOLE_WEBHOOK_SECRET_STAGING: `${EXTOLE_KEY_STAGING_OLD},${EXTOLE_KEY_STAGING_NEW}`,
      BRAZE_API_KEY_PRODUCTION: BRAZE_KEY_PRODUCTION,
      BRAZE_API_KEY_STAGING: BRAZE_KEY_STAGING,
      // BRAZE_REST_ENDPOINT_PRODUCTION / _STAGING default to the stand-in's URL.
    },
    standinOptions: { keys: BRAZE_KEYS },
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

// ---------------------------------------------------------------------------------------
// Helpers.

const standinRequests = async () => (await relay.control('GET', '/_standin/requests')).requests;
const standinReceived = () => relay.control('GET', '/_standin/received');

/** The stand-in received no request at all. */
async function assertBrazeUntouched() {
  assert.deepEqual(await standinRequests(), [], 'nothing should have reached Braze');
  assert.deepEqual(await standinReceived(), { attributes: [], events: [], purchases: [] });
}

function assertStatus(res, status) {
  assert.equal(res.status, status, `expected HTTP ${status}, got ${res.status}: ${res.text}`);
}

/** A JSON answer (content type and parsed body). */
function assertJson(res) {
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, `content-type of ${res.text}`);
  assert.ok(res.json && typeof res.json === 'object', `JSON body expected, got: ${res.text}`);
}

function assertError(res, status, code, { retryable } = {}) {
  assertStatus(res, status);
  assertJson(res);
  assert.equal(res.json.status, 'error', res.text);
  assert.equal(res.json.error, code, res.text);
  assert.equal(typeof res.json.message, 'string', res.text);
  assert.ok(res.json.message.length > 0, res.text);
  if (retryable !== undefined) assert.equal(res.json.retryable, retryable, res.text);
}

function assertNoKeys(text) {
  for (const key of ALL_KEYS) assert.ok(!text.includes(key), `a key leaked: ${text}`);
}

const PAYLOAD_DIR = path.join(REPO_ROOT, 'examples', 'payloads');
const SAMPLE_FILES = fs.readdirSync(PAYLOAD_DIR).filter((f) => f.endsWith('.json')).sort();
const rawSample = (file) => fs.readFileSync(path.join(PAYLOAD_DIR, file));
const sample = (file) => JSON.parse(rawSample(file).toString('utf8'));

let idCounter = 0;
/** A sample with a fresh event id (so dedup state from other tests does not interfere). */
function variant(file, changes = {}) {
  const event = sample(file);
  event.event_id = `${event.event_id}-e2e${++idCounter}`;
  return { ...event, ...changes };
}

/** Events the stand-in accepted, by Extole event id (carried in properties.event_id). */
async function receivedEventsWithId(eventId) {
  const { events } = await standinReceived();
  return events.filter((e) => e.properties?.event_id === eventId);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------
// What each sample must become in Braze (config/default.json mapping).

const DANA = { external_id: 'cust-10442', email: 'dana.weller@example.com' };
const OMAR = { external_id: 'cust-20871', email: 'omar.haddad@example.com' };

const EXPECTED = {
  'share-link-created.json': {
    attributes: [{
      ...DANA,
      first_name: 'Dana',
      last_name: 'Weller',
      share_link: 'refer.example-shop.com/dana7',
      extole_funnel: { add: ['advocate'] },
    }],
    events: [{
      external_id: 'cust-10442',
      name: 'Created Share Link',
      time: '2026-11-20T09:15:02.431Z',
      properties: {
        event_id: 'a1f0c2d9e8b7a6f5e4d3',
        extole_event_name: 'advocate_code_created',
        client_id: '1890234567',
        program_label: 'refer-a-friend',
        campaign_id: '7301122334455667788',
        sandbox: false,
        partner_user_id: 'cust-10442',
        share_link: 'refer.example-shop.com/dana7',
        share_code: 'dana7',
        funnel: 'advocate',
      },
    }],
  },
  'shared.json': {
    attributes: [{ ...DANA, share_link: 'refer.example-shop.com/dana7', extole_funnel: { add: ['advocate'] } }],
    events: [{
      external_id: 'cust-10442',
      name: 'Shared',
      time: '2026-11-20T09:21:47.002Z',
      properties: {
        event_id: 'b2e1d3c4f5a69788a9b0',
        extole_event_name: 'shared',
        program_label: 'refer-a-friend',
        campaign_id: '7301122334455667788',
        partner_user_id: 'cust-10442',
        share_link: 'refer.example-shop.com/dana7',
        channel: 'EMAIL',
        funnel: 'advocate',
        recipient_count: 3,
      },
    }],
  },
  'signed-up.json': {
    attributes: [{
      ...OMAR, // the sample's "Omar.Haddad@Example.com " lowercased and trimmed
      phone: '+16175550142',
      first_name: 'Omar',
      last_name: 'Haddad',
      home_city: 'Boston',
      state: 'MA',
      country: 'US',
      extole_funnel: { add: ['friend'] },
    }],
    events: [{
      external_id: 'cust-20871',
      name: 'Signed Up',
      time: '2026-11-21T14:02:10.000Z',
      properties: {
        event_id: 'c3f2e4d5a6b7c8d9e0f1',
        extole_event_name: 'signed_up',
        program_label: 'refer-a-friend',
        partner_user_id: 'cust-20871',
        funnel: 'friend',
        advocate_partner_user_id: 'cust-10442',
      },
    }],
  },
  'converted.json': {
    attributes: [{ ...OMAR, extole_funnel: { add: ['friend'] } }],
    events: [{
      external_id: 'cust-20871',
      name: 'Converted',
      time: '2026-11-22T18:44:31.120Z',
      properties: {
        event_id: 'd4a3f5e6b7c8d9e0f1a2',
        extole_event_name: 'converted',
        program_label: 'refer-a-friend',
        partner_user_id: 'cust-20871',
        order_id: 'SO-558201',
        cart_value: '129.90',
        currency: 'USD',
        coupon_code: 'FRIEND20',
        funnel: 'friend',
      },
    }],
  },
  'subscribed.json': {
    attributes: [{ ...OMAR, email_subscribe: 'opted_in' }],
    events: [{
      external_id: 'cust-20871',
      name: 'Subscribed',
      time: '2026-11-21T14:02:11.500Z',
      properties: {
        event_id: 'e5b4a6f7c8d9e0f1a2b3',
        extole_event_name: 'opted_in',
        partner_user_id: 'cust-20871',
        channel: 'EMAIL',
      },
    }],
  },
  'unsubscribed.json': {
    attributes: [{ ...OMAR, email_subscribe: 'unsubscribed' }],
    events: [{
      external_id: 'cust-20871',
      name: 'Unsubscribed',
      time: '2026-11-25T08:00:00.000Z',
      properties: {
        event_id: 'f6c5b7a8d9e0f1a2b3c4',
        extole_event_name: 'opted_out',
        partner_user_id: 'cust-20871',
        channel: 'EMAIL',
      },
    }],
  },
  'reward-earned.json': {
    attributes: [{ ...DANA }], // email from data.recipient_email
    events: [{
      external_id: 'cust-10442',
      name: 'Earned Reward',
      time: '2026-11-22T18:44:35.870Z',
      properties: {
        event_id: '07d6c8b9a0e1f2a3b4c5',
        extole_event_name: 'reward_earned',
        reward_id: '9e8d7c6b5a4f3e2d1c0b',
        reward_supplier_name: 'Advocate Account Credit',
        reward_supplier_id: '5a4b3c2d1e0f9a8b7c6d',
        partner_reward_supplier_id: 'Advocate Account Credit',
        reward_supplier_type: 'CUSTOM_REWARD',
        person_id: '6816411215104951917',
        partner_user_id: 'cust-10442',
        face_value: 20,
        face_value_type: 'USD',
      },
    }],
  },
};

// Personal data in the samples: must never appear in a response or a log line, nor in an
// event's properties.
const SAMPLE_EMAILS = ['dana.weller@example.com', 'omar.haddad@example.com'];
const SAMPLE_PHONES = ['+1 (617) 555-0142', '+16175550142', '6175550142', '555-0142'];

// ---------------------------------------------------------------------------------------

describe('routing', () => {
  test('GET /health answers 200 and touches nothing', async () => {
    const res = await relay.request('GET', '/health');
    assertStatus(res, 200);
    assertJson(res);
    assert.deepEqual(res.json, { status: 'ok' });
    await assertBrazeUntouched();
  });

  test('unknown environment -> 404 unknown_environment', async () => {
    const body = JSON.stringify(variant('converted.json'));
    const res = await relay.post('nonexistent', body, { key: EXTOLE_KEY_PRODUCTION });
    assertError(res, 404, 'unknown_environment', { retryable: false });
    assert.match(res.json.message, /nonexistent/);
    await assertBrazeUntouched();
  });

  test('GET /extole/production -> 405 JSON with Allow: POST', async () => {
    const res = await relay.request('GET', '/extole/production');
    assertError(res, 405, 'method_not_allowed', { retryable: false });
    assert.equal(res.headers.get('allow'), 'POST');
    await assertBrazeUntouched();
  });

  test('unknown paths -> 404 not_found JSON', async () => {
    for (const [method, pathname] of [['GET', '/'], ['GET', '/nope'], ['POST', '/extole'], ['POST', '/extole/production/extra']]) {
      const res = await relay.request(method, pathname, { body: method === 'POST' ? '{}' : undefined });
      assertError(res, 404, 'not_found', { retryable: false });
    }
    await assertBrazeUntouched();
  });
});

describe('every sample payload is delivered as the mapping says', () => {
  test('a sample with no expectation is a test to write', () => {
    assert.deepEqual(SAMPLE_FILES, Object.keys(EXPECTED).sort());
  });

  for (const file of SAMPLE_FILES) {
    test(`${file} -> 200 delivered, exact Braze objects, production key`, async () => {
      const expected = EXPECTED[file];
      assert.ok(expected, `no expectation written for ${file}`);
      const raw = rawSample(file); // the exact file bytes, signed as they are
      const eventId = sample(file).event_id;

      const res = await relay.post('production', raw);
      assertStatus(res, 200);
      assertJson(res);
      assert.deepEqual(res.json, {
        status: 'delivered',
        event_id: eventId,
        braze: { status: 201, attributes_processed: 1, events_processed: 1, purchases_processed: 0 },
      });

      const requests = await standinRequests();
      assert.equal(requests.length, 1, 'exactly one /users/track request');
      const [request] = requests;
      assert.equal(request.method, 'POST');
      assert.equal(request.key_index, KEY_INDEX.production, 'sent with BRAZE_API_KEY_PRODUCTION');
      assert.equal(request.status, 201);
      assert.equal(request.fault, null);
      assert.deepEqual(request.violations, []);
      assert.deepEqual(request.body, expected, 'the request body Braze got');

      const received = await standinReceived();
      assert.deepEqual(received, { ...expected, purchases: [] }, 'the objects Braze accepted');

      // Personal data is for attributes only, never inside event properties.
      const properties = JSON.stringify(received.events.map((e) => e.properties)).toLowerCase();
      for (const pii of [...SAMPLE_EMAILS, ...SAMPLE_PHONES]) assert.ok(!properties.includes(pii.toLowerCase()), pii);
      for (const field of ['email', 'recipient_email', 'phone', 'phone_number', 'first_name', 'last_name']) {
        assert.ok(!(field in received.events[0].properties), `property ${field}`);
      }
    });
  }
});

describe('dedup', () => {
  test('the same event twice: second answer 200 duplicate, Braze got it once', async () => {
    const body = JSON.stringify(variant('converted.json'));
    const { event_id: eventId } = JSON.parse(body);

    const first = await relay.post('production', body);
    assertStatus(first, 200);
    assert.equal(first.json.status, 'delivered');
    assert.equal(first.json.event_id, eventId);

    const second = await relay.post('production', body);
    assertStatus(second, 200);
    assertJson(second);
    assert.deepEqual(second.json, { status: 'duplicate', event_id: eventId });

    const requests = await standinRequests();
    assert.equal(requests.length, 1, 'Braze must not see the duplicate');
    assert.equal((await receivedEventsWithId(eventId)).length, 1);
  });
});

describe('dedup is per environment', () => {
  test('the same event id in staging and production is delivered to each once', async () => {
    const body = JSON.stringify(variant('shared.json'));
    const prod = await relay.post('production', body);
    const stag = await relay.post('staging', body, { key: EXTOLE_KEY_STAGING_NEW });
    assertStatus(prod, 200);
    assertStatus(stag, 200);
    assert.equal(prod.json.status, 'delivered');
    assert.equal(stag.json.status, 'delivered');
    const requests = await standinRequests();
    assert.deepEqual(requests.map((r) => r.key_index), [KEY_INDEX.production, KEY_INDEX.staging]);
  });
});

describe('authentication (HS256)', () => {
  const body = () => JSON.stringify(variant('shared.json'));

  function assertUnauthorized(res) {
    assertError(res, 401, 'unauthorized', { retryable: false });
    assert.match(res.json.message, /HS256/, 'the message names the expected scheme');
    assertNoKeys(res.text);
  }

  test('missing signature -> 401 naming the scheme', async () => {
    const res = await relay.post('production', body(), { sign: false });
    assertUnauthorized(res);
    assert.match(res.json.message, /X-Extole-Signature/);
    await assertBrazeUntouched();
  });

  test('signature made with the wrong key -> 401', async () => {
    const res = await relay.post('production', body(), { key: WRONG_EXTOLE_KEY });
    assertUnauthorized(res);
    await assertBrazeUntouched();
  });

  test('another environment\'s key -> 401', async () => {
    const res = await relay.post('production', body(), { key: EXTOLE_KEY_STAGING_NEW });
    assertUnauthorized(res);
    const res2 = await relay.post('staging', body(), { key: EXTOLE_KEY_PRODUCTION });
    assertUnauthorized(res2);
    await assertBrazeUntouched();
  });

  test('truncated or mangled hex -> 401', async () => {
    const raw = body();
    const good = sign(raw, EXTOLE_KEY_PRODUCTION);
    for (const header of [good.slice(0, 63), good.slice(0, 62), good.slice(0, 40), `${good}00`, `sha1=${good.slice(0, 40)}`, '']) {
      const res = await relay.post('production', raw, { sign: false, headers: { 'X-Extole-Signature': header } });
      assertUnauthorized(res);
    }
    await assertBrazeUntouched();
  });

  test('sha256= prefix with uppercase hex is accepted', async () => {
    const raw = body();
    const header = `sha256=${sign(raw, EXTOLE_KEY_PRODUCTION).toUpperCase()}`;
    const res = await relay.post('production', raw, { sign: false, headers: { 'X-Extole-Signature': header } });
    assertStatus(res, 200);
    assert.equal(res.json.status, 'delivered');
    const requests = await standinRequests();
    assert.equal(requests.length, 1);
    assert.equal(requests[0].key_index, KEY_INDEX.production);
  });

  test('key rotation: staging accepts both old-key and new-key', async () => {
    const oldBody = body();
    const newBody = body();
    const viaOld = await relay.post('staging', oldBody, { key: EXTOLE_KEY_STAGING_OLD });
    assertStatus(viaOld, 200);
    assert.equal(viaOld.json.status, 'delivered');
    const viaNew = await relay.post('staging', newBody, { key: EXTOLE_KEY_STAGING_NEW });
    assertStatus(viaNew, 200);
    assert.equal(viaNew.json.status, 'delivered');

    const requests = await standinRequests();
    assert.equal(requests.length, 2);
    for (const r of requests) assert.equal(r.key_index, KEY_INDEX.staging, 'sent with BRAZE_API_KEY_STAGING');
    assert.deepEqual(
      requests.map((r) => r.body.events[0].properties.event_id),
      [JSON.parse(oldBody).event_id, JSON.parse(newBody).event_id],
    );
  });
});

describe('malformed requests never reach Braze', () => {
  test('not JSON -> 400 invalid_json', async () => {
    const res = await relay.post('production', '{"type": "shared", "data": {"email": "omar.haddad@example.com" oops');
    assertError(res, 400, 'invalid_json', { retryable: false });
    assert.ok(!res.text.includes('omar.haddad'), 'the error must not quote the body');
    const res2 = await relay.post('production', 'this is not json');
    assertError(res2, 400, 'invalid_json', { retryable: false });
    await assertBrazeUntouched();
  });

  test('JSON without an event name -> 400 missing_event_name with `at`', async () => {
    const res = await relay.post('production', { event_id: 'no-name-1', data: { partner_user_id: 'cust-1' } });
    assertError(res, 400, 'missing_event_name', { retryable: false });
    assert.equal(res.json.at, '/');
    await assertBrazeUntouched();
  });

  test('empty body -> 400', async () => {
    const res = await relay.post('production', '');
    assertError(res, 400, 'empty_body', { retryable: false });
    await assertBrazeUntouched();
  });

  test('body over 256 KiB -> 413 payload_too_large (exactly 256 KiB is accepted)', async () => {
    const event = JSON.stringify(variant('shared.json'));
    // JSON allows trailing whitespace: pad a valid event to the exact sizes.
    const atLimit = event + ' '.repeat(MAX_BODY_BYTES - Buffer.byteLength(event));
    const overLimit = `${atLimit} `;
    assert.equal(Buffer.byteLength(overLimit), MAX_BODY_BYTES + 1);

    const res = await relay.post('production', overLimit);
    assertError(res, 413, 'payload_too_large', { retryable: false });
    await assertBrazeUntouched();

    const big = await relay.post('production', overLimit + ' '.repeat(MAX_BODY_BYTES));
    assertError(big, 413, 'payload_too_large', { retryable: false });
    await assertBrazeUntouched();

    const ok = await relay.post('production', atLimit);
    assertStatus(ok, 200);
    assert.equal(ok.json.status, 'delivered');
    assert.equal((await standinRequests()).length, 1);
  });

  test('no external id and no valid email -> 422 unidentified_person', async () => {
    const event = { type: 'shared', event_id: `unidentified-${++idCounter}`, event_time: '2026-11-20T09:21:47.002Z', data: { email: 'not-an-email', channel: 'EMAIL' } };
    const res = await relay.post('production', event);
    assertError(res, 422, 'unidentified_person', { retryable: false });
    await assertBrazeUntouched();
  });
});

describe('Braze failures: Extole is told to retry, and the retry delivers exactly once', () => {
  /**
   * Injects `fault`, posts a fresh event (answer checked by `checkFailure`), then posts the
   * same bytes again: delivered, and Braze holds the event exactly once.
   */
  async function failThenRetry(fault, checkFailure, { settle } = {}) {
    await relay.control('POST', '/_standin/faults', { faults: [fault] });
    const body = JSON.stringify(variant('converted.json'));
    const { event_id: eventId } = JSON.parse(body);

    const started = Date.now();
    const failed = await relay.post('production', body);
    const finished = Date.now();
    await checkFailure(failed, { started, finished });
    assertNoKeys(failed.text);

    const retry = await relay.post('production', body);
    assertStatus(retry, 200);
    assert.equal(retry.json.status, 'delivered', 'the failed event was not recorded as handled');
    assert.equal(retry.json.event_id, eventId);

    if (settle) await settle();
    const requests = await standinRequests();
    assert.equal(requests.length, 2, 'one failed attempt, one retry');
    assert.ok(requests[0].fault, 'the first attempt met the fault');
    assert.equal(requests[1].fault, null);
    assert.equal(requests[1].status, 201);
    for (const r of requests) {
      assert.equal(r.key_index, KEY_INDEX.production);
      assert.equal(r.body.events[0].properties.event_id, eventId, 'the retry resends the same event');
    }
    const received = await receivedEventsWithId(eventId);
    assert.equal(received.length, 1, 'Braze holds the event exactly once');
    assert.equal((await standinReceived()).events.length, 1);

    const third = await relay.post('production', body);
    assertStatus(third, 200);
    assert.equal(third.json.status, 'duplicate', 'once delivered, the event is handled');
    return { failed, requests, started, finished };
  }

  function retryAfterOf(res) {
    const header = res.headers.get('retry-after');
    assert.ok(header !== null, `a Retry-After header is expected: ${res.text}`);
    assert.match(header, /^\d+$/, 'Retry-After in whole seconds');
    const seconds = Number(header);
    assert.ok(seconds >= 1 && seconds <= 3600, `Retry-After ${seconds}`);
    return seconds;
  }

  function assertUnavailable(res, brazeStatus) {
    assertError(res, 503, 'braze_unavailable', { retryable: true });
    retryAfterOf(res);
    if (brazeStatus === undefined) assert.equal(res.json.braze_status, undefined);
    else assert.equal(res.json.braze_status, brazeStatus);
  }

  test('Braze 503 -> 503 braze_unavailable with Retry-After', async () => {
    await failThenRetry({ status: 503 }, (res) => assertUnavailable(res, 503));
  });

  test('Braze 500 -> 503 braze_unavailable with Retry-After', async () => {
    await failThenRetry({ status: 500 }, (res) => assertUnavailable(res, 500));
  });

  test('Braze 429 with a reset in 5 s -> 503 with Retry-After between 1 and the reset', async () => {
    const { failed, requests, started, finished } = await failThenRetry(
      { status: 429, reset_after_s: 5 },
      (res) => assertUnavailable(res, 429),
    );
    const retryAfter = retryAfterOf(failed);
    // The stand-in sent X-RateLimit-Reset = ceil(t_braze + 5 s) (epoch seconds). The relay
    // read its clock between `started` and `finished`, in whole seconds.
    const reset = Math.ceil((Date.parse(requests[0].received_at) + 5000) / 1000);
    const upper = reset - Math.floor(started / 1000);
    const lower = Math.max(1, reset - Math.ceil(finished / 1000));
    assert.ok(retryAfter >= lower && retryAfter <= upper, `Retry-After ${retryAfter} not in [${lower}, ${upper}]`);
    assert.ok(retryAfter >= 1 && retryAfter <= 6, `Retry-After ${retryAfter} s for a reset 5 s away`);
  });

  test('Braze 503 with its own Retry-After: the delay is passed on', async () => {
    const { failed } = await failThenRetry({ status: 503, retry_after_s: 12 }, (res) => assertUnavailable(res, 503));
    assert.equal(failed.headers.get('retry-after'), '12');
  });

  test('Braze 201 without "message": "success" -> 503', async () => {
    await failThenRetry({ kind: 'no_success', status: 201 }, (res) => assertUnavailable(res, 201));
  });

  test('Braze 201 with a non-JSON body -> 503', async () => {
    await failThenRetry({ kind: 'not_json', status: 201 }, (res) => assertUnavailable(res, 201));
  });

  test('connection dropped by Braze -> 503', async () => {
    await failThenRetry({ kind: 'drop' }, (res) => assertUnavailable(res, undefined));
  });

  test('Braze slower than the relay\'s 5 s timeout -> 503 within ~7 s', async () => {
    let requestsAfterSlow;
    await failThenRetry(
      { kind: 'slow', delay_ms: 8000 },
      (res, { started, finished }) => {
        assertUnavailable(res, undefined);
        const elapsed = finished - started;
        assert.ok(elapsed >= BRAZE_TIMEOUT_MS - 500, `answered after ${elapsed} ms, before the timeout`);
        assert.ok(elapsed < 7000, `answered after ${elapsed} ms`);
      },
      {
        // The slow request is still open at the stand-in: wait until it has ended (answered
        // or found its client gone) before counting what Braze holds.
        settle: async () => {
          const deadline = Date.now() + 12_000;
          for (;;) {
            requestsAfterSlow = await standinRequests();
            const slow = requestsAfterSlow[0];
            if (slow.status !== null || slow.fault?.client_gone) break;
            assert.ok(Date.now() < deadline, 'the slow request never ended');
            await sleep(200);
          }
        },
      },
    );
    assert.equal(requestsAfterSlow[0].fault.client_gone, true, 'the relay abandoned (closed) the slow request');
    assert.equal(requestsAfterSlow[0].status, null);
  });

  test('Braze 401 -> 502 braze_rejected; the event is not marked handled', async () => {
    await failThenRetry({ status: 401 }, (res) => {
      assertError(res, 502, 'braze_rejected', { retryable: true });
      assert.equal(res.json.braze_status, 401);
      assert.match(res.json.message, /401/);
    });
  });

  test('a Braze error message quoting the key and an email is not passed on', async () => {
    const message = `Invalid API key ${BRAZE_KEY_PRODUCTION} for user omar.haddad@example.com`;
    await failThenRetry({ status: 400, body: { message } }, (res) => {
      assertError(res, 502, 'braze_rejected', { retryable: true });
      assert.equal(res.json.braze_status, 400);
      assert.ok(!res.text.includes('omar.haddad@example.com'), res.text);
    });
  });
});

describe('batches (a JSON array of events)', () => {
  test('3 events -> one Braze request with the 3 events', async () => {
    const events = [variant('shared.json'), variant('converted.json'), variant('signed-up.json')];
    const ids = events.map((e) => e.event_id);
    const res = await relay.post('production', events);
    assertStatus(res, 200);
    assertJson(res);
    assert.equal(res.json.status, 'delivered');
    assert.deepEqual(res.json.events, ids.map((id) => ({ event_id: id, status: 'delivered' })));
    assert.equal(res.json.event_id, undefined);

    const requests = await standinRequests();
    assert.equal(requests.length, 1, 'one /users/track request for the batch');
    const { body } = requests[0];
    assert.equal(requests[0].key_index, KEY_INDEX.production);
    assert.deepEqual(body.events.map((e) => [e.name, e.properties.event_id]), [
      ['Shared', ids[0]], ['Converted', ids[1]], ['Signed Up', ids[2]],
    ]);
    assert.equal(body.attributes.length, 3);
    assert.deepEqual(res.json.braze, {
      status: 201, attributes_processed: 3, events_processed: 3, purchases_processed: 0,
    });
    const received = await standinReceived();
    assert.equal(received.events.length, 3);
  });

  test('second event unidentified -> the others delivered, 422 lists each fate; a resend sends nothing again', async () => {
    const first = variant('converted.json');
    const bad = { type: 'shared', event_id: `unidentified-${++idCounter}`, data: { email: 'nobody-at-example', channel: 'EMAIL' } };
    const third = variant('reward-earned.json');
    const batch = JSON.stringify([first, bad, third]);

    const res = await relay.post('production', batch);
    assertError(res, 422, 'unidentified_person', { retryable: false });
    assert.ok(Array.isArray(res.json.events), res.text);
    assert.deepEqual(res.json.events.map((e) => [e.event_id, e.status]), [
      [first.event_id, 'delivered'], [bad.event_id, 'failed'], [third.event_id, 'delivered'],
    ]);
    assert.equal(res.json.events[1].error.error, 'unidentified_person');
    assert.match(res.json.events[1].error.message, /event 1/);

    let requests = await standinRequests();
    assert.equal(requests.length, 1);
    assert.deepEqual(requests[0].body.events.map((e) => [e.name, e.properties.event_id]), [
      ['Converted', first.event_id], ['Earned Reward', third.event_id],
    ]);

    const again = await relay.post('production', batch);
    assertError(again, 422, 'unidentified_person', { retryable: false });
    assert.deepEqual(again.json.events.map((e) => [e.event_id, e.status]), [
      [first.event_id, 'duplicate'], [bad.event_id, 'failed'], [third.event_id, 'duplicate'],
    ]);
    requests = await standinRequests();
    assert.equal(requests.length, 1, 'the resend did not reach Braze');
    assert.equal((await standinReceived()).events.length, 2);
  });
});

describe('secrets and personal data (runs last)', () => {
  test('no key, email or phone number in any log line or response body', async () => {
    // Whatever ran before, this file's traffic includes an event full of personal data.
    const event = variant('signed-up.json');
    const res = await relay.post('production', event);
    assertStatus(res, 200);
    await sleep(500); // let the last log lines arrive
    const logs = relay.logs();
    const responses = relay.responses();

    // The capture works: one JSON request line per request the Worker handled.
    const requestLines = logs.filter((l) => l.startsWith('{') && l.includes('"msg":"request"'));
    assert.ok(requestLines.length >= responses.length, `${requestLines.length} request log lines for ${responses.length} responses`);
    assert.ok(
      requestLines.some((l) => l.includes(event.event_id) && l.includes('"outcome":"delivered"')),
      'the delivery of the last event is logged',
    );

    const emailPattern = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/;
    const places = [
      ...logs.map((line, i) => [`log line ${i}`, line]),
      ...responses.map((r, i) => [`response ${i} (${r.method} ${r.path} ${r.status})`, `${JSON.stringify(r.headers)} ${r.text}`]),
    ];
    const leaks = [];
    for (const [where, text] of places) {
      const lower = text.toLowerCase();
      for (const key of ALL_KEYS) if (text.includes(key)) leaks.push(`${where}: key ${key}`);
      for (const email of SAMPLE_EMAILS) if (lower.includes(email)) leaks.push(`${where}: email ${email}`);
      for (const phone of SAMPLE_PHONES) if (text.includes(phone)) leaks.push(`${where}: phone ${phone}`);
      const anyEmail = emailPattern.exec(text);
      if (anyEmail) leaks.push(`${where}: email-like ${anyEmail[0]}`);
    }
    assert.deepEqual(leaks, []);
  });
});
