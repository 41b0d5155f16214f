// Strict dedup inside workerd: 20 simultaneous copies of one event, with Braze slow enough
// that they all overlap the first delivery, reach Braze exactly once (one Durable Object per
// event id serialises them). In KV mode the same burst can deliver several times: KV is
// eventually consistent and checked before delivery (see README).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRelay } from './harness.mjs';

const EXTOLE_KEY = 'e2e-strict-extole-key';
const BRAZE_KEY = 'e2e-strict-braze-key';
const COPIES = 20;

let relay;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

describe('strict dedup in workerd', () => {
  before(async () => {
    relay = await startRelay({
      vars: { EXTOLE_WEBHOOK_SECRET_PRODUCTION: EXTOLE_KEY, BRAZE_API_KEY_PRODUCTION: BRAZE_KEY, RELAY_CONFIG_CACHE_SECONDS: '1' },
      standinOptions: { keys: [BRAZE_KEY] },
    });
    await relay.putConfig('production', { dedup: 'strict' });
    await sleep(1500);
  });

  after(async () => {
    await relay?.stop();
  });

  test(`${COPIES} simultaneous copies of one event reach Braze once`, async () => {
    // Braze answers the first request after 1.5 s: every copy arrives while it is in flight.
    await relay.control('POST', '/_standin/faults', { faults: [{ kind: 'slow', delay_ms: 1500 }] });
    const body = JSON.stringify({ type: 'shared', event_id: 'strict-burst-1', data: { partner_user_id: 'sb-1' } });
    const answers = await Promise.all(Array.from({ length: COPIES }, () => relay.post('production', body)));
    const delivered = answers.filter((a) => a.status === 200 && a.json.status === 'delivered');
    const inFlight = answers.filter((a) => a.status === 503 && a.json.error === 'in_flight');
    const duplicate = answers.filter((a) => a.status === 200 && a.json.status === 'duplicate');
    assert.equal(delivered.length, 1, JSON.stringify(answers.map((a) => [a.status, a.json?.status, a.json?.error])));
    assert.equal(delivered.length + inFlight.length + duplicate.length, COPIES, 'every answer is delivered, in_flight or duplicate');
    assert.ok(inFlight.every((a) => a.headers.get('retry-after') === '10'));

    const received = (await relay.control('GET', '/_standin/received')).events;
    assert.equal(received.filter((e) => e.properties.event_id === 'strict-burst-1').length, 1);

    // Extole's retries of the refused copies are duplicates, and nothing more reaches Braze.
    const retries = await Promise.all(inFlight.map(() => relay.post('production', body)));
    assert.ok(retries.every((a) => a.status === 200 && a.json.status === 'duplicate'));
    assert.equal((await relay.control('GET', '/_standin/requests')).requests.length, 1);
    assert.deepEqual((await relay.control('GET', '/_standin/violations')).violations, []);
  });

  test('a failed delivery releases the event for the next copy', async () => {
    await relay.control('POST', '/_standin/reset');
    await relay.control('POST', '/_standin/faults', { faults: [{ status: 503 }] });
    const body = JSON.stringify({ type: 'shared', event_id: 'strict-retry-1', data: { partner_user_id: 'sr-1' } });
    const first = await relay.post('production', body);
    assert.equal(first.status, 503);
    assert.equal(first.json.error, 'braze_unavailable');
    const second = await relay.post('production', body);
    assert.equal(second.json.status, 'delivered', second.text);
    assert.equal((await relay.post('production', body)).json.status, 'duplicate');
    assert.deepEqual((await relay.control('GET', '/_standin/requests')).requests.map((r) => r.status), [503, 201]);
  });
});
