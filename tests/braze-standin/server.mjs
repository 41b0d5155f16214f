// A local stand-in for Braze's `POST /users/track`, for end-to-end tests and local dev.
//
// It answers like Braze (201 with per-object errors, 400/401/429, rate-limit headers),
// enforces Braze's documented rules strictly (see rules.mjs), records every request for
// tests to assert on, and can inject faults (5xx, 429, slow, dropped, malformed answers).
//
//   node tests/braze-standin/server.mjs [--port N] [--host H] [--keys k1,k2]
//        [--combined-cap 50] [--rate-limit N --rate-window-ms M] [--verbose]
//
// Prints exactly one line to stdout once listening:
//   {"standin":"braze","listening":"http://127.0.0.1:PORT"}
// Node built-ins only, no dependencies.

import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { validateUsersTrack, isPlainObject } from './rules.mjs';

const MAX_TRACK_BODY = 16 * 1024 * 1024; // far above any valid request (225 objects x 50 KB)
const MAX_CONTROL_BODY = 1024 * 1024;
// Reported in the X-RateLimit-* headers when no limit is enforced: Braze's documented
// /users/track limit (3,000 requests per 3 seconds). Not enforced unless configured.
const NOMINAL_RATE_LIMIT = Object.freeze({ limit: 3000, windowMs: 3000 });
const FAULT_KINDS = new Set(['status', 'slow', 'drop', 'not_json', 'no_success']);
const FAULT_FIELDS = new Set(['kind', 'status', 'times', 'headers', 'reset_after_s', 'retry_after_s', 'delay_ms', 'body']);
const HTML_RECENT = 20;

// Valid objects of a request that was really answered 2xx; a symbol so it never shows up
// in the JSON of /_standin/requests (the body is already there).
const ACCEPTED = Symbol('accepted');

// ---------------------------------------------------------------------------------------
// State: configuration, records, fault queue, rate-limit window.

/** Small seeded PRNG (mulberry32) so random 5xx runs are reproducible. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class ConfigError extends Error {}

function positiveInt(value, name) {
  if (!Number.isInteger(value) || value < 1) throw new ConfigError(`${name} must be a positive integer`);
  return value;
}

function normalizeKeys(keys) {
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string' && k.length > 0)) {
    throw new ConfigError('keys must be an array of non-empty strings');
  }
  return [...keys];
}

function normalizeRateLimit(rl) {
  if (rl == null) return null;
  if (!isPlainObject(rl)) throw new ConfigError('rate_limit must be {limit, window_ms} or null');
  const windowMs = rl.window_ms ?? rl.windowMs ?? NOMINAL_RATE_LIMIT.windowMs;
  return { limit: positiveInt(rl.limit, 'rate_limit.limit'), windowMs: positiveInt(windowMs, 'rate_limit.window_ms') };
}

function normalizeFault(f, i) {
  const where = `faults[${i}]`;
  if (!isPlainObject(f)) throw new ConfigError(`${where} must be an object`);
  const unknown = Object.keys(f).filter((k) => !FAULT_FIELDS.has(k));
  if (unknown.length) throw new ConfigError(`${where}: unknown field(s) ${unknown.join(', ')}`);
  const kind = f.kind ?? 'status';
  if (!FAULT_KINDS.has(kind)) throw new ConfigError(`${where}.kind must be one of ${[...FAULT_KINDS].join(', ')}`);
  const fault = { kind, times: f.times === undefined ? 1 : positiveInt(f.times, `${where}.times`) };

  let status = f.status;
  if (status === undefined && (kind === 'not_json' || kind === 'no_success')) status = 201;
  if (kind === 'status' && status === undefined) throw new ConfigError(`${where}: a status fault needs "status"`);
  if (status !== undefined) {
    if (kind === 'drop') throw new ConfigError(`${where}: a drop fault has no status`);
    if (!Number.isInteger(status) || status < 100 || status > 599) throw new ConfigError(`${where}.status must be 100..599`);
    fault.status = status;
  }
  if (kind === 'slow' && f.delay_ms === undefined) throw new ConfigError(`${where}: a slow fault needs "delay_ms"`);
  if (f.delay_ms !== undefined) {
    if (!Number.isInteger(f.delay_ms) || f.delay_ms < 0) throw new ConfigError(`${where}.delay_ms must be an integer >= 0`);
    fault.delay_ms = f.delay_ms;
  }
  for (const k of ['reset_after_s', 'retry_after_s']) {
    if (f[k] === undefined) continue;
    if (typeof f[k] !== 'number' || !(f[k] >= 0)) throw new ConfigError(`${where}.${k} must be a number >= 0`);
    fault[k] = f[k];
  }
  if (f.headers !== undefined) {
    const ok = isPlainObject(f.headers)
      && Object.values(f.headers).every((v) => v === null || typeof v === 'string' || typeof v === 'number');
    if (!ok) throw new ConfigError(`${where}.headers must map names to string, number or null (null removes)`);
    fault.headers = { ...f.headers };
  }
  if (f.body !== undefined) fault.body = f.body;
  return fault;
}

export class StandinState {
  constructor({ keys = [], combinedCap = null, rateLimit = null } = {}) {
    this.config = { keys: [], combinedCap: null, rateLimit: null };
    this.setConfig({ keys, combined_cap: combinedCap, rate_limit: rateLimit });
    this.reset();
  }

  /** Clears records, faults and rate-limit counters (configuration stays). */
  reset() {
    this.seq = 0;
    this.records = [];
    this.violationLog = [];
    this.faults = [];
    this.random5xx = { rate: 0, seed: null, next: null };
    this.window = null;
  }

  /** Partial update; throws ConfigError on bad input without changing anything. */
  setConfig(patch) {
    if (!isPlainObject(patch)) throw new ConfigError('config must be a JSON object');
    const unknown = Object.keys(patch).filter((k) => !['keys', 'combined_cap', 'rate_limit'].includes(k));
    if (unknown.length) throw new ConfigError(`unknown config field(s): ${unknown.join(', ')}`);
    const next = { ...this.config };
    if (patch.keys !== undefined) next.keys = normalizeKeys(patch.keys ?? []);
    if (patch.combined_cap !== undefined) {
      next.combinedCap = patch.combined_cap === null ? null : positiveInt(patch.combined_cap, 'combined_cap');
    }
    if (patch.rate_limit !== undefined) {
      next.rateLimit = normalizeRateLimit(patch.rate_limit);
      this.window = null; // a new limit starts a fresh window
    }
    this.config = next;
    return this.configView();
  }

  configView() {
    const { keys, combinedCap, rateLimit } = this.config;
    return {
      keys_configured: keys.length, // the keys themselves are never echoed
      combined_cap: combinedCap,
      rate_limit: rateLimit && { limit: rateLimit.limit, window_ms: rateLimit.windowMs },
    };
  }

  /** POST /_standin/faults body: {faults?, random_5xx_rate?, seed?, replace?}. */
  addFaults(spec) {
    if (!isPlainObject(spec)) throw new ConfigError('faults body must be a JSON object');
    const unknown = Object.keys(spec).filter((k) => !['faults', 'random_5xx_rate', 'seed', 'replace'].includes(k));
    if (unknown.length) throw new ConfigError(`unknown field(s): ${unknown.join(', ')}`);
    if (spec.faults !== undefined && !Array.isArray(spec.faults)) throw new ConfigError('faults must be an array');
    const added = (spec.faults ?? []).map(normalizeFault);
    let random = this.random5xx;
    if (spec.random_5xx_rate !== undefined) {
      const rate = spec.random_5xx_rate;
      if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) throw new ConfigError('random_5xx_rate must be 0..1');
      const seed = spec.seed ?? 1;
      if (!Number.isInteger(seed)) throw new ConfigError('seed must be an integer');
      random = { rate, seed, next: rate > 0 ? mulberry32(seed) : null };
    } else if (spec.seed !== undefined) {
      throw new ConfigError('seed goes with random_5xx_rate');
    }
    this.faults = spec.replace ? added : [...this.faults, ...added];
    this.random5xx = random;
    return this.faultsView();
  }

  clearFaults() {
    this.faults = [];
    this.random5xx = { rate: 0, seed: null, next: null };
  }

  faultsView() {
    return {
      faults: this.faults.map(({ times, ...rest }) => ({ ...rest, remaining: times })),
      random_5xx_rate: this.random5xx.rate,
      seed: this.random5xx.seed,
    };
  }

  /** Next fault for a /users/track request: the queue first, then the random 5xx rate. */
  takeFault() {
    const head = this.faults[0];
    if (head) {
      if (--head.times === 0) this.faults.shift();
      const { times, ...fault } = head;
      return fault;
    }
    if (this.random5xx.next && this.random5xx.next() < this.random5xx.rate) {
      return { kind: 'status', status: 500, random: true };
    }
    return null;
  }

  /** Fixed window starting at the first request after the previous window ended. */
  rateWindow(now, { count }) {
    const rl = this.config.rateLimit ?? NOMINAL_RATE_LIMIT;
    if (!this.window || now >= this.window.start + rl.windowMs) this.window = { start: now, count: 0 };
    if (count) this.window.count++;
    const end = this.window.start + rl.windowMs;
    return {
      limited: this.config.rateLimit !== null && this.window.count > rl.limit,
      headers: {
        'X-RateLimit-Limit': String(rl.limit),
        'X-RateLimit-Remaining': String(Math.max(0, rl.limit - this.window.count)),
        'X-RateLimit-Reset': String(Math.ceil(end / 1000)),
      },
      retryAfterS: Math.max(1, Math.ceil((end - now) / 1000)),
    };
  }

  /** Adds a record and its violations (structured, for /_standin/violations). */
  addRecord(record, violations) {
    this.records.push(record);
    for (const v of violations) this.violationLog.push({ seq: record.seq, where: v.where, reason: v.reason });
  }

  requests({ status, since } = {}) {
    return this.records.filter((r) => (status === undefined || r.status === status) && (since === undefined || r.seq > since));
  }

  received() {
    const out = { attributes: [], events: [], purchases: [] };
    for (const r of this.records) {
      const acc = r[ACCEPTED];
      if (!acc) continue;
      out.attributes.push(...acc.attributes);
      out.events.push(...acc.events);
      out.purchases.push(...acc.purchases);
    }
    return out;
  }

  violations() {
    return this.violationLog;
  }

  stats() {
    const byStatus = {};
    const objects = { attributes: 0, events: 0, purchases: 0 };
    for (const r of this.records) {
      const key = r.status === null ? 'none' : String(r.status);
      byStatus[key] = (byStatus[key] ?? 0) + 1;
      const acc = r[ACCEPTED];
      if (acc) for (const name of Object.keys(objects)) objects[name] += acc[name].length;
    }
    return { requests: this.records.length, by_status: byStatus, objects };
  }
}

// ---------------------------------------------------------------------------------------
// HTTP helpers.

class BodyTooLarge extends Error {}

/** Reads the whole body; past `limit` keeps draining but stops buffering. */
function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let length = 0;
    req.on('data', (chunk) => {
      length += chunk.length;
      if (length <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve({ buffer: length <= limit ? Buffer.concat(chunks) : null, length }));
    req.on('error', reject);
  });
}

function send(res, status, body, headers = {}) {
  if (res.destroyed || res.headersSent) return;
  const isText = typeof body === 'string';
  const payload = isText ? body : JSON.stringify(body);
  const all = {
    'Content-Type': isText ? 'text/plain; charset=utf-8' : 'application/json',
    'Content-Length': Buffer.byteLength(payload),
    ...headers,
  };
  for (const [k, v] of Object.entries(all)) if (v === null || v === undefined) delete all[k];
  res.writeHead(status, all);
  res.end(payload);
}

const sendJson = send; // reads better at call sites that always pass an object

/** `Authorization: Bearer <key>` against the configured keys. */
function checkAuth(header, keys) {
  if (!header) return { ok: false, reason: 'no Authorization header' };
  const m = /^bearer +(\S+)$/i.exec(header);
  if (!m) return { ok: false, reason: "expected 'Authorization: Bearer <key>'" };
  if (keys.length === 0) return { ok: true, keyIndex: null };
  const keyIndex = keys.indexOf(m[1]);
  return keyIndex === -1 ? { ok: false, reason: 'key not recognised' } : { ok: true, keyIndex };
}

/** application/json, optionally with charset=utf-8. */
function checkContentType(header) {
  if (!header) return 'Content-Type must be application/json (header missing)';
  const [type, ...params] = header.split(';').map((s) => s.trim().toLowerCase());
  if (type !== 'application/json') return `Content-Type must be application/json, got '${type}'`;
  for (const p of params) {
    const [name, value = ''] = p.split('=').map((s) => s.trim());
    if (name === 'charset' && value.replace(/"/g, '') !== 'utf-8') return `charset must be utf-8, got '${value}'`;
  }
  return null;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseJson(buffer) {
  try {
    return { value: JSON.parse(utf8.decode(buffer)) };
  } catch (e) {
    return { error: e instanceof TypeError ? 'Body is not valid UTF-8' : 'Body is not valid JSON' };
  }
}

const FAULT_MESSAGES = {
  401: 'Invalid API key: rejected (injected fault)',
  429: 'Rate limit exceeded',
};

const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function renderPage(state) {
  const recent = state.records.slice(-HTML_RECENT).reverse();
  const stats = state.stats();
  const items = recent.map((r) => `
<section>
  <h2>#${r.seq} &middot; ${escapeHtml(r.received_at)} &middot; status ${r.status ?? 'none'}${r.fault ? ` &middot; fault ${escapeHtml(r.fault.kind)}` : ''}</h2>
  ${r.violations.length ? `<ul class="bad">${r.violations.map((v) => `<li>${escapeHtml(v)}</li>`).join('')}</ul>` : ''}
  <pre>${escapeHtml(r.body === null ? '(no JSON body)' : JSON.stringify(r.body, null, 2))}</pre>
</section>`).join('');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Braze stand-in</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}pre{background:#f4f4f4;padding:1em;overflow:auto}
h2{font-size:1em}.bad{color:#b00}</style></head>
<body><h1>Braze stand-in: what Braze received</h1>
<p>${stats.requests} request(s) &middot; by status ${escapeHtml(JSON.stringify(stats.by_status))} &middot;
accepted ${escapeHtml(JSON.stringify(stats.objects))} &middot; ${state.violations().length} violation(s).
Last ${HTML_RECENT}, newest first. JSON: <a href="/_standin/requests">requests</a>,
<a href="/_standin/received">received</a>, <a href="/_standin/violations">violations</a>,
<a href="/_standin/stats">stats</a>.</p>
${items || '<p>No requests yet.</p>'}
</body></html>`;
}

// ---------------------------------------------------------------------------------------
// The server.

export async function startStandin(options = {}) {
  const {
    port = 0,
    host = '127.0.0.1',
    keys = [],
    combinedCap = options.combined_cap ?? null,
    rateLimit = options.rate_limit ?? null,
    verbose = false,
    log = (line) => process.stderr.write(`${line}\n`),
  } = options;
  const state = new StandinState({ keys, combinedCap, rateLimit });
  const pendingDelays = new Set(); // slow faults in progress, so close() need not wait

  const delay = (ms) => new Promise((resolve) => {
    const entry = { resolve };
    entry.timer = setTimeout(() => { pendingDelays.delete(entry); resolve(); }, ms);
    pendingDelays.add(entry);
  });

  /** Works out Braze's real answer to a recorded request (not yet sent). */
  function realAnswer(ctx, now) {
    if (!ctx.auth.ok) {
      const rate = state.rateWindow(now, { count: false });
      return { status: 401, body: { message: `Invalid API key: ${ctx.auth.reason}` }, headers: rate.headers };
    }
    const rate = state.rateWindow(now, { count: true });
    if (rate.limited) {
      return {
        status: 429,
        body: { message: 'Rate limit exceeded' },
        headers: { ...rate.headers, 'Retry-After': String(rate.retryAfterS) },
      };
    }
    if (ctx.httpError) {
      const { status, message, headers } = ctx.httpError;
      return { status, body: { message }, headers: { ...rate.headers, ...headers } };
    }
    const v = ctx.validation;
    if (v.requestError) return { status: 400, body: { message: v.requestError }, headers: rate.headers };
    const total = v.processed.attributes + v.processed.events + v.processed.purchases;
    if (total === 0) {
      return {
        status: 400,
        body: { message: 'No valid objects: every object in the request had errors', errors: v.itemErrors },
        headers: rate.headers,
      };
    }
    const body = {
      message: 'success',
      attributes_processed: v.processed.attributes,
      events_processed: v.processed.events,
      purchases_processed: v.processed.purchases,
    };
    if (v.itemErrors.length) body.errors = v.itemErrors;
    return { status: 201, body, headers: rate.headers, accepted: v.accepted };
  }

  /** The answer a fault dictates (null: answer for real, possibly after a delay). */
  function faultAnswer(fault, now) {
    if (fault.kind === 'drop') {
      state.rateWindow(now, { count: true }); // it reached "Braze", so it counts
      return null;
    }
    if (fault.kind === 'slow' && fault.status === undefined) return null;
    const rate = state.rateWindow(now, { count: true });
    const headers = { ...rate.headers };
    if (fault.status === 429) {
      headers['X-RateLimit-Remaining'] = '0';
      if (fault.reset_after_s !== undefined) {
        headers['X-RateLimit-Reset'] = String(Math.ceil((now + fault.reset_after_s * 1000) / 1000));
      }
    }
    if (fault.retry_after_s !== undefined) headers['Retry-After'] = String(Math.ceil(fault.retry_after_s));
    Object.assign(headers, fault.headers);
    let body;
    if (fault.body !== undefined) body = fault.body;
    else if (fault.kind === 'not_json') body = 'OK';
    else if (fault.kind === 'no_success') body = { message: 'queued' };
    else body = { message: FAULT_MESSAGES[fault.status] ?? http.STATUS_CODES[fault.status] ?? 'Error' };
    return { status: fault.status, body, headers };
  }

  async function handleTrack(req, res) {
    const started = process.hrtime.bigint();
    let clientGone = false;
    res.on('close', () => { if (!res.writableFinished) clientGone = true; });

    const { buffer, length } = await readBody(req, MAX_TRACK_BODY);
    const now = Date.now();
    const ctx = { auth: checkAuth(req.headers.authorization, state.config.keys), httpError: null, validation: null };
    const violations = [];
    let body = null;

    if (!ctx.auth.ok) violations.push({ where: 'request', reason: `unauthorized: ${ctx.auth.reason}` });
    if (req.method !== 'POST') {
      ctx.httpError = { status: 405, message: `Method ${req.method} not allowed; use POST`, headers: { Allow: 'POST' } };
    } else if (buffer === null) {
      ctx.httpError = { status: 413, message: `Body of ${length} bytes is too large` };
    } else {
      const ctError = checkContentType(req.headers['content-type']);
      const parsed = parseJson(buffer);
      if (ctError) ctx.httpError = { status: 400, message: ctError };
      else if (parsed.error) ctx.httpError = { status: 400, message: parsed.error };
      if (!parsed.error) {
        body = parsed.value;
        // Validate even when the request fails for another reason, so that a bad body is
        // still reported as a violation.
        ctx.validation = validateUsersTrack(body, { combinedCap: state.config.combinedCap });
        violations.push(...ctx.validation.violations);
        if (ctx.validation.tooDeep) body = null; // could not be serialised for /_standin/requests
      }
    }
    if (ctx.httpError) violations.unshift({ where: 'request', reason: ctx.httpError.message });

    const record = {
      seq: ++state.seq,
      received_at: new Date(now).toISOString(),
      method: req.method,
      key_index: ctx.auth.ok ? ctx.auth.keyIndex : null,
      status: null,
      body,
      raw_length: length,
      errors: ctx.validation?.itemErrors ?? [],
      violations: violations.map((v) => `${v.where}: ${v.reason}`),
      fault: null,
    };
    state.addRecord(record, violations);

    const fault = state.takeFault();
    let answer;
    if (fault) {
      record.fault = fault.random ? { kind: 'random_5xx', status: 500 } : { ...fault };
      answer = faultAnswer(fault, now) ?? (fault.kind === 'drop' ? null : realAnswer(ctx, now));
      if (fault.delay_ms) {
        await delay(fault.delay_ms);
        if (clientGone || closing) record.fault.client_gone = true;
      }
    } else {
      answer = realAnswer(ctx, now);
    }

    if (!answer || record.fault?.client_gone) {
      req.socket.destroy(); // drop: no answer at all
    } else {
      record.status = answer.status;
      // Only a real 2xx answer means Braze took the objects (faulted ones do not count,
      // except a slow fault that ends in the real answer).
      if (answer.accepted) record[ACCEPTED] = answer.accepted;
      send(res, answer.status, answer.body, answer.headers);
    }
    if (verbose) {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      log(`[braze-standin] #${record.seq} ${req.method} /users/track -> ${record.status ?? 'no answer'}`
        + `${record.fault ? ` (fault ${record.fault.kind})` : ''} ${length}B ${record.violations.length} violation(s) ${ms.toFixed(1)}ms`);
    }
  }

  /** Parsed JSON body of a control request; on a bad body answers 4xx and returns undefined. */
  async function readControlJson(req, res) {
    const { buffer } = await readBody(req, MAX_CONTROL_BODY);
    if (buffer === null) {
      sendJson(res, 413, { message: 'control body too large' });
      return undefined;
    }
    if (buffer.length === 0) return {};
    const parsed = parseJson(buffer);
    if (parsed.error) {
      sendJson(res, 400, { message: parsed.error });
      return undefined;
    }
    return parsed.value;
  }

  /** Control API routes: "METHOD path" -> handler(req, res, url). */
  const control = {
    'GET /_standin/requests': (req, res, url) => {
      const filter = {};
      for (const name of ['status', 'since']) {
        const raw = url.searchParams.get(name);
        if (raw === null) continue;
        if (name === 'status' && raw === 'none') { filter.status = null; continue; }
        if (!/^\d+$/.test(raw)) return sendJson(res, 400, { message: `${name} must be an integer` });
        filter[name] = Number(raw);
      }
      sendJson(res, 200, { requests: state.requests(filter) });
    },
    'GET /_standin/received': (req, res) => sendJson(res, 200, state.received()),
    'GET /_standin/violations': (req, res) => sendJson(res, 200, { violations: state.violations() }),
    'GET /_standin/stats': (req, res) => sendJson(res, 200, state.stats()),
    'GET /_standin/health': (req, res) => sendJson(res, 200, { ok: true }),
    'POST /_standin/reset': async (req, res) => {
      await readBody(req, MAX_CONTROL_BODY);
      state.reset();
      sendJson(res, 200, { ok: true });
    },
    'GET /_standin/faults': (req, res) => sendJson(res, 200, state.faultsView()),
    'POST /_standin/faults': async (req, res) => {
      const spec = await readControlJson(req, res);
      if (spec !== undefined) sendJson(res, 200, { ok: true, ...state.addFaults(spec) });
    },
    'DELETE /_standin/faults': (req, res) => {
      state.clearFaults();
      sendJson(res, 200, { ok: true, ...state.faultsView() });
    },
    'GET /_standin/config': (req, res) => sendJson(res, 200, state.configView()),
    'PUT /_standin/config': async (req, res) => {
      const patch = await readControlJson(req, res);
      if (patch !== undefined) sendJson(res, 200, { ok: true, config: state.setConfig(patch) });
    },
  };
  const controlPaths = new Set(Object.keys(control).map((k) => k.split(' ')[1]));

  async function handle(req, res) {
    const url = new URL(req.url, 'http://standin.local');
    const path = url.pathname;
    if (path === '/users/track') return handleTrack(req, res);
    if ((path === '/' || path === '/_standin' || path === '/_standin/') && req.method === 'GET') {
      return send(res, 200, renderPage(state), { 'Content-Type': 'text/html; charset=utf-8' });
    }
    const route = control[`${req.method} ${path}`];
    if (route) return route(req, res, url);
    if (controlPaths.has(path)) {
      const allow = Object.keys(control).filter((k) => k.endsWith(` ${path}`)).map((k) => k.split(' ')[0]);
      return sendJson(res, 405, { message: `Method ${req.method} not allowed on ${path}` }, { Allow: allow.join(', ') });
    }
    sendJson(res, 404, { message: `Not found: ${req.method} ${path}` });
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (err instanceof ConfigError) return sendJson(res, 400, { message: err.message });
      log(`[braze-standin] internal error: ${err?.stack ?? err}`);
      sendJson(res, 500, { message: `stand-in internal error: ${err?.message ?? err}` });
    });
  });
  server.on('clientError', (err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  let closing = false;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  const actualPort = server.address().port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${actualPort}`,
    port: actualPort,
    state,
    close() {
      closing = true;
      // Release slow faults at once; their handlers see `closing` and drop the socket.
      for (const entry of pendingDelays) { clearTimeout(entry.timer); entry.resolve(); }
      pendingDelays.clear();
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

// ---------------------------------------------------------------------------------------
// CLI.

const USAGE = `usage: node tests/braze-standin/server.mjs [--port N] [--host 127.0.0.1] [--keys k1,k2]
       [--combined-cap 50] [--rate-limit N [--rate-window-ms M]] [--verbose]
env fallbacks: BRAZE_STANDIN_PORT, BRAZE_STANDIN_KEYS`;

function intOption(raw, name, { min }) {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min) throw new ConfigError(`--${name} must be an integer >= ${min}`);
  return Number(raw);
}

export function parseCli(argv, env = process.env) {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      keys: { type: 'string' },
      'combined-cap': { type: 'string' },
      'rate-limit': { type: 'string' },
      'rate-window-ms': { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return { help: true };
  const keysRaw = values.keys ?? env.BRAZE_STANDIN_KEYS ?? '';
  const limit = intOption(values['rate-limit'], 'rate-limit', { min: 1 });
  const windowMs = intOption(values['rate-window-ms'], 'rate-window-ms', { min: 1 });
  if (windowMs !== undefined && limit === undefined) throw new ConfigError('--rate-window-ms needs --rate-limit');
  return {
    port: intOption(values.port ?? env.BRAZE_STANDIN_PORT, 'port', { min: 0 }) ?? 0,
    host: values.host ?? '127.0.0.1',
    keys: keysRaw.split(',').map((k) => k.trim()).filter(Boolean),
    combinedCap: intOption(values['combined-cap'], 'combined-cap', { min: 1 }) ?? null,
    rateLimit: limit === undefined ? null : { limit, windowMs: windowMs ?? NOMINAL_RATE_LIMIT.windowMs },
    verbose: values.verbose ?? false,
  };
}

async function main() {
  let options;
  try {
    options = parseCli(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err.message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const standin = await startStandin(options);
  process.stdout.write(`${JSON.stringify({ standin: 'braze', listening: standin.url })}\n`);
  const stop = () => standin.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    process.stderr.write(`braze stand-in failed to start: ${err?.message ?? err}\n`);
    process.exit(1);
  });
}
