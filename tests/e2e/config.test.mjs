// End-to-end tests of per-environment configuration, inside workerd: two environments on two
// Braze stand-ins, config documents uploaded to the local RELAY_CONFIG KV by the project's own
// tool (scripts/relay-config.sh) and by a bare `wrangler kv key put`, invalid documents,
// the Extole-native preset, preview, and the admin config endpoint.
//
// One relay for the whole file; the tests run in order and share its KV state (each test
// says which document it leaves behind). RELAY_CONFIG_CACHE_SECONDS is 1, so a document
// written to KV is in use for every request made more than a second later.
//
// How a write reaches the running `wrangler dev`: the relay's `--persist-to` directory
// (relay.persistDir) holds miniflare's KV as SQLite files (WAL mode) keyed by namespace id.
// A separate `wrangler kv key put --local --persist-to <that dir>` writes the same files, and
// workerd reads them on the next KV get: no restart, no shared process. What must match is
// the persist directory and the namespace id (`relay-config-local`), not the config file:
// the tool runs wrangler with the repository's wrangler.toml, the direct write below uses
// the relay's temp copy (relay.configPath); both are seen.
//
// Run: bash scripts/build-worker.sh && node --test tests/e2e/

import { test, describe, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startRelay, sign, REPO_ROOT } from './harness.mjs';
import { startStandin } from '../braze-standin/server.mjs';

// ---------------------------------------------------------------------------------------
// Keys (test-only values) and the relay.

const EXTOLE_KEY_PRODUCTION = 'cfg-e2e-extole-production-key-3e71c0';
const EXTOLE_KEY_STAGING = 'cfg-e2e-extole-staging-key-8a42d9';
const BRAZE_KEY_A = 'cfg-e2e-braze-production-key-A-51f7aa';
const BRAZE_KEY_B = 'cfg-e2e-braze-staging-key-B-0c93bb';
const ADMIN_TOKEN = 'cfg-e2e-admin-token-6d2e14f8';
const WRONG_TOKEN = 'cfg-e2e-wrong-token-000000';
const SECRETS = [EXTOLE_KEY_PRODUCTION, EXTOLE_KEY_STAGING, BRAZE_KEY_A, BRAZE_KEY_B, ADMIN_TOKEN];

const CACHE_SECONDS = 1;
/** Past the config cache TTL, with room for workerd's coarse clock. */
const PAST_TTL_MS = CACHE_SECONDS * 1000 + 600;
const TOOL_TIMEOUT_MS = 120_000;

let relay; // stand-in A (production) is the harness's own
let standinB; // stand-in B (staging)
let workDir; // config documents written by the tests

before(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-e2e-config-docs-'));
  standinB = await startStandin({ log: () => {}, keys: [BRAZE_KEY_B], port: 0, host: '127.0.0.1' });
  relay = await startRelay({
    vars: {
      EXTOLE_WEBHOOK_SECRET_PRODUCTION: EXTOLE_KEY_PRODUCTION,
      EXTOLE_WEBHOOK_SECRET_STAGING: EXTOLE_KEY_STAGING,
      BRAZE_API_KEY_PRODUCTION: BRAZE_KEY_A,
      BRAZE_API_KEY_STAGING: BRAZE_KEY_B,
      // BRAZE_REST_ENDPOINT_PRODUCTION defaults to the harness's stand-in (A).
      BRAZE_REST_ENDPOINT_STAGING: standinB.url,
      RELAY_ADMIN_TOKEN: ADMIN_TOKEN,
      RELAY_CONFIG_CACHE_SECONDS: String(CACHE_SECONDS),
    },
    // Each stand-in knows only its own environment's key: a request with the other key
    // would be answered 401 and recorded as a violation.
    standinOptions: { keys: [BRAZE_KEY_A] },
  });
});

after(async () => {
  await relay?.stop();
  await standinB?.close();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

beforeEach(async () => {
  await control('A', 'POST', '/_standin/reset');
  await control('B', 'POST', '/_standin/reset');
});

afterEach(async () => {
  for (const which of ['A', 'B']) {
    const { violations } = await control(which, 'GET', '/_standin/violations');
    assert.deepEqual(violations, [], `stand-in ${which} recorded Braze rule violations`);
  }
});

// ---------------------------------------------------------------------------------------
// Helpers.

async function control(which, method, pathname, body) {
  if (which === 'A') return relay.control(method, pathname, body);
  const res = await fetch(`${standinB.url}${pathname}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`stand-in B ${method} ${pathname} -> ${res.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

const requestsOf = async (which) => (await control(which, 'GET', '/_standin/requests')).requests;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function assertStatus(res, status) {
  assert.equal(res.status, status, `expected HTTP ${status}, got ${res.status}: ${res.text}`);
}

function assertUnauthorized(res) {
  assertStatus(res, 401);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, res.text);
  assert.equal(res.json?.status, 'error', res.text);
  assert.equal(res.json.error, 'unauthorized', res.text);
  for (const secret of SECRETS) assert.ok(!res.text.includes(secret), `a secret is in the 401 body: ${res.text}`);
}

const KEY_OF = { production: EXTOLE_KEY_PRODUCTION, staging: EXTOLE_KEY_STAGING };

let idCounter = 0;
const RUN = Date.now().toString(36);
/** An Extole event with a fresh id, identified by partner_user_id and data.customer_number. */
function event(type, { customer = 'C-100', partner = 'cust-p100', extra = {}, data = {} } = {}) {
  return {
    type,
    event_id: `cfg-${RUN}-${++idCounter}`,
    event_time: '2026-11-24T10:15:00.000Z',
    program_label: 'refer-a-friend',
    ...extra,
    data: { partner_user_id: partner, customer_number: customer, funnel: 'advocate', ...data },
  };
}

/** POSTs one event to /extole/<env>, expects it delivered, returns the one Braze request. */
async function deliverOne(env, ev) {
  const which = env === 'production' ? 'A' : 'B';
  const before = (await requestsOf(which)).length;
  const res = await relay.post(env, ev);
  assertStatus(res, 200);
  assert.equal(res.json.status, 'delivered', res.text);
  assert.equal(res.json.event_id, ev.event_id);
  const requests = await requestsOf(which);
  assert.equal(requests.length, before + 1, `one Braze request on stand-in ${which}`);
  const last = requests.at(-1);
  assert.equal(last.status, 201);
  assert.equal(last.key_index, 0, `sent with the ${env} Braze key`);
  assert.equal(last.body.events.length, 1);
  assert.equal(last.body.events[0].properties.event_id, ev.event_id);
  return last;
}

function subprocessEnv(extra = {}) {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: 'false',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    ...extra,
  };
}

/** Runs a command; resolves {code, stdout, stderr, ms} whatever the exit code. */
function run(file, args, { env = subprocessEnv() } = {}) {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: REPO_ROOT, env, timeout: TOOL_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error); // spawn failure, timeout
      resolve({ code: error ? error.code : 0, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** The project's own tool: bash scripts/relay-config.sh ... */
const relayConfig = (...args) => run('bash', ['scripts/relay-config.sh', ...args]);

/** Uploads `file` for `env` to the relay's local KV with the project's tool; must succeed. */
async function upload(env, file) {
  const result = await relayConfig('upload', env, file, '--local', '--persist-to', relay.persistDir);
  assert.equal(result.code, 0, `relay-config upload failed:\n${result.stderr}`);
  assert.match(result.stderr, new RegExp(`uploaded .* as config:${env} \\(local\\)`), result.stderr);
  return result;
}

/** A bare wrangler, with the relay's own config copy, against the relay's persist dir. */
function wrangler(...args) {
  return run(path.join(REPO_ROOT, 'node_modules', '.bin', 'wrangler'), [
    ...args, '--config', relay.configPath, '--local', '--persist-to', relay.persistDir,
  ], { env: subprocessEnv({ WRANGLER_LOG_PATH: path.join(workDir, 'wrangler-logs') }) });
}

async function kvGet(key) {
  const result = await wrangler('kv', 'key', 'get', '--binding', 'RELAY_CONFIG', key); // the raw value, byte for byte
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

function writeDoc(name, doc) {
  const file = path.join(workDir, name);
  fs.writeFileSync(file, typeof doc === 'string' ? doc : `${JSON.stringify(doc, null, 2)}\n`);
  return file;
}

async function getConfig(env, token = ADMIN_TOKEN) {
  const headers = token === null ? {} : { Authorization: `Bearer ${token}` };
  return relay.request('GET', `/extole/${env}/config`, { headers });
}

async function effectiveConfig(env) {
  const res = await getConfig(env);
  assertStatus(res, 200);
  return res.json;
}

/** Worker log lines that are JSON with `outcome`, parsed, from index `from` on. */
function configLogLines(from, outcome) {
  return relay.logs().slice(from)
    .filter((l) => l.startsWith('{') && l.includes(`"outcome":"${outcome}"`))
    .map((l) => JSON.parse(l));
}

async function waitForConfigLog(from, outcome, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = configLogLines(from, outcome);
    if (found.length) return found;
    if (Date.now() > deadline) {
      assert.fail(`no "${outcome}" log line; last lines:\n${relay.logs().slice(-20).join('\n')}`);
    }
    await sleep(100);
  }
}

// Documents, in the order the tests put them in KV.
const RENAME_DOC = {
  events: { map: { shared: 'Referral Shared' } },
  identity: { external_id_paths: ['data.customer_number'] },
};
let goodRevision; // production's revision while RENAME_DOC is in KV

// ---------------------------------------------------------------------------------------

describe('two environments, two Braze instances, two keys', () => {
  test('production lands only in stand-in A with key A, staging only in B with key B', async () => {
    const prod = event('shared');
    const sentA = await deliverOne('production', prod);
    assert.equal(sentA.body.events[0].name, 'Shared');
    assert.equal((await requestsOf('B')).length, 0, 'production reached stand-in B');

    const stag = event('shared', { partner: 'cust-s200', customer: 'C-200' });
    const sentB = await deliverOne('staging', stag);
    assert.equal(sentB.body.events[0].name, 'Shared');
    assert.equal(sentB.body.events[0].external_id, 'cust-s200');
    assert.equal((await requestsOf('A')).length, 1, 'staging reached stand-in A');

    // Both from the embedded config (nothing in KV yet).
    for (const env of ['production', 'staging']) {
      assert.equal((await effectiveConfig(env)).config.source, 'embedded', env);
    }
  });
});

describe('a config uploaded with scripts/relay-config.sh reaches the running Worker', () => {
  test('events.map and identity.external_id_paths change the next requests within the TTL', async () => {
    const before = await deliverOne('production', event('shared', { partner: 'cust-p1', customer: 'C-1' }));
    assert.equal(before.body.events[0].name, 'Shared');
    assert.equal(before.body.events[0].external_id, 'cust-p1', 'default: partner_user_id');

    const file = writeDoc('rename.json', RENAME_DOC);
    await upload('production', file);
    const uploadedAt = Date.now();
    assert.equal(await kvGet('config:production'), fs.readFileSync(file, 'utf8'), 'the document is in the relay\'s KV');

    await sleep(PAST_TTL_MS);
    const after = await deliverOne('production', event('shared', { partner: 'cust-p2', customer: 'C-2' }));
    const waited = Date.now() - uploadedAt;
    assert.equal(after.body.events[0].name, 'Referral Shared', `renamed ${waited} ms after the upload`);
    assert.equal(after.body.events[0].external_id, 'C-2', 'external id from data.customer_number');
    assert.equal(after.body.attributes[0].external_id, 'C-2');

    // Other event names keep the defaults (the map merges over them) ...
    const converted = await deliverOne('production', event('converted', { customer: 'C-3' }));
    assert.equal(converted.body.events[0].name, 'Converted');
    assert.equal(converted.body.events[0].external_id, 'C-3');
    // ... and staging, which has no document, is untouched.
    const staging = await deliverOne('staging', event('shared', { partner: 'cust-s3', customer: 'C-S3' }));
    assert.equal(staging.body.events[0].name, 'Shared');
    assert.equal(staging.body.events[0].external_id, 'cust-s3');

    const shown = await effectiveConfig('production');
    assert.equal(shown.config.source, 'kv');
    assert.equal(shown.config.events.map.shared, 'Referral Shared');
    assert.deepEqual(shown.config.identity.external_id_paths, ['data.customer_number']);
    goodRevision = shown.config.revision;
    assert.equal(typeof goodRevision, 'string');
  });
});

describe('invalid configs are never used', () => {
  const stillRenamed = async () => {
    const customer = `C-R${idCounter + 1}`;
    const sent = await deliverOne('production', event('shared', { partner: 'cust-r', customer }));
    assert.equal(sent.body.events[0].name, 'Referral Shared', 'the last good config keeps serving');
    assert.equal(sent.body.events[0].external_id, customer, 'external id still from data.customer_number');
    const shown = await effectiveConfig('production');
    assert.equal(shown.config.source, 'kv');
    assert.equal(shown.config.revision, goodRevision, 'the effective config did not change');
  };

  test('the tool refuses an invalid document, lists every error, uploads nothing', async () => {
    assert.ok(goodRevision, 'runs after the upload test');
    const goodText = await kvGet('config:production');
    const file = writeDoc('invalid-for-tool.json', {
      version: 1,
      brazee: {},
      braze: { timeout_ms: 'fast' },
      events: { unknown: 'drop', preset: 'nope' },
      attributes: { tier: { from: 'data.tier', transform: 'upper' } },
    });
    const expected = ['$.attributes.tier.transform', '$.braze.timeout_ms', '$.brazee', '$.events.preset', '$.events.unknown'];

    const result = await relayConfig('upload', 'production', file, '--local', '--persist-to', relay.persistDir);
    assert.notEqual(result.code, 0, 'the tool must fail');
    assert.match(result.stderr, new RegExp(`${expected.length} problem\\(s\\):`), result.stderr);
    assert.match(result.stderr, /nothing uploaded/, result.stderr);
    const listed = result.stderr.split('\n').map((l) => /^\s+(\$[^:]*):/.exec(l)?.[1]).filter(Boolean).sort();
    assert.deepEqual(listed, expected, result.stderr);
    assert.ok(!/uploaded .* as config:/.test(result.stderr), result.stderr);

    assert.equal(await kvGet('config:production'), goodText, 'KV still holds the good document');
    await sleep(PAST_TTL_MS);
    await stillRenamed();
  });

  test('an invalid document put straight into KV: traffic flows on the last good config, the log lists the paths', async () => {
    const file = writeDoc('invalid-direct.json', {
      colour: 'red',
      braze: { timeout_ms: 'fast' },
      events: { unknown: 'drop' },
      identity: { fallback: 'nobody' },
    });
    const expected = ['$.braze.timeout_ms', '$.colour', '$.events.unknown', '$.identity.fallback'];
    const put = await wrangler('kv', 'key', 'put', '--binding', 'RELAY_CONFIG', 'config:production', '--path', file);
    assert.equal(put.code, 0, put.stderr);
    assert.equal(await kvGet('config:production'), fs.readFileSync(file, 'utf8'), 'the invalid document is in KV');

    const logFrom = relay.logs().length;
    await sleep(PAST_TTL_MS);
    await stillRenamed();

    const lines = await waitForConfigLog(logFrom, 'config_invalid_using_last_good');
    const line = lines[0];
    assert.equal(line.environment, 'production');
    assert.equal(line.level, 'warn');
    assert.deepEqual(line.issues.map((i) => i.path).sort(), expected, JSON.stringify(line));
    for (const issue of line.issues) assert.ok(issue.problem.length > 0, JSON.stringify(issue));
  });

  test('a document that is not JSON is not used either ($ in the log)', async () => {
    const file = writeDoc('not-json.json', '{"events": {"map": {"shared": "Broken"}');
    const put = await wrangler('kv', 'key', 'put', '--binding', 'RELAY_CONFIG', 'config:production', '--path', file);
    assert.equal(put.code, 0, put.stderr);

    const logFrom = relay.logs().length;
    await sleep(PAST_TTL_MS);
    await stillRenamed();

    const lines = await waitForConfigLog(logFrom, 'config_invalid_using_last_good');
    assert.deepEqual(lines[0].issues.map((i) => i.path), ['$'], JSON.stringify(lines[0]));
    assert.match(lines[0].issues[0].problem, /not JSON/);
  });
});

describe('the Extole-native preset', () => {
  test('examples/config/retailer.json (production) and {"events":{"preset":"extole_native"}} (staging)', async () => {
    await upload('production', path.join(REPO_ROOT, 'examples', 'config', 'retailer.json'));
    await upload('staging', writeDoc('native.json', { events: { preset: 'extole_native' } }));
    await sleep(PAST_TTL_MS);

    const fulfilled = event('reward_fulfilled', { customer: 'C-1', partner: 'cust-1', extra: { face_value: 20 } });
    const sentReward = await deliverOne('production', fulfilled);
    assert.equal(sentReward.body.events[0].name, 'extole_reward_fulfilled');
    assert.equal(sentReward.body.events[0].external_id, 'C-1', 'retailer: data.customer_number first');

    const created = event('advocate_code_created', { customer: 'C-1', partner: 'cust-1' });
    const sentShare = await deliverOne('production', created);
    assert.equal(sentShare.body.events[0].name, 'extole_share_link_created');

    // The retailer document replaced the earlier one: `shared` is the preset's name again.
    const shared = await deliverOne('production', event('shared', { customer: 'C-1' }));
    assert.equal(shared.body.events[0].name, 'extole_shared');

    // Staging: the same preset, its own Braze instance and key.
    const stagingReward = await deliverOne('staging', event('reward_fulfilled', { partner: 'cust-s9', customer: 'C-S9' }));
    assert.equal(stagingReward.body.events[0].name, 'extole_reward_fulfilled');
    assert.equal(stagingReward.body.events[0].external_id, 'cust-s9', 'staging keeps the default id paths');
    const stagingShare = await deliverOne('staging', event('advocate_code_created', { partner: 'cust-s9' }));
    assert.equal(stagingShare.body.events[0].name, 'extole_share_link_created');

    assert.equal((await requestsOf('A')).length, 3);
    assert.equal((await requestsOf('B')).length, 2);
  });
});

describe('preview', () => {
  const previewPath = '/extole/production/preview';
  const payload = () => JSON.stringify(event('purchase_completed', {
    customer: 'C-77',
    partner: 'cust-77',
    data: { email: 'buyer@example.com', order_total: '59.5', currency: 'eur', order_id: 'O-1' },
  }));
  const signed = (raw) => ({ 'Content-Type': 'application/json', 'X-Extole-Signature': sign(raw, KEY_OF.production) });

  test('returns the body that delivery then sends, and sends nothing itself', async () => {
    const raw = payload();
    const preview = await relay.request('POST', previewPath, { body: raw, headers: signed(raw) });
    assertStatus(preview, 200);
    assert.equal(preview.json.status, 'preview');
    assert.equal(preview.json.environment, 'production');
    assert.equal(preview.json.config.version, 1);
    assert.equal(preview.json.config.source, 'kv');
    assert.equal(preview.json.config.preset, 'extole_native');
    assert.equal(preview.json.requests.length, 1);
    assert.deepEqual(preview.json.requests[0], preview.json.users_track);
    assert.deepEqual(preview.json.events.map((e) => [e.extole_name, e.braze_name, e.status]), [
      ['purchase_completed', 'extole_converted', 'translated'],
    ]);
    assert.equal((await requestsOf('A')).length, 0, 'preview reached Braze');
    assert.equal((await requestsOf('B')).length, 0, 'preview reached Braze');

    const delivered = await relay.post('production', raw);
    assertStatus(delivered, 200);
    assert.equal(delivered.json.status, 'delivered', 'preview must not mark the event handled');
    const requests = await requestsOf('A');
    assert.equal(requests.length, 1);
    assert.equal(requests[0].key_index, 0);
    assert.deepEqual(requests[0].body, preview.json.users_track);
    // The retailer's conversion also writes a purchase: the comparison covers every array.
    assert.equal(requests[0].body.purchases?.length, 1);
  });

  test('without a valid signature -> 401, nothing sent', async () => {
    const raw = payload();
    assertUnauthorized(await relay.request('POST', previewPath, { body: raw, headers: { 'Content-Type': 'application/json' } }));
    const wrong = { 'Content-Type': 'application/json', 'X-Extole-Signature': sign(raw, EXTOLE_KEY_STAGING) };
    assertUnauthorized(await relay.request('POST', previewPath, { body: raw, headers: wrong }));
    assert.equal((await requestsOf('A')).length, 0);
  });
});

describe('GET /extole/{env}/config', () => {
  test('without or with a wrong token -> 401 JSON', async () => {
    assertUnauthorized(await getConfig('production', null));
    assertUnauthorized(await getConfig('production', WRONG_TOKEN));
    assertUnauthorized(await getConfig('production', EXTOLE_KEY_PRODUCTION)); // the webhook key is not the admin token
    assertUnauthorized(await relay.request('GET', '/extole/production/config', {
      headers: { Authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` },
    }));
  });

  test('with RELAY_ADMIN_TOKEN: the effective config, secret names with set: true, no secret values', async () => {
    const res = await getConfig('production');
    assertStatus(res, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const body = res.json;
    assert.equal(body.environment, 'production');

    // Exactly what the tool says the retailer document resolves to, plus source and revision.
    const validated = await relayConfig('validate', path.join('examples', 'config', 'retailer.json'), '--environment', 'production');
    assert.equal(validated.code, 0, validated.stderr);
    const { source, revision, ...settings } = body.config;
    assert.equal(source, 'kv');
    assert.match(revision, /^[0-9a-f]{12}$/);
    assert.deepEqual(settings, JSON.parse(validated.stdout));

    assert.deepEqual(body.secrets, {
      braze_api_key: { name: 'BRAZE_API_KEY_PRODUCTION', set: true },
      extole_webhook_secret: { name: 'EXTOLE_WEBHOOK_SECRET_PRODUCTION', set: true },
      braze_rest_endpoint: { name: 'BRAZE_REST_ENDPOINT_PRODUCTION', set: true },
    });
    assert.equal(body.braze_users_track_url, `${relay.standin.url}/users/track`, 'the variable wins over the document\'s US-05');

    const staging = await effectiveConfig('staging');
    assert.equal(staging.config.events.preset, 'extole_native');
    assert.deepEqual(staging.secrets.braze_api_key, { name: 'BRAZE_API_KEY_STAGING', set: true });
    assert.equal(staging.braze_users_track_url, `${standinB.url}/users/track`);

    for (const text of [res.text, JSON.stringify(staging)]) {
      for (const secret of SECRETS) assert.ok(!text.includes(secret), `secret value ${secret} in the config body`);
    }
  });

  test('no secret value in any response or Worker log line of this file', async () => {
    await sleep(300); // let the last log lines arrive
    const leaks = [];
    relay.responses().forEach((r, i) => {
      const text = `${JSON.stringify(r.headers)} ${r.text}`;
      for (const secret of SECRETS) if (text.includes(secret)) leaks.push(`response ${i} (${r.method} ${r.path}): ${secret}`);
    });
    relay.logs().forEach((line, i) => {
      for (const secret of SECRETS) if (line.includes(secret)) leaks.push(`log line ${i}: ${secret}`);
    });
    assert.deepEqual(leaks, []);
    assert.ok(relay.responses().length > 20, 'the scan saw this file\'s traffic');
  });
});
