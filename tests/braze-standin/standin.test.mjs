// Tests for the Braze stand-in: real HTTP against an in-process server on a free port.
// Run: node --test tests/braze-standin/

import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startStandin } from './server.mjs';
import { validateUsersTrack, COUNTRY_CODES, CURRENCY_CODES, LIMITS } from './rules.mjs';

const KEYS = ['key-one', 'key-two'];
const TIME = '2024-05-01T12:00:00.000Z';

const event = (extra = {}) => ({ external_id: 'user-1', name: 'extole_shared', time: TIME, ...extra });
const purchase = (extra = {}) => ({
  external_id: 'user-1', product_id: 'order', currency: 'USD', price: 12.5, quantity: 1, time: TIME, ...extra,
});
const attribute = (extra = {}) => ({ external_id: 'user-1', ...extra });
const events = (n) => Array.from({ length: n }, (_, i) => event({ properties: { i } }));

let standin;
let base;

async function track(body, { key = KEYS[0], contentType = 'application/json', raw, method = 'POST', signal } = {}) {
  const headers = {};
  if (key !== null) headers.Authorization = `Bearer ${key}`;
  if (contentType !== null) headers['Content-Type'] = contentType;
  const res = await fetch(`${base}/users/track`, {
    method,
    headers,
    body: method === 'GET' ? undefined : (raw ?? JSON.stringify(body)),
    signal,
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON: kept as text */ }
  return { status: res.status, headers: res.headers, json, text };
}

async function control(method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null, text, headers: res.headers };
}

const lastRecord = async () => (await control('GET', '/_standin/requests')).json.requests.at(-1);

/** Sends one object of `kind` and returns the item error types for it. */
async function itemErrorsFor(kind, obj) {
  // A second, valid object keeps the request a 201 so item errors show up in `errors`.
  const body = { [kind]: [obj], ...(kind === 'events' ? { attributes: [attribute()] } : { events: [event()] }) };
  const res = await track(body);
  assert.equal(res.status, 201, JSON.stringify(res.json));
  return (res.json.errors ?? []).filter((e) => e.input_array === kind).map((e) => e.type);
}

async function assertItemError(kind, obj, pattern) {
  const errors = await itemErrorsFor(kind, obj);
  assert.equal(errors.length, 1, `expected one ${kind} error for ${JSON.stringify(obj).slice(0, 120)}`);
  assert.match(errors[0], pattern);
}

async function assertItemOk(kind, obj) {
  assert.deepEqual(await itemErrorsFor(kind, obj), [], `expected ${JSON.stringify(obj).slice(0, 120)} to be valid`);
}

before(async () => {
  standin = await startStandin({ keys: KEYS });
  base = standin.url;
});
after(() => standin.close());
beforeEach(async () => {
  await control('POST', '/_standin/reset');
  await control('PUT', '/_standin/config', { keys: KEYS, combined_cap: null, rate_limit: null });
});

describe('POST /users/track: valid traffic', () => {
  it('answers 201 with counts and rate-limit headers', async () => {
    const res = await track({
      attributes: [attribute({ email: 'ann@example.com', country: 'GB', email_subscribe: 'opted_in' })],
      events: [event(), event({ name: 'extole_converted' })],
      purchases: [purchase()],
    });
    assert.equal(res.status, 201);
    assert.deepEqual(res.json, {
      message: 'success', attributes_processed: 1, events_processed: 2, purchases_processed: 1,
    });
    assert.equal(res.headers.get('x-ratelimit-limit'), '3000');
    assert.equal(res.headers.get('x-ratelimit-remaining'), '2999');
    const reset = Number(res.headers.get('x-ratelimit-reset'));
    assert.ok(reset >= Date.now() / 1000 && reset <= Date.now() / 1000 + 5, `reset ${reset}`);
  });

  it('records the request without the key and reports no violations', async () => {
    await track({ events: [event()] }, { key: KEYS[1] });
    const rec = await lastRecord();
    assert.equal(rec.seq, 1);
    assert.equal(rec.key_index, 1);
    assert.equal(rec.status, 201);
    assert.deepEqual(rec.body, { events: [event()] });
    assert.equal(rec.raw_length, JSON.stringify({ events: [event()] }).length);
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(rec.violations, []);
    assert.match(rec.received_at, /^\d{4}-\d{2}-\d{2}T/);
    const all = JSON.stringify((await control('GET', '/_standin/requests')).json);
    assert.ok(!all.includes(KEYS[1]), 'the key must never be recorded');
    assert.deepEqual((await control('GET', '/_standin/violations')).json, { violations: [] });
  });

  it('accepts the documented shapes of every standard attribute', async () => {
    await assertItemOk('attributes', attribute({
      first_name: 'Ann', last_name: null, email: 'ann+tag@mail.example.co.uk', phone: '+14155550123',
      country: 'DE', language: 'de', dob: '1990-02-28', gender: 'F', time_zone: 'Europe/Berlin',
      email_subscribe: 'subscribed', push_subscribe: 'unsubscribed', home_city: 'Berlin',
      subscription_groups: [{ subscription_group_id: 'sg-1', subscription_state: 'subscribed' }],
      extole_share_link: 'https://share.example/abc', extole_points: 12, vip: true, tags: ['a', 'b'],
      coupons: { add: ['C1'] }, old_coupons: { remove: ['C0'] }, shares: { inc: 1 },
      nested: { tier: 'gold', since: '2024-01-01' }, cleared: null,
    }));
  });

  it('accepts email+phone together, alias-only profiles in create mode, and purchase quantities 1..100', async () => {
    await assertItemOk('events', { email: 'a@example.com', phone: '+14155550123', name: 'x', time: TIME });
    await assertItemOk('attributes', {
      user_alias: { alias_name: 'a@example.com', alias_label: 'email' }, _update_existing_only: false, first_name: 'A',
    });
    await assertItemOk('purchases', purchase({ quantity: 100, currency: 'EUR' }));
    await assertItemOk('events', event({ time: '2024-05-01T12:00:00+02:00' }));
    await assertItemOk('events', event({ time: '2024-05-01T12:00:00Z' }));
  });

  it('accepts strings of exactly 255 characters (counted in code points)', async () => {
    await assertItemOk('events', event({ properties: { s: 'x'.repeat(255), emoji: '😀'.repeat(255) } }));
    await assertItemOk('attributes', attribute({ note: 'y'.repeat(255) }));
  });
});

describe('POST /users/track: authentication', () => {
  it('401 without a header, with a wrong scheme or an unknown key, never echoing it', async () => {
    for (const [key, contentType] of [[null, 'application/json'], ['nope-secret', 'application/json']]) {
      const res = await track({ events: [event()] }, { key, contentType });
      assert.equal(res.status, 401);
      assert.match(res.json.message, /^Invalid API key: /);
      assert.ok(!res.text.includes('nope-secret'));
      assert.ok(res.headers.get('x-ratelimit-limit'));
    }
    const basic = await fetch(`${base}/users/track`, {
      method: 'POST',
      headers: { Authorization: `Basic ${KEYS[0]}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ events: [event()] }),
    });
    assert.equal(basic.status, 401);
    const recs = (await control('GET', '/_standin/requests')).json.requests;
    assert.deepEqual(recs.map((r) => [r.status, r.key_index]), [[401, null], [401, null], [401, null]]);
    assert.ok(recs.every((r) => r.violations.some((v) => v.includes('unauthorized'))));
    assert.deepEqual((await control('GET', '/_standin/received')).json, { attributes: [], events: [], purchases: [] });
  });

  it('accepts any non-empty bearer key when no keys are configured', async () => {
    await control('PUT', '/_standin/config', { keys: [] });
    const res = await track({ events: [event()] }, { key: 'whatever' });
    assert.equal(res.status, 201);
    assert.equal((await lastRecord()).key_index, null);
    assert.equal((await track({ events: [event()] }, { key: null })).status, 401);
  });
});

describe('POST /users/track: request-level rules', () => {
  it('400 unless Content-Type is application/json', async () => {
    assert.equal((await track({ events: [event()] }, { contentType: 'text/plain' })).status, 400);
    assert.equal((await track({ events: [event()] }, { contentType: null })).status, 400);
    assert.equal((await track({ events: [event()] }, { contentType: 'application/json; charset=latin1' })).status, 400);
    assert.equal((await track({ events: [event()] }, { contentType: 'application/json; charset=UTF-8' })).status, 201);
  });

  it('400 for non-JSON, non-object, unknown keys, non-array arrays and empty bodies', async () => {
    const cases = [
      [{ raw: '{"events": [' }, /not valid JSON/],
      [{ raw: '[]' }, /JSON object/],
      [{ raw: 'null' }, /JSON object/],
      [{ raw: JSON.stringify({ events: [event()], extra: 1 }) }, /Unknown top-level key/],
      [{ raw: JSON.stringify({ events: event() }) }, /'events' must be an array/],
      [{ raw: JSON.stringify({ attributes: null }) }, /'attributes' must be an array/],
      [{ raw: '{}' }, /no attributes, events or purchases/],
      [{ raw: JSON.stringify({ events: [], purchases: [] }) }, /no attributes, events or purchases/],
    ];
    for (const [opts, pattern] of cases) {
      const res = await track(undefined, opts);
      assert.equal(res.status, 400, opts.raw);
      assert.match(res.json.message, pattern, opts.raw);
    }
    const violations = (await control('GET', '/_standin/violations')).json.violations;
    assert.equal(violations.length, cases.length);
    assert.ok(violations.every((v) => v.where === 'request'));
  });

  it('at most 75 objects per array', async () => {
    assert.equal((await track({ events: events(75) })).status, 201);
    const res = await track({ events: events(76) });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json, { message: 'Max Input Length Exceeded' });
    assert.equal((await track({ attributes: Array.from({ length: 76 }, () => attribute({ a: 1 })) })).status, 400);
    const received = (await control('GET', '/_standin/received')).json;
    assert.equal(received.events.length, 75);
  });

  it('combined cap, from start-up options or at run time', async () => {
    assert.equal((await track({ events: events(40), purchases: Array.from({ length: 20 }, () => purchase()) })).status, 201);
    const cfg = await control('PUT', '/_standin/config', { combined_cap: 50 });
    assert.equal(cfg.json.config.combined_cap, 50);
    const over = await track({ events: events(40), attributes: Array.from({ length: 11 }, () => attribute({ a: 1 })) });
    assert.equal(over.status, 400);
    assert.equal(over.json.message, 'Max Input Length Exceeded');
    assert.equal((await track({ events: events(40), attributes: Array.from({ length: 10 }, () => attribute({ a: 1 })) })).status, 201);

    const capped = await startStandin({ keys: KEYS, combinedCap: 2 });
    try {
      const res = await fetch(`${capped.url}/users/track`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${KEYS[0]}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ events: events(3) }),
      });
      assert.equal(res.status, 400);
    } finally {
      await capped.close();
    }
  });

  it('survives a body nested 100,000 levels deep (400, recorded without the body)', async () => {
    const raw = `{"events":[{"properties":{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}}]}`;
    const res = await track(undefined, { raw });
    assert.equal(res.status, 400);
    assert.match(res.json.message, /nested more than/);
    const rec = await lastRecord();
    assert.equal(rec.body, null);
    assert.equal(rec.raw_length, raw.length);
    assert.equal((await fetch(`${base}/`)).status, 200);
  });

  it('405 for other methods, recorded as a violation', async () => {
    const res = await track(undefined, { method: 'GET' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
    const rec = await lastRecord();
    assert.equal(rec.status, 405);
    assert.match(rec.violations[0], /not allowed/);
  });
});

describe('POST /users/track: object-level rules', () => {
  it("attribute names must not start with '$'", async () => {
    await assertItemError('attributes', attribute({ $points: 1 }), /\$/);
  });

  it("'time' and 'event_name' are reserved property keys; keys must be non-empty, no '$', <= 255", async () => {
    await assertItemError('events', event({ properties: { time: 'x' } }), /reserved/);
    await assertItemError('events', event({ properties: { event_name: 'x' } }), /reserved/);
    await assertItemError('purchases', purchase({ properties: { time: 'x' } }), /reserved/);
    await assertItemError('events', event({ properties: { $x: 1 } }), /\$/);
    await assertItemError('events', event({ properties: { '': 1 } }), /empty key/);
    await assertItemError('events', event({ properties: { ['k'.repeat(256)]: 1 } }), /longer than 255/);
    await assertItemError('events', event({ properties: { nested: { $bad: 1 } } }), /\$/);
  });

  it('strings longer than 255 characters, at any depth', async () => {
    const long = 'x'.repeat(256);
    await assertItemError('events', event({ properties: { s: long } }), /longer than 255/);
    await assertItemError('events', event({ properties: { deep: { list: ['ok', long] } } }), /longer than 255/);
    await assertItemError('attributes', attribute({ note: long }), /longer than 255/);
    await assertItemError('attributes', attribute({ first_name: long }), /longer than 255/);
    await assertItemError('events', event({ name: long }), /'name' longer than 255/);
    await assertItemError('purchases', purchase({ product_id: long }), /'product_id' longer/);
  });

  it('properties must stay under 50 KB of JSON', async () => {
    const props = {};
    for (let i = 0; i < 250; i++) props[`k${i}`] = 'v'.repeat(200); // ~52 KB
    await assertItemError('events', event({ properties: props }), /bytes of JSON/);
    await assertItemError('events', event({ properties: [] }), /'properties' must be a JSON object/);
  });

  it('standard attribute formats', async () => {
    await assertItemError('attributes', attribute({ country: 'USA' }), /country/);
    await assertItemError('attributes', attribute({ country: 'us' }), /country/);
    await assertItemError('attributes', attribute({ country: 'XK' }), /country/);
    await assertItemError('attributes', attribute({ email_subscribe: 'yes' }), /email_subscribe/);
    await assertItemError('attributes', attribute({ push_subscribe: true }), /push_subscribe/);
    await assertItemError('attributes', attribute({ email: 'not-an-email' }), /email/);
    await assertItemError('attributes', attribute({ phone: '4155550123' }), /E\.164/);
    await assertItemError('attributes', attribute({ dob: '1990-02-30' }), /dob/);
    await assertItemError('attributes', attribute({ dob: '01/02/1990' }), /dob/);
    await assertItemError('attributes', attribute({ language: 'english' }), /language/);
    await assertItemError('attributes', attribute({ gender: 'male' }), /gender/);
    await assertItemError('attributes', attribute({ time_zone: 'Mars/Olympus' }), /time_zone/);
    await assertItemError('attributes', attribute({
      subscription_groups: [{ subscription_group_id: 'sg', subscription_state: 'opted_in' }],
    }), /subscription group/);
    await assertItemError('attributes', attribute({ subscription_groups: [{ subscription_state: 'subscribed' }] }), /subscription group/);
    await assertItemError('attributes', attribute({ visits: { inc: 1.5 } }), /'inc' must be an integer/);
    await assertItemError('attributes', attribute({ tags: { add: 'x' } }), /'add' must be an array/);
  });

  it('identifiers: exactly one kind (email+phone allowed), alias-only needs create mode', async () => {
    await assertItemError('events', { name: 'x', time: TIME }, /is required/);
    await assertItemError('attributes', { first_name: 'A' }, /is required/);
    await assertItemError('events', event({ braze_id: 'b-1' }), /more than one/);
    await assertItemError('events', event({ email: 'a@example.com' }), /more than one/);
    await assertItemError('events', event({ external_id: '' }), /external_id/);
    await assertItemError('events', { user_alias: { alias_name: 'a' }, name: 'x', time: TIME }, /user_alias/);
    await assertItemError('events', { email: 'bad', name: 'x', time: TIME }, /email/);
    await assertItemError('attributes', { user_alias: { alias_name: 'a', alias_label: 'email' }, first_name: 'A' },
      /_update_existing_only/);
    await assertItemError('attributes', {
      user_alias: { alias_name: 'a', alias_label: 'email' }, _update_existing_only: true, first_name: 'A',
    }, /_update_existing_only/);
  });

  it('events and purchases: required fields, time format, currency, quantity, unknown fields', async () => {
    await assertItemError('events', event({ time: undefined }), /'time' is required/);
    for (const time of ['2024-05-01', '2024-05-01 12:00:00Z', '2024-05-01T12:00:00', '2024-13-01T12:00:00Z',
      '2024-02-30T12:00:00Z', '2024-05-01T25:00:00Z', 1714564800, '2024-05-01T12:00:00.000z']) {
      await assertItemError('events', event({ time }), /'time' must be ISO 8601/);
    }
    await assertItemError('events', event({ name: '' }), /'name'/);
    await assertItemError('events', event({ timestamp: TIME }), /unknown field/);
    await assertItemError('purchases', purchase({ currency: 'usd' }), /currency/);
    await assertItemError('purchases', purchase({ currency: 'POINTS' }), /currency/);
    await assertItemError('purchases', purchase({ currency: 'XXX' }), /currency/);
    await assertItemError('purchases', purchase({ price: '12.50' }), /price/);
    await assertItemError('purchases', purchase({ quantity: 0 }), /quantity/);
    await assertItemError('purchases', purchase({ quantity: 101 }), /quantity/);
    await assertItemError('purchases', purchase({ quantity: 1.5 }), /quantity/);
    await assertItemError('purchases', purchase({ time: 'yesterday' }), /time/);
  });

  it('201 with per-object errors and counts of valid objects only; records violations with paths', async () => {
    const res = await track({
      events: [event(), event({ properties: { time: 'x' } }), event({ time: 'bad' })],
      attributes: [attribute({ country: 'ZZ' })],
    });
    assert.equal(res.status, 201);
    assert.equal(res.json.message, 'success');
    assert.equal(res.json.events_processed, 1);
    assert.equal(res.json.attributes_processed, 0);
    assert.deepEqual(res.json.errors.map((e) => [e.input_array, e.index]), [['attributes', 0], ['events', 1], ['events', 2]]);
    const { violations } = (await control('GET', '/_standin/violations')).json;
    assert.deepEqual(violations.map((v) => [v.seq, v.where]), [
      [1, 'attributes[0].country'], [1, 'events[1].properties.time'], [1, 'events[2].time'],
    ]);
    const rec = await lastRecord();
    assert.equal(rec.errors.length, 3);
    assert.equal(rec.violations.length, 3);
    assert.match(rec.violations[1], /^events\[1\]\.properties\.time: /);
    const received = (await control('GET', '/_standin/received')).json;
    assert.deepEqual(received, { attributes: [], events: [event()], purchases: [] });
  });

  it('400 with errors when no object at all is valid', async () => {
    const res = await track({ events: [event({ time: 'bad' }), { name: 'x' }] });
    assert.equal(res.status, 400);
    assert.equal(res.json.errors.length, 2);
    assert.notEqual(res.json.message, 'success');
  });
});

describe('rate limiting', () => {
  it('429 with Retry-After and X-RateLimit-Reset past the fixed window, then recovers', async () => {
    await control('PUT', '/_standin/config', { rate_limit: { limit: 3, window_ms: 400 } });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await track({ events: [event()] }));
    assert.deepEqual(answers.map((a) => a.status), [201, 201, 201, 429]);
    assert.deepEqual(answers.map((a) => a.headers.get('x-ratelimit-remaining')), ['2', '1', '0', '0']);
    assert.equal(answers[0].headers.get('x-ratelimit-limit'), '3');
    const limited = answers[3];
    assert.deepEqual(limited.json, { message: 'Rate limit exceeded' });
    assert.equal(limited.headers.get('retry-after'), '1');
    const reset = Number(limited.headers.get('x-ratelimit-reset'));
    assert.ok(reset * 1000 >= Date.now() && reset * 1000 <= Date.now() + 1500, `reset ${reset}`);
    assert.equal((await control('GET', '/_standin/received')).json.events.length, 3);
    assert.deepEqual((await control('GET', '/_standin/violations')).json.violations, [], '429 is not a payload violation');

    await new Promise((r) => setTimeout(r, 450));
    assert.equal((await track({ events: [event()] })).status, 201);
  });

  it('reset clears the rate-limit counters', async () => {
    await control('PUT', '/_standin/config', { rate_limit: { limit: 1, window_ms: 60_000 } });
    assert.equal((await track({ events: [event()] })).status, 201);
    assert.equal((await track({ events: [event()] })).status, 429);
    await control('POST', '/_standin/reset');
    assert.equal((await track({ events: [event()] })).status, 201);
  });

  it('is configurable from start-up options', async () => {
    const limited = await startStandin({ keys: [], rateLimit: { limit: 1, windowMs: 60_000 } });
    try {
      const send = () => fetch(`${limited.url}/users/track`, {
        method: 'POST',
        headers: { Authorization: 'Bearer any', 'Content-Type': 'application/json' },
        body: JSON.stringify({ events: [event()] }),
      });
      assert.equal((await send()).status, 201);
      const second = await send();
      assert.equal(second.status, 429);
      assert.ok(Number(second.headers.get('retry-after')) >= 59);
    } finally {
      await limited.close();
    }
  });
});

describe('faults', () => {
  it('counted status faults, applied in order, then real answers; faulted objects are not received', async () => {
    const set = await control('POST', '/_standin/faults', { faults: [{ status: 500, times: 2 }, { status: 503 }] });
    assert.equal(set.status, 200);
    const shown = (await control('GET', '/_standin/faults')).json;
    assert.deepEqual(shown.faults.map((f) => [f.status, f.remaining]), [[500, 2], [503, 1]]);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await track({ events: [event({ properties: { i } })] })).status);
    assert.deepEqual(statuses, [500, 500, 503, 201]);
    assert.deepEqual((await control('GET', '/_standin/faults')).json.faults, []);
    const received = (await control('GET', '/_standin/received')).json;
    assert.deepEqual(received.events.map((e) => e.properties.i), [3]);
    const recs = (await control('GET', '/_standin/requests')).json.requests;
    assert.deepEqual(recs.map((r) => r.status), [500, 500, 503, 201]);
    assert.equal(recs[0].fault.status, 500);
    assert.deepEqual((await control('GET', '/_standin/requests?status=500')).json.requests.map((r) => r.seq), [1, 2]);
    const stats = (await control('GET', '/_standin/stats')).json;
    assert.deepEqual(stats, { requests: 4, by_status: { 500: 2, 503: 1, 201: 1 }, objects: { attributes: 0, events: 1, purchases: 0 } });
  });

  it('429 with explicit headers or reset_after_s', async () => {
    const reset = String(Math.floor(Date.now() / 1000) + 30);
    await control('POST', '/_standin/faults', {
      faults: [{ status: 429, headers: { 'X-RateLimit-Reset': reset } }, { status: 429, reset_after_s: 2 }],
    });
    const first = await track({ events: [event()] });
    assert.equal(first.status, 429);
    assert.equal(first.headers.get('x-ratelimit-reset'), reset);
    assert.equal(first.headers.get('x-ratelimit-remaining'), '0');
    const before2 = Date.now();
    const second = await track({ events: [event()] });
    assert.equal(second.status, 429);
    const r2 = Number(second.headers.get('x-ratelimit-reset'));
    assert.ok(r2 >= Math.ceil((before2 + 2000) / 1000) && r2 <= Math.ceil((Date.now() + 2000) / 1000), `reset ${r2}`);
    assert.equal(second.headers.get('retry-after'), null, 'no Retry-After unless asked for');
  });

  it('slow: delays the real answer, which then counts', async () => {
    await control('POST', '/_standin/faults', { faults: [{ kind: 'slow', delay_ms: 300 }] });
    const t0 = Date.now();
    const res = await track({ events: [event()] });
    assert.ok(Date.now() - t0 >= 280, `took ${Date.now() - t0} ms`);
    assert.equal(res.status, 201);
    assert.equal((await control('GET', '/_standin/received')).json.events.length, 1);
  });

  it('slow: a client that gives up gets nothing, and the objects do not count', async () => {
    await control('POST', '/_standin/faults', { faults: [{ kind: 'slow', delay_ms: 400 }] });
    await assert.rejects(track({ events: [event()] }, { signal: AbortSignal.timeout(100) }));
    await new Promise((r) => setTimeout(r, 450));
    const rec = await lastRecord();
    assert.equal(rec.status, null);
    assert.equal(rec.fault.client_gone, true);
    assert.equal((await control('GET', '/_standin/received')).json.events.length, 0);
  });

  it('slow with a status: delay then that status', async () => {
    await control('POST', '/_standin/faults', { faults: [{ kind: 'slow', delay_ms: 100, status: 502 }] });
    assert.equal((await track({ events: [event()] })).status, 502);
  });

  it('drop: the socket is destroyed without an answer', async () => {
    await control('POST', '/_standin/faults', { faults: [{ kind: 'drop' }] });
    await assert.rejects(track({ events: [event()] }));
    const rec = await lastRecord();
    assert.equal(rec.status, null);
    assert.equal(rec.fault.kind, 'drop');
    assert.equal((await track({ events: [event()] })).status, 201, 'the next request is answered');
    assert.equal((await control('GET', '/_standin/stats')).json.by_status.none, 1);
  });

  it('not_json and no_success: 201s a relay must treat as failures', async () => {
    await control('POST', '/_standin/faults', { faults: [{ kind: 'not_json', status: 201 }, { kind: 'no_success' }] });
    const a = await track({ events: [event()] });
    assert.equal(a.status, 201);
    assert.equal(a.json, null);
    assert.match(a.headers.get('content-type'), /^text\/plain/);
    const b = await track({ events: [event()] });
    assert.equal(b.status, 201);
    assert.ok(b.json && b.json.message !== 'success');
    assert.equal((await control('GET', '/_standin/received')).json.events.length, 0);
  });

  it('401 fault even with a good key; body override', async () => {
    await control('POST', '/_standin/faults', { faults: [{ status: 401 }, { status: 400, body: { message: 'custom' } }] });
    const a = await track({ events: [event()] });
    assert.equal(a.status, 401);
    assert.match(a.json.message, /^Invalid API key/);
    assert.deepEqual((await track({ events: [event()] })).json, { message: 'custom' });
  });

  it('random_5xx_rate is reproducible with a seed', async () => {
    const run = async () => {
      await control('POST', '/_standin/reset');
      await control('POST', '/_standin/faults', { random_5xx_rate: 0.5, seed: 42 });
      const out = [];
      for (let i = 0; i < 20; i++) out.push((await track({ events: [event()] })).status);
      return out;
    };
    const first = await run();
    assert.deepEqual(await run(), first);
    assert.ok(first.includes(500) && first.includes(201), first.join(','));
    const recs = (await control('GET', '/_standin/requests?status=500')).json.requests;
    assert.ok(recs.every((r) => r.fault.kind === 'random_5xx'));
    const received = (await control('GET', '/_standin/received')).json;
    assert.equal(received.events.length, first.filter((s) => s === 201).length);
  });

  it('faulted requests are still validated: a bad body shows up as a violation', async () => {
    await control('POST', '/_standin/faults', { faults: [{ status: 500 }] });
    await track({ events: [event({ time: 'bad' })] });
    const { violations } = (await control('GET', '/_standin/violations')).json;
    assert.deepEqual(violations.map((v) => v.where), ['events[0].time']);
  });

  it('rejects malformed fault specs; DELETE clears the queue', async () => {
    for (const spec of [{ faults: [{ kind: 'explode' }] }, { faults: [{ status: 999 }] }, { faults: [{}] },
      { faults: [{ status: 500, times: 0 }] }, { faults: [{ kind: 'slow' }] }, { random_5xx_rate: 2 }, { fault: [] }]) {
      const res = await control('POST', '/_standin/faults', spec);
      assert.equal(res.status, 400, JSON.stringify(spec));
    }
    await control('POST', '/_standin/faults', { faults: [{ status: 500, times: 5 }] });
    await control('DELETE', '/_standin/faults');
    assert.equal((await track({ events: [event()] })).status, 201);
  });
});

describe('control API', () => {
  it('reset clears records, violations and faults', async () => {
    await track({ events: [event({ time: 'bad' }), event()] });
    await control('POST', '/_standin/faults', { faults: [{ status: 500, times: 3 }], random_5xx_rate: 1 });
    assert.equal((await control('POST', '/_standin/reset')).status, 200);
    assert.deepEqual((await control('GET', '/_standin/requests')).json, { requests: [] });
    assert.deepEqual((await control('GET', '/_standin/violations')).json, { violations: [] });
    assert.deepEqual((await control('GET', '/_standin/faults')).json.faults, []);
    assert.equal((await control('GET', '/_standin/faults')).json.random_5xx_rate, 0);
    assert.equal((await track({ events: [event()] })).status, 201);
    assert.equal((await lastRecord()).seq, 1);
  });

  it('received flattens the valid objects of all 2xx requests, in order', async () => {
    await track({ attributes: [attribute({ a: 1 })], events: [event({ name: 'one' })] });
    await track({ events: [event({ name: 'bad', time: 'x' }), event({ name: 'two' })], purchases: [purchase()] });
    await track({ events: [event({ name: 'unauthorised' })] }, { key: 'wrong' });
    await track({ events: events(76) });
    const received = (await control('GET', '/_standin/received')).json;
    assert.deepEqual(received.attributes, [attribute({ a: 1 })]);
    assert.deepEqual(received.events.map((e) => e.name), ['one', 'two']);
    assert.deepEqual(received.purchases, [purchase()]);
    assert.deepEqual((await control('GET', '/_standin/stats')).json.objects, { attributes: 1, events: 2, purchases: 1 });
  });

  it('requests can be filtered by status and seq', async () => {
    await track({ events: [event()] });
    await track({ events: [event()] }, { key: 'wrong' });
    await track({ events: [event()] });
    assert.deepEqual((await control('GET', '/_standin/requests?status=201')).json.requests.map((r) => r.seq), [1, 3]);
    assert.deepEqual((await control('GET', '/_standin/requests?since=1')).json.requests.map((r) => r.seq), [2, 3]);
    assert.equal((await control('GET', '/_standin/requests?status=abc')).status, 400);
  });

  it('config: partial updates, validation, keys never echoed', async () => {
    const res = await control('PUT', '/_standin/config', { keys: ['new-key'] });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.config, { keys_configured: 1, combined_cap: null, rate_limit: null });
    assert.ok(!res.text.includes('new-key'));
    assert.equal((await track({ events: [event()] })).status, 401);
    assert.equal((await track({ events: [event()] }, { key: 'new-key' })).status, 201);
    assert.equal((await control('PUT', '/_standin/config', { combined_cap: -1 })).status, 400);
    assert.equal((await control('PUT', '/_standin/config', { bogus: 1 })).status, 400);
    assert.deepEqual((await control('GET', '/_standin/config')).json.keys_configured, 1);
  });

  it('human-readable page lists recent bodies, escaped', async () => {
    await track({ events: [event({ properties: { note: '<script>x</script>' } })] });
    for (const path of ['/', '/_standin/']) {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type'), /text\/html/);
      const html = await res.text();
      assert.match(html, /extole_shared/);
      assert.ok(!html.includes('<script>x'));
    }
  });

  it('unknown paths are 404 JSON; wrong methods on control paths are 405', async () => {
    const res = await control('GET', '/users/identify');
    assert.equal(res.status, 404);
    assert.match(res.json.message, /Not found/);
    assert.equal((await control('POST', '/_standin/requests', {})).status, 405);
    assert.equal((await control('GET', '/_standin/reset')).status, 405);
  });
});

describe('rules.mjs as an oracle', () => {
  it('validateUsersTrack reports requestError, itemErrors and violations', () => {
    assert.deepEqual(validateUsersTrack({ events: [event()] }).violations, []);
    const over = validateUsersTrack({ events: events(30), purchases: Array.from({ length: 21 }, () => purchase()) }, { combinedCap: 50 });
    assert.equal(over.requestError, 'Max Input Length Exceeded');
    const mixed = validateUsersTrack({ events: [event(), event({ properties: { $x: 1 } })] });
    assert.equal(mixed.requestError, null);
    assert.deepEqual(mixed.itemErrors.map((e) => [e.input_array, e.index]), [['events', 1]]);
    assert.deepEqual(mixed.processed, { attributes: 0, events: 1, purchases: 0 });
    assert.equal(mixed.violations[0].where, 'events[1].properties.$x');
  });

  it('code lists have the expected sizes', () => {
    assert.equal(COUNTRY_CODES.size, 249);
    assert.ok(CURRENCY_CODES.has('USD') && CURRENCY_CODES.has('EUR') && !CURRENCY_CODES.has('XTS'));
    assert.equal(LIMITS.maxObjectsPerArray, 75);
  });

  it('guards against pathologically deep nesting', () => {
    const nest = (n) => { let v = 'x'; for (let i = 0; i < n; i++) v = [v]; return v; };
    const item = validateUsersTrack({ events: [event({ properties: { deep: nest(55) } })] });
    assert.match(item.itemErrors[0].type, /nested more than 50/);
    const whole = validateUsersTrack({ events: [event({ properties: { deep: nest(5000) } })] });
    assert.match(whole.requestError, /nested more than 64/);
    assert.equal(whole.tooDeep, true);
  });
});

describe('CLI', () => {
  it('prints exactly one JSON line with the URL, then serves', async () => {
    const script = fileURLToPath(new URL('./server.mjs', import.meta.url));
    const child = spawn(process.execPath, [script, '--port', '0', '--keys', 'cli-key', '--combined-cap', '50'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BRAZE_STANDIN_KEYS: 'ignored-when-flag-given' },
    });
    try {
      const line = await new Promise((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          if (out.includes('\n')) resolve(out);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      assert.match(line, /^\{"standin":"braze","listening":"http:\/\/127\.0\.0\.1:\d+"\}\n$/);
      const { listening } = JSON.parse(line);
      const send = (key) => fetch(`${listening}/users/track`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ events: [event()] }),
      });
      assert.equal((await send('cli-key')).status, 201);
      assert.equal((await send('ignored-when-flag-given')).status, 401);
      const cfg = await (await fetch(`${listening}/_standin/config`)).json();
      assert.equal(cfg.combined_cap, 50);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('exits 2 on a bad option', async () => {
    const script = fileURLToPath(new URL('./server.mjs', import.meta.url));
    const child = spawn(process.execPath, [script, '--port', 'abc'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const code = await new Promise((r) => child.once('exit', r));
    assert.equal(code, 2);
  });
});
