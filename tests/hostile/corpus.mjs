// Shared by the corpus generator and the end-to-end runner: how a case of
// tests/hostile/corpus.json becomes the exact bytes and headers of a request. The native
// runner (tests/hostile.rs) implements the same rules in Rust; both must agree byte for byte.
//
// A case's body is one of:
//   "body": "<text>"                 the UTF-8 bytes of the string
//   "body_hex": "<hex>"              raw bytes (invalid UTF-8, BOMs, NUL, ...)
//   "generate": {"parts": [...]}     the concatenation of its parts, each one of
//       "<text>"                                 the UTF-8 bytes of the string
//       {"hex": "<hex>"}                         raw bytes
//       {"repeat": "<text>", "count": n}         the string n times
//       {"repeat": "<text>", "count": n, "separator": "<text>"}   ... joined by separator
//       {"repeat": {"parts": [...]}, ...}        the same, the unit itself expanded first
//   (none of them)                   an empty body
//
// Its credentials ("auth"):
//   absent        the environment's own scheme with its first key: X-Extole-Signature (hex
//                 HMAC-SHA256 of the exact body) for hs256, Authorization: Bearer <token>
//                 for bearer, Authorization: Basic base64(<user:password>) for basic
//   "none"        no credentials at all
//   {"headers": {...}}   exactly these headers (lower-case names) and no others
// Every request also carries Content-Type: application/json.
//
// Node built-ins only.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CORPUS_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), 'corpus.json');

export function loadCorpus(file = CORPUS_PATH) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** The exact request body of a case, as a Buffer. */
export function bodyOf(testCase) {
  if (testCase.body !== undefined) return Buffer.from(testCase.body, 'utf8');
  if (testCase.body_hex !== undefined) return Buffer.from(testCase.body_hex, 'hex');
  if (testCase.generate !== undefined) return expand(testCase.generate);
  return Buffer.alloc(0);
}

/** Expands a generator descriptor (see above) to bytes. */
export function expand(descriptor) {
  if (!Array.isArray(descriptor?.parts)) throw new Error(`bad generator descriptor ${JSON.stringify(descriptor)}`);
  const chunks = descriptor.parts.map((part) => {
    if (typeof part === 'string') return Buffer.from(part, 'utf8');
    if (typeof part.hex === 'string') return Buffer.from(part.hex, 'hex');
    if (part.repeat !== undefined && Number.isInteger(part.count) && part.count >= 0) {
      const unit = typeof part.repeat === 'string' ? Buffer.from(part.repeat, 'utf8') : expand(part.repeat);
      const separator = Buffer.from(part.separator ?? '', 'utf8');
      const pieces = [];
      for (let i = 0; i < part.count; i++) {
        if (i > 0 && separator.length) pieces.push(separator);
        pieces.push(unit);
      }
      return Buffer.concat(pieces);
    }
    throw new Error(`bad generator part ${JSON.stringify(part)}`);
  });
  return Buffer.concat(chunks);
}

export const hmacHex = (key, body) => crypto.createHmac('sha256', key).update(body).digest('hex');
export const basicOf = (credentials) => `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;

/** The environment a case is sent to, from the corpus. */
export function environmentOf(corpus, testCase) {
  const name = testCase.env ?? 'production';
  const env = corpus.environments[name];
  if (!env) throw new Error(`case ${testCase.id}: environment ${name} is not in the corpus`);
  return { name, ...env };
}

/** Method, path and headers of a case (body from bodyOf). */
export function requestOf(corpus, testCase, body = bodyOf(testCase)) {
  const env = environmentOf(corpus, testCase);
  const headers = { 'content-type': 'application/json' };
  if (testCase.auth === undefined) {
    const key = (env.keys ?? [])[0];
    if (key === undefined) throw new Error(`case ${testCase.id}: ${env.name} has no key to sign with`);
    if (env.scheme === 'hs256') headers['x-extole-signature'] = hmacHex(key, body);
    else if (env.scheme === 'bearer') headers.authorization = `Bearer ${key}`;
    else if (env.scheme === 'basic') headers.authorization = basicOf(key);
    else throw new Error(`unknown scheme ${env.scheme}`);
  } else if (testCase.auth !== 'none') {
    Object.assign(headers, testCase.auth.headers);
  }
  return {
    method: testCase.method ?? 'POST',
    path: testCase.path ?? `/extole/${env.name}`,
    headers,
  };
}

/** RFC 6901 JSON pointer lookup; undefined when absent. */
export function pointer(value, ptr) {
  if (ptr === '') return value;
  let current = value;
  for (const raw of ptr.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (current === null || typeof current !== 'object' || !(key in current)) return undefined;
    current = current[key];
  }
  return current;
}

/**
 * Checks of an accepted case against the Braze request body it produced: each
 * `{pointer, equals}` (deep equality), `{pointer, absent: true}` or `{pointer, length}`
 * (length in code points of a string, or of an array). Returns the failures.
 */
export function checkBrazeBody(body, checks = []) {
  const failures = [];
  for (const check of checks) {
    const found = pointer(body, check.pointer);
    if (check.absent) {
      if (found !== undefined) failures.push(`${check.pointer}: expected absent, found ${JSON.stringify(found).slice(0, 120)}`);
    } else if (check.length !== undefined) {
      const length = typeof found === 'string' ? [...found].length : Array.isArray(found) ? found.length : undefined;
      if (length !== check.length) failures.push(`${check.pointer}: expected length ${check.length}, found ${length}`);
    } else if (!deepEqual(found, check.equals)) {
      failures.push(`${check.pointer}: expected ${JSON.stringify(check.equals)}, found ${JSON.stringify(found)}`);
    }
  }
  return failures;
}

function deepEqual(a, b) {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
}

/** Secret suffix of an environment: `hostile-bearer` -> `HOSTILE_BEARER`. */
export const secretSuffix = (env) => env.toUpperCase().replace(/[^A-Z0-9]/g, '_');
