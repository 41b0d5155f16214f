// End-to-end harness: the built Worker under `wrangler dev` (workerd), in front of the
// in-process Braze stand-in.
//
//   const relay = await startRelay({ vars: { EXTOLE_WEBHOOK_SECRET_PRODUCTION: 'k', ... } });
//   const res = await relay.post('production', body);           // signed with the env's key
//   await relay.control('GET', '/_standin/requests');           // what "Braze" received
//   relay.logs();                                               // every line wrangler printed
//   await relay.stop();
//
// Isolation from the developer's machine:
// - Every secret/variable is passed with `--var NAME:VALUE`. `--var` does override a key of
//   the same name in `.dev.vars`, but `.dev.vars` keys that are NOT passed would still be
//   merged in (e.g. a developer's BRAZE_REST_ENDPOINT_STAGING). So wrangler is pointed at a
//   copy of wrangler.toml written to a temp directory (`--config`): `.dev.vars` and `.env`
//   are looked up next to the config file and therefore never read.
// - That copy also drops the `[build]` table: wrangler would otherwise run the custom build
//   on start and watch src/ for changes, rebuilding and reloading the Worker in the middle of
//   a run whenever someone edits the Rust code. The suite tests what is in build/; build it
//   first (`bash scripts/build-worker.sh`).
// - KV state goes to a fresh `--persist-to` directory; all ports are free ephemeral ones.
//
// Node built-ins only.

import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startStandin } from '../braze-standin/server.mjs';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD_ENTRY = path.join(REPO_ROOT, 'build', 'index.js');
const BUILD_WASM = path.join(REPO_ROOT, 'build', 'index_bg.wasm');
const WRANGLER_BIN = path.join(REPO_ROOT, 'node_modules', '.bin', 'wrangler');
const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 5_000;

/** Hex HMAC-SHA256 of the raw body with `key`: what Extole sends in X-Extole-Signature. */
export function sign(body, key) {
  return crypto.createHmac('sha256', key).update(toBuffer(body)).digest('hex');
}

function toBuffer(body) {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(JSON.stringify(body), 'utf8');
}

/** A port that was free a moment ago (listen on 0, read it, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** wrangler.toml with an absolute `main` and without the `[build]` table. */
function derivedWranglerConfig() {
  const source = fs.readFileSync(path.join(REPO_ROOT, 'wrangler.toml'), 'utf8');
  const out = [];
  let skipping = false;
  for (const line of source.split('\n')) {
    const header = /^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/.exec(line);
    if (header) skipping = header[1] === 'build' || header[1].startsWith('build.');
    if (skipping) continue;
    const main = /^\s*main\s*=\s*"([^"]+)"/.exec(line);
    if (main) {
      out.push(`main = ${JSON.stringify(path.resolve(REPO_ROOT, main[1]))}`);
      continue;
    }
    out.push(line);
  }
  return out.join('\n');
}

/** Live wrangler processes started by this module, killed on exit whatever happens. */
const live = new Set();
let exitHookInstalled = false;

function killGroup(child, signal) {
  if (!child.pid) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}

function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const entry of live) {
      killGroup(entry.child, 'SIGKILL');
      for (const dir of entry.dirs) fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => process.exit(128 + (signal === 'SIGINT' ? 2 : 15)));
  }
}

/**
 * Starts the Braze stand-in (in-process, port 0) and the Worker under wrangler dev.
 *
 * `vars`: NAME -> VALUE, or a function `({ standinUrl }) => vars`. Both environments'
 * `BRAZE_REST_ENDPOINT_<ENV>` default to the stand-in's URL.
 * `standinOptions`: passed to startStandin (e.g. `{ keys: [...] }`).
 */
export async function startRelay({ vars = {}, standinOptions = {}, readyTimeoutMs = READY_TIMEOUT_MS } = {}) {
  for (const file of [BUILD_ENTRY, BUILD_WASM]) {
    if (!fs.existsSync(file)) {
      throw new Error(`${path.relative(REPO_ROOT, file)} is missing: run bash scripts/build-worker.sh first`);
    }
  }
  if (!fs.existsSync(WRANGLER_BIN)) throw new Error(`${WRANGLER_BIN} is missing: run npm install first`);

  const standin = await startStandin({ log: () => {}, ...standinOptions, port: 0, host: '127.0.0.1' });
  const resolvedVars = {
    BRAZE_REST_ENDPOINT_PRODUCTION: standin.url,
    BRAZE_REST_ENDPOINT_STAGING: standin.url,
    ...(typeof vars === 'function' ? vars({ standinUrl: standin.url }) : vars),
  };
  for (const [name, value] of Object.entries(resolvedVars)) {
    if (!/^[A-Z0-9_]+$/i.test(name)) throw new Error(`bad variable name ${name}`);
    if (typeof value !== 'string') throw new Error(`variable ${name} must be a string`);
  }

  const lines = [];
  const responses = [];
  let attempt = 0;
  let proc;
  for (;;) {
    attempt += 1;
    try {
      proc = await launchWrangler(resolvedVars, lines, readyTimeoutMs);
      break;
    } catch (error) {
      // A port taken between freePort() and wrangler binding it: try fresh ports once.
      if (attempt < 2 && /EADDRINUSE|address already in use/i.test(error.message)) continue;
      await standin.close();
      throw error;
    }
  }
  const { child, url, dirs, persistDir, configPath } = proc;

  const envKeys = (env) => (resolvedVars[`EXTOLE_WEBHOOK_SECRET_${env.toUpperCase()}`] ?? '')
    .split(',').map((k) => k.trim()).filter(Boolean);

  /** Any request to the relay; every answer is kept for the secrets/PII scan. */
  async function request(method, pathname, { body, headers = {} } = {}) {
    const init = { method, headers: { ...headers }, redirect: 'manual' };
    if (body !== undefined && method !== 'GET' && method !== 'HEAD') init.body = toBuffer(body);
    const started = Date.now();
    const res = await fetch(`${url}${pathname}`, init);
    const text = await res.text();
    const elapsedMs = Date.now() - started;
    responses.push({ method, path: pathname, status: res.status, headers: Object.fromEntries(res.headers), text });
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json, elapsedMs };
  }

  /**
   * POST a webhook to /extole/<env>. `body`: string, Buffer or object (JSON-encoded).
   * `sign`: true (default) signs with `key` (default: the env's first configured Extole
   * key), false sends no signature. `headers` are added last and win.
   */
  function post(env, body, { sign: doSign = true, key, headers = {} } = {}) {
    const raw = toBuffer(body);
    const all = { 'Content-Type': 'application/json' };
    if (doSign) {
      const signingKey = key ?? envKeys(env)[0];
      if (!signingKey) throw new Error(`no Extole key configured for ${env}; pass {key}`);
      all['X-Extole-Signature'] = sign(raw, signingKey);
    }
    return request('POST', `/extole/${env}`, { body: raw, headers: { ...all, ...headers } });
  }

  /** The stand-in's control API. */
  async function control(method, pathname, body) {
    const res = await fetch(`${standin.url}${pathname}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`stand-in ${method} ${pathname} -> ${res.status}: ${text}`);
    return text ? JSON.parse(text) : null;
  }

  /** Writes `doc` as `environment`'s config document (`config:<env>`) in the relay's local RELAY_CONFIG. */
  function putConfig(environment, doc) {
    const args = [
      'kv', 'key', 'put', '--binding', 'RELAY_CONFIG', `config:${environment}`, typeof doc === 'string' ? doc : JSON.stringify(doc),
      '--config', configPath, '--local', '--persist-to', persistDir,
    ];
    const env = {
      ...process.env,
      WRANGLER_SEND_METRICS: 'false',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      WRANGLER_LOG_PATH: path.join(path.dirname(configPath), 'kv-logs'),
    };
    return new Promise((resolve, reject) => {
      execFile(WRANGLER_BIN, args, { cwd: REPO_ROOT, env, timeout: 120_000 }, (error, _stdout, stderr) =>
        (error ? reject(new Error(`wrangler kv key put config:${environment} failed:\n${stderr}`)) : resolve()));
    });
  }

  let stopped = false;
  async function stop() {
    if (stopped) return;
    stopped = true;
    const exited = child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise((resolve) => child.once('exit', resolve));
    // wrangler first, so it shuts workerd down and reaps it; then the whole group.
    try {
      child.kill('SIGTERM');
    } catch {
      /* already gone */
    }
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
    killGroup(child, 'SIGKILL'); // anything of the group still around (workerd)
    live.delete(proc);
    await standin.close();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  }

  return {
    url,
    standin,
    // The KV/state directory wrangler dev was given (`--persist-to`) and the wrangler.toml
    // copy it runs with (`--config`): for writing to its local KV from another process.
    persistDir,
    configPath,
    vars: { ...resolvedVars },
    logs: () => [...lines],
    responses: () => [...responses],
    request,
    post,
    control,
    putConfig,
    stop,
  };
}

async function launchWrangler(vars, lines, readyTimeoutMs) {
  const port = await freePort();
  let inspectorPort = await freePort();
  while (inspectorPort === port) inspectorPort = await freePort();

  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-e2e-config-'));
  const persistDir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-e2e-state-'));
  const configPath = path.join(configDir, 'wrangler.toml');
  fs.writeFileSync(configPath, derivedWranglerConfig());

  const args = [
    'dev',
    '--config', configPath,
    '--port', String(port),
    '--ip', '127.0.0.1',
    '--inspector-port', String(inspectorPort),
    '--persist-to', persistDir,
    '--show-interactive-dev-session=false',
  ];
  for (const [name, value] of Object.entries(vars)) args.push('--var', `${name}:${value}`);

  const env = {
    ...process.env,
    PATH: `${path.join(REPO_ROOT, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH ?? ''}`,
    WRANGLER_SEND_METRICS: 'false',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    WRANGLER_LOG_PATH: path.join(configDir, 'logs'),
    NO_COLOR: '1',
    FORCE_COLOR: '0',
  };
  const child = spawn(WRANGLER_BIN, args, { cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const entry = { child, dirs: [configDir, persistDir], persistDir, configPath };
  installExitHook();
  live.add(entry);

  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      const parts = (partial + chunk).split(/\r?\n/);
      partial = parts.pop();
      lines.push(...parts);
    });
    stream.on('end', () => {
      if (partial) lines.push(partial);
      partial = '';
    });
  }
  let exitInfo = null;
  child.once('exit', (code, signal) => { exitInfo = { code, signal }; });
  child.once('error', (error) => { exitInfo = { error }; });

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeoutMs;
  const output = () => lines.slice(-60).join('\n');
  const fail = async (why) => {
    killGroup(child, 'SIGKILL');
    live.delete(entry);
    for (const dir of entry.dirs) fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`wrangler dev did not become ready: ${why}\n--- wrangler output (last lines) ---\n${output()}`);
  };
  for (;;) {
    if (exitInfo) {
      await new Promise((r) => setTimeout(r, 100)); // let the last output lines arrive
      await fail(exitInfo.error ? `spawn failed: ${exitInfo.error.message}` : `exited early (code ${exitInfo.code}, signal ${exitInfo.signal})`);
    }
    if (Date.now() > deadline) await fail(`GET ${url}/health did not answer 200 within ${readyTimeoutMs / 1000} s`);
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) return { ...entry, url };
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
