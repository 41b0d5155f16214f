// Queued delivery inside workerd (wrangler dev with its local Cloudflare Queues): batching,
// a 429 with a reset time, an outage longer than several retries, an item-level error, a
// permanent 401, and a replay from the dead-letter store.
//
// The relay runs production in queue mode (a KV config document), with short backoffs so the
// retries fit in a test run.

import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRelay } from './harness.mjs';

const EXTOLE_KEY = 'e2e-queue-extole-key';
const BRAZE_KEY = 'e2e-queue-braze-key';
const ADMIN_TOKEN = 'e2e-queue-admin-token';
const QUEUE_CONFIG = {
  delivery: 'queue',
  queue: { max_failures: 4, base_backoff_seconds: 1, max_backoff_seconds: 4 },
};

let relay;
let counter = 0;

/** A distinct shared event for a distinct person. */
function event() {
  counter += 1;
  const id = `qe-${process.pid}-${counter}`;
  return { type: 'shared', event_id: id, data: { partner_user_id: `qu-${counter}`, channel: 'EMAIL' } };
}

async function putConfig(env, doc) {
  await relay.putConfig(env, doc);
  await sleep(1500); // RELAY_CONFIG_CACHE_SECONDS=1
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check()` returns a truthy value or `timeoutMs` passes. */
async function waitFor(what, check, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

const requests = async () => (await relay.control('GET', '/_standin/requests')).requests;
const received = async () => (await relay.control('GET', '/_standin/received')).events;

function admin(method, pathname, body) {
  return relay.request(method, pathname, {
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
  });
}

async function deadLetters() {
  const res = await admin('GET', '/admin/dead-letters');
  assert.equal(res.status, 200, res.text);
  return res.json.dead_letters;
}

async function enqueue(ev) {
  const res = await relay.post('production', JSON.stringify(ev));
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, { status: 'queued', event_id: ev.event_id });
  return res;
}

/** How many times the stand-in accepted an event with this id. */
async function deliveredCount(id) {
  return (await received()).filter((e) => e.properties?.event_id === id).length;
}

describe('queued delivery in workerd', () => {
  before(async () => {
    relay = await startRelay({
      vars: {
        EXTOLE_WEBHOOK_SECRET_PRODUCTION: EXTOLE_KEY,
        BRAZE_API_KEY_PRODUCTION: BRAZE_KEY,
        RELAY_ADMIN_TOKEN: ADMIN_TOKEN,
        RELAY_CONFIG_CACHE_SECONDS: '1',
      },
      standinOptions: { keys: [BRAZE_KEY] },
    });
    await putConfig('production', QUEUE_CONFIG);
  });

  after(async () => {
    await relay?.stop();
  });

  afterEach(async () => {
    const { violations } = await relay.control('GET', '/_standin/violations');
    assert.deepEqual(violations, [], 'the relay sent something Braze would refuse');
    await relay.control('POST', '/_standin/reset');
  });

  test('many events arrive as few Braze requests, each event once', async () => {
    const events = Array.from({ length: 60 }, event);
    await Promise.all(events.map(enqueue));
    await waitFor('60 events in Braze', async () => (await received()).length >= 60);
    await sleep(2500); // nothing more may arrive
    const got = await received();
    assert.equal(got.length, 60);
    assert.deepEqual(new Set(got.map((e) => e.properties.event_id)), new Set(events.map((e) => e.event_id)));
    const sent = await requests();
    assert.ok(sent.length <= 3, `60 events took ${sent.length} Braze requests`);
    assert.ok(sent.every((r) => r.status === 201 && r.body.events.length <= 75));
    // A duplicate arriving after delivery is answered at the edge and never queued again.
    const again = await relay.post('production', JSON.stringify(events[0]));
    assert.equal(again.json.status, 'duplicate');
  });

  test('a 429 with a reset time is waited out, then delivered once', async () => {
    await relay.control('POST', '/_standin/faults', { faults: [{ status: 429, reset_after_s: 3 }] });
    const ev = event();
    await enqueue(ev);
    await waitFor('delivery after the rate limit', async () => (await deliveredCount(ev.event_id)) === 1, 30_000);
    const sent = await requests();
    assert.deepEqual(sent.map((r) => r.status), [429, 201]);
    const waited = Date.parse(sent[1].received_at) - Date.parse(sent[0].received_at);
    assert.ok(waited >= 2500, `retried after ${waited} ms, before the 3 s reset`);
    assert.deepEqual(await deadLetters(), []);
  });

  test('an outage longer than several retries backs off, then delivers once', async () => {
    await relay.control('POST', '/_standin/faults', { faults: [{ status: 503, times: 2 }, { status: 500, times: 1 }, { kind: 'drop' }] });
    const ev = event();
    await enqueue(ev);
    await waitFor('delivery after the outage', async () => (await deliveredCount(ev.event_id)) === 1, 60_000);
    const sent = await requests();
    assert.deepEqual(sent.map((r) => r.status), [503, 503, 500, null, 201]);
    const gaps = sent.slice(1).map((r, i) => Date.parse(r.received_at) - Date.parse(sent[i].received_at));
    assert.ok(gaps.every((gap) => gap >= 900), `retries came too fast: ${gaps}`);
    assert.deepEqual(await deadLetters(), []);
    await sleep(1500);
    assert.equal(await deliveredCount(ev.event_id), 1);
  });

  test('an item-level error dead-letters only its event, with the reason', async () => {
    const events = [event(), event()];
    await relay.control('POST', '/_standin/faults', {
      faults: [{ status: 201, body: { message: 'success', attributes_processed: 0, events_processed: 1, errors: [{ type: "'name' is invalid", input_array: 'events', index: 1 }] } }],
    });
    await Promise.all(events.map(enqueue));
    const letters = await waitFor('one dead letter', async () => {
      const all = await deadLetters();
      return all.length === 1 && all;
    });
    const [letter] = letters;
    assert.equal(letter.braze_status, 201);
    assert.match(letter.reason, /'name' is invalid/);
    assert.equal(letter.braze_errors[0].input_array, 'events');
    assert.ok(events.some((e) => e.event_id === letter.event_id));
    // The other event is handled: a second copy of it is a duplicate at the edge.
    const other = events.find((e) => e.event_id !== letter.event_id);
    assert.equal((await relay.post('production', JSON.stringify(other))).json.status, 'duplicate');
    // Replay re-drives the refused one.
    const replay = await admin('POST', '/admin/dead-letters/replay', { ids: [letter.id] });
    assert.equal(replay.status, 200, replay.text);
    assert.deepEqual(replay.json.report.replayed, [letter.id]);
    await waitFor('the replayed event in Braze', async () => (await deliveredCount(letter.event_id)) === 1);
    assert.deepEqual(await deadLetters(), []);
  });

  test('a permanent 401 dead-letters without retrying; replay after the fix delivers', async () => {
    await relay.control('POST', '/_standin/faults', { faults: [{ status: 401 }] });
    const ev = event();
    await enqueue(ev);
    const [letter] = await waitFor('the dead letter', async () => {
      const all = await deadLetters();
      return all.length === 1 && all;
    });
    assert.equal(letter.event_id, ev.event_id);
    assert.equal(letter.braze_status, 401);
    assert.match(letter.reason, /401/);
    assert.equal(letter.replayable, true);
    assert.equal((await requests()).length, 1, 'a 401 is not retried');
    assert.ok(!JSON.stringify(letter).includes(BRAZE_KEY));

    const unauthorized = await relay.request('POST', '/admin/dead-letters/replay', { body: '{}' });
    assert.equal(unauthorized.status, 401);
    const replay = await admin('POST', '/admin/dead-letters/replay', {});
    assert.deepEqual(replay.json.report.replayed, [letter.id]);
    await waitFor('delivery after replay', async () => (await deliveredCount(ev.event_id)) === 1);
    assert.deepEqual(await deadLetters(), []);
  });

  test('an event too large for a queue message is refused at the edge with 413', async () => {
    const attributes = Object.fromEntries(Array.from({ length: 450 }, (_, i) => [`a${i}`, { from: `data.f${i}`, transform: 'trim' }]));
    await putConfig('production', { ...QUEUE_CONFIG, attributes });
    const data = Object.fromEntries(Array.from({ length: 450 }, (_, i) => [`f${i}`, 'x'.repeat(250)]));
    const res = await relay.post('production', JSON.stringify({ type: 'shared', event_id: 'too-big', userId: 'u', data }));
    assert.equal(res.status, 413, res.text);
    assert.equal(res.json.error, 'message_too_large');
    await putConfig('production', QUEUE_CONFIG);
    await sleep(2500);
    assert.deepEqual(await requests(), []);
  });
});
