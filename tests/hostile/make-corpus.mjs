// Writes tests/hostile/corpus.json: the hostile and malformed requests the relay must refuse
// with a 4xx and a JSON reason (never a 5xx, never a panic, nothing sent to Braze), and a
// smaller list of boundary requests it must accept (200, and a Braze body the stand-in
// finds valid). Both runners read the JSON: tests/hostile.rs (natively, through
// pipeline::handle) and tests/e2e/hostile.test.mjs (the built Worker in workerd).
//
//   node tests/hostile/make-corpus.mjs          # rewrite corpus.json
//   node tests/hostile/make-corpus.mjs --check  # fail if corpus.json is not what this writes
//
// Small cases are literal; large or combinatorial ones (10,000-level nesting, bodies over
// the 256 KiB cap, arrays of 10,000 events, 256-character names) are small generator
// descriptors that both runners expand identically (see corpus.mjs). Every key below is a
// test-only value.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { CORPUS_PATH, basicOf, bodyOf, hmacHex } from './corpus.mjs';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// ---------------------------------------------------------------------------------------
// Keys and environments (test-only values).

const KEYS = {
  production: 'hostile-extole-production-key-5e1f0a',
  stagingOld: 'hostile-extole-staging-old-key-2b7c41',
  stagingNew: 'hostile-extole-staging-new-key-9d0e33',
  stagingRetired: 'hostile-extole-staging-retired-key-77a1f2',
  wrong: 'hostile-extole-wrong-key-000000',
  bearer: 'hostile-bearer-token-c4f9e2a7',
  bearerRetired: 'hostile-bearer-retired-token-11aa22',
  basicUser: 'relay-user',
  basicPassword: 'hostile-basic-pass-8e3d5b',
  brazeProduction: 'hostile-braze-production-key-6a2c90',
  brazeStaging: 'hostile-braze-staging-key-3f8b17',
  brazeBearer: 'hostile-braze-bearer-env-key-0d4e6c',
  brazeBasic: 'hostile-braze-basic-env-key-b59a21',
  brazeNokey: 'hostile-braze-nokey-env-key-7c1d08',
};
const BASIC = `${KEYS.basicUser}:${KEYS.basicPassword}`;

const ENVIRONMENTS = {
  production: { scheme: 'hs256', keys: [KEYS.production], braze_key: KEYS.brazeProduction, kv: null },
  staging: { scheme: 'hs256', keys: [KEYS.stagingOld, KEYS.stagingNew], braze_key: KEYS.brazeStaging, kv: null },
  'hostile-bearer': { scheme: 'bearer', keys: [KEYS.bearer], braze_key: KEYS.brazeBearer, kv: { auth: 'bearer' } },
  'hostile-basic': { scheme: 'basic', keys: [BASIC], braze_key: KEYS.brazeBasic, kv: { auth: 'basic' } },
  // A KV environment whose Extole secret is not set: it must refuse everything.
  'hostile-nokey': { scheme: 'bearer', keys: [], braze_key: KEYS.brazeNokey, kv: { auth: 'bearer' } },
};

// Every value that must never appear in a log line or a response body.
const SECRETS = [
  KEYS.production, KEYS.stagingOld, KEYS.stagingNew, KEYS.stagingRetired, KEYS.wrong, KEYS.bearer,
  KEYS.bearerRetired, KEYS.basicPassword, BASIC, Buffer.from(BASIC).toString('base64'),
  KEYS.brazeProduction, KEYS.brazeStaging, KEYS.brazeBearer, KEYS.brazeBasic, KEYS.brazeNokey,
];

// ---------------------------------------------------------------------------------------
// Helpers.

const cases = [];
const accepted = [];
let hostileIds = 0;
const hid = () => `h-${String(++hostileIds).padStart(3, '0')}`;

/** A compact JSON text (key order as written). */
const j = (value) => JSON.stringify(value);
/** A plausible event: a valid base with `changes` merged in (undefined removes a field). */
function ev(changes = {}, base = { type: 'shared', event_id: hid(), userId: 'u-hostile-1' }) {
  const out = { ...base, ...changes };
  for (const [k, v] of Object.entries(out)) if (v === undefined) delete out[k];
  return out;
}
const repeat = (unit, count, separator) => (separator === undefined ? { repeat: unit, count } : { repeat: unit, count, separator });
const gen = (...parts) => ({ generate: { parts } });

const seenIds = new Set();
function push(list, group, id, why, body, expect, extra = {}) {
  if (seenIds.has(id)) throw new Error(`duplicate case id ${id}`);
  seenIds.add(id);
  let bodyField;
  if (body === undefined || body === null) bodyField = {};
  else if (typeof body === 'string') bodyField = { body };
  else if (Buffer.isBuffer(body)) bodyField = { body_hex: body.toString('hex') };
  else if (body.generate) bodyField = body;
  else throw new Error(`case ${id}: bad body`);
  list.push({ id, group, why, ...extra, ...bodyField, expect });
}

/** A request that must be refused with `status` and error code `error`. */
const refuse = (group, id, why, body, status, error, extra) => push(cases, group, id, why, body, { status, error }, extra);
const bad400 = (group, id, why, body, error, extra) => refuse(group, id, why, body, 400, error, extra);
const field = (group, id, why, body, at, extra) => push(cases, group, id, why, body, { status: 400, error: 'invalid_field', at }, extra);
const unidentified = (group, id, why, body, extra) => refuse(group, id, why, body, 422, 'unidentified_person', extra);
const unauthorized = (group, id, why, body, extra) => refuse(group, id, why, body, 401, 'unauthorized', extra);

/** A request that must be delivered: 200, `braze_requests` requests, `checks` on the first. */
function accept(group, id, why, body, { checks = [], brazeRequests = 1, ...extra } = {}) {
  push(accepted, group, id, why, body, { status: 200, outcome: 'delivered', braze_requests: brazeRequests, checks }, extra);
}
let acceptedIds = 0;
/** A valid event for the accepted list, with a fresh id. */
const aev = (changes = {}) => ev(changes, { type: 'shared', event_id: `acc-${String(++acceptedIds).padStart(3, '0')}`, userId: 'u-accepted-1' });

const sample = (name) => fs.readFileSync(path.join(REPO_ROOT, 'examples', 'payloads', `${name}.json`), 'utf8').trimEnd();

// ---------------------------------------------------------------------------------------
// Bodies that are empty or not JSON at all.

{
  const g = 'not-json';
  bad400(g, 'empty-body', 'no body at all', '', 'empty_body');
  bad400(g, 'blank-space', 'a single space', ' ', 'empty_body');
  bad400(g, 'blank-whitespace', 'only whitespace of every JSON kind', '\n\t\r \n', 'empty_body');
  bad400(g, 'plain-text', 'a sentence', 'hello relay', 'invalid_json');
  bad400(g, 'xml', 'an XML document', '<event type="shared" userId="u1"/>', 'invalid_json');
  bad400(g, 'form-encoded', 'an HTML form body', 'type=shared&userId=u1&email=x%40example.com', 'invalid_json');
  bad400(g, 'single-quotes', 'JavaScript-style single quotes', "{'type':'shared','userId':'u1'}", 'invalid_json');
  bad400(g, 'bare-keys', 'unquoted keys', '{type:"shared",userId:"u1"}', 'invalid_json');
  bad400(g, 'trailing-comma', 'a trailing comma', '{"type":"shared","userId":"u1",}', 'invalid_json');
  bad400(g, 'comment', 'a comment before the object', '// the event\n{"type":"shared","userId":"u1"}', 'invalid_json');
  bad400(g, 'two-objects', 'two objects one after the other', '{"type":"shared","userId":"u1"} {"type":"shared","userId":"u2"}', 'invalid_json');
  bad400(g, 'json-lines', 'newline-delimited events', '{"type":"shared","userId":"u1"}\n{"type":"shared","userId":"u2"}\n', 'invalid_json');
  bad400(g, 'trailing-garbage', 'an object and then a letter', '{"type":"shared","userId":"u1"}x', 'invalid_json');
  bad400(g, 'nan', 'NaN is not JSON', '{"type":"shared","userId":"u1","face_value":NaN}', 'invalid_json');
  bad400(g, 'infinity', 'Infinity is not JSON', '{"type":"shared","userId":"u1","face_value":-Infinity}', 'invalid_json');
  bad400(g, 'leading-zero', 'a number with a leading zero', '{"type":"shared","userId":"u1","event_id":012}', 'invalid_json');
  bad400(g, 'hex-number', 'a hexadecimal number', '{"type":"shared","userId":"u1","event_id":0x1F}', 'invalid_json');
  bad400(g, 'bare-fraction', 'a number starting with a dot', '{"type":"shared","userId":"u1","face_value":.5}', 'invalid_json');
  bad400(g, 'dangling-dot', 'a number ending with a dot', '{"type":"shared","userId":"u1","face_value":1.}', 'invalid_json');
  bad400(g, 'plus-sign', 'a number with a plus sign', '{"type":"shared","userId":"u1","face_value":+1}', 'invalid_json');
  bad400(g, 'missing-value', 'a key with no value', '{"type":}', 'invalid_json');
  bad400(g, 'lone-comma-object', 'an object of one comma', '{,}', 'invalid_json');
  bad400(g, 'lone-comma-array', 'an array of one comma', '[,]', 'invalid_json');
  bad400(g, 'missing-colon', 'a key and value without a colon', '{"type" "shared"}', 'invalid_json');
  bad400(g, 'number-key', 'a number as an object key', '{1:"shared"}', 'invalid_json');
  bad400(g, 'unterminated-string', 'a string that never ends', '"shared', 'invalid_json');
  bad400(g, 'invalid-escape', 'an escape JSON does not have', '{"type":"sh\\x61red","userId":"u1"}', 'invalid_json');
  bad400(g, 'short-unicode-escape', 'a \\u escape with two digits', '{"type":"sh\\u61red","userId":"u1"}', 'invalid_json');
  bad400(g, 'lone-high-surrogate', 'an escaped lone high surrogate', '{"type":"shared\\ud800","userId":"u1"}', 'invalid_json');
  bad400(g, 'lone-low-surrogate', 'an escaped lone low surrogate', '{"type":"shared","userId":"u\\udc00"}', 'invalid_json');
  refuse(g, 'json-null', 'the JSON value null', 'null', 400, 'not_an_event');
  refuse(g, 'json-number', 'a bare number', '42', 400, 'not_an_event');
  refuse(g, 'json-string', 'a bare string', '"shared"', 400, 'not_an_event');
  refuse(g, 'json-true', 'a bare boolean', 'true', 400, 'not_an_event');
  bad400(g, 'empty-object', 'an object with nothing in it', '{}', 'missing_event_name');
  bad400(g, 'empty-array', 'an array of no events', '[]', 'empty_batch');
  bad400(g, 'bom', 'a UTF-8 byte order mark before the object', Buffer.concat([Buffer.from('efbbbf', 'hex'), Buffer.from(j(ev()))]), 'invalid_json');
  bad400(g, 'utf16le', 'the event encoded as UTF-16LE', Buffer.from(j(ev()), 'utf16le'), 'invalid_json');
  bad400(g, 'gzip-magic', 'gzip bytes sent without Content-Encoding', Buffer.from('1f8b0800000000000003ab56', 'hex'), 'invalid_json');
  bad400(g, 'nul-only', 'a single NUL byte', Buffer.from([0]), 'invalid_json');
  bad400(g, 'trailing-nul', 'a valid event followed by a NUL byte', Buffer.concat([Buffer.from(j(ev())), Buffer.from([0])]), 'invalid_json');
}

// ---------------------------------------------------------------------------------------
// Truncated bodies: the shipped conversion sample cut short.

{
  const g = 'truncated';
  const full = sample('converted');
  for (const [id, length] of [['1-byte', 1], ['quarter', Math.floor(full.length / 4)], ['half', Math.floor(full.length / 2)], ['three-quarters', Math.floor((full.length * 3) / 4)], ['last-byte', full.length - 1]]) {
    bad400(g, `truncated-${id}`, `converted.json cut to ${length} of ${full.length} bytes`, full.slice(0, length), 'invalid_json');
  }
  bad400(g, 'truncated-in-escape', 'cut inside a \\u escape', '{"type":"shared","userId":"u\\u00', 'invalid_json');
  bad400(g, 'truncated-in-key', 'cut inside a key', '{"type":"shared","user', 'invalid_json');
  bad400(g, 'truncated-in-number', 'cut inside a number', '{"type":"shared","userId":"u1","event_id":12', 'invalid_json');
  bad400(g, 'truncated-in-literal', 'cut inside a literal', '{"type":"shared","userId":"u1","sandbox":tru', 'invalid_json');
  bad400(g, 'truncated-in-utf8', 'cut in the middle of a two-byte UTF-8 character',
    Buffer.concat([Buffer.from('{"type":"shared","userId":"u1","data":{"first_name":"Ren'), Buffer.from([0xc3])]), 'invalid_json');
  bad400(g, 'truncated-batch', 'a batch cut after its first event', `[${j(ev())},`, 'invalid_json');
}

// ---------------------------------------------------------------------------------------
// Invalid UTF-8.

{
  const g = 'utf8';
  const withBytes = (before, bytes, after) => Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);
  const inName = (bytes) => withBytes('{"type":"sh', bytes, 'ared","userId":"u1"}');
  const inData = (bytes) => withBytes('{"type":"shared","userId":"u1","data":{"first_name":"A', bytes, 'na"}}');
  bad400(g, 'utf8-ff-in-name', 'a 0xFF byte in the event name', inName([0xff]), 'invalid_json');
  bad400(g, 'utf8-bad-continuation', 'a lead byte followed by ASCII', inData([0xc3, 0x28]), 'invalid_json');
  bad400(g, 'utf8-lone-continuation', 'a continuation byte on its own', inData([0x80]), 'invalid_json');
  bad400(g, 'utf8-overlong-slash', 'an overlong encoding of /', inData([0xc0, 0xaf]), 'invalid_json');
  bad400(g, 'utf8-surrogate', 'a UTF-16 surrogate encoded in UTF-8', inData([0xed, 0xa0, 0x80]), 'invalid_json');
  bad400(g, 'utf8-five-byte', 'a five-byte lead byte', inData([0xf8, 0x88, 0x80, 0x80, 0x80]), 'invalid_json');
  bad400(g, 'utf8-above-max', 'a code point above U+10FFFF', inData([0xf4, 0x90, 0x80, 0x80]), 'invalid_json');
  bad400(g, 'utf8-truncated-sequence', 'a three-byte character missing its last byte', inData([0xe2, 0x82]), 'invalid_json');
  bad400(g, 'utf8-latin1', 'an é encoded as Latin-1', withBytes('{"type":"shared","userId":"u1","data":{"first_name":"Ren', [0xe9], '"}}'), 'invalid_json');
  bad400(g, 'utf8-in-key', 'invalid UTF-8 in an object key', withBytes('{"type":"shared","userId":"u1","data":{"na', [0xfe], 'me":"x"}}'), 'invalid_json');
  bad400(g, 'utf8-between-tokens', 'a stray byte between tokens', withBytes('{"type":"shared",', [0xa0], '"userId":"u1"}'), 'invalid_json');
  bad400(g, 'utf8-in-user-id', 'invalid UTF-8 inside the external id', withBytes('{"type":"shared","userId":"u', [0xc1, 0xbf], '"}'), 'invalid_json');
}

// ---------------------------------------------------------------------------------------
// Deep nesting.

{
  const g = 'nesting';
  bad400(g, 'nested-arrays-10000-unclosed', '10,000 opening brackets', gen(repeat('[', 10000)), 'invalid_json');
  bad400(g, 'nested-arrays-10000', '10,000 nested arrays, closed', gen(repeat('[', 10000), repeat(']', 10000)), 'invalid_json');
  bad400(g, 'nested-objects-10000', '10,000 nested objects', gen(repeat('{"a":', 10000), '1', repeat('}', 10000)), 'invalid_json');
  bad400(g, 'nested-in-data-10000', 'a valid event whose data holds 10,000 levels',
    gen('{"type":"shared","userId":"u1","data":{"x":', repeat('[', 10000), repeat(']', 10000), '}}'), 'invalid_json');
  bad400(g, 'nested-in-batch-10000', 'a batch whose second event nests 10,000 levels',
    gen(`[${j(ev())},{"type":"shared","userId":"u2","data":`, repeat('{"a":', 10000), 'null', repeat('}', 10000), '}]'), 'invalid_json');
  bad400(g, 'nested-arrays-129', 'one level past the parser limit', gen(repeat('[', 129), repeat(']', 129)), 'invalid_json');
  bad400(g, 'nested-mixed-5000', 'alternating arrays and objects, 5,000 deep',
    gen(repeat('[{"a":', 5000), '0', repeat('}]', 5000)), 'invalid_json');
  unauthorized(g, 'nested-10000-unsigned', 'authentication comes before parsing: unsigned deep nesting is 401',
    gen(repeat('[', 10000), repeat(']', 10000)), { auth: 'none' });
}

// ---------------------------------------------------------------------------------------
// Bodies over the 256 KiB cap.

{
  const g = 'size';
  const cap = 262144;
  const base = j(ev({ event_id: 'h-size-base' }));
  const padTo = (size) => gen(base, repeat(' ', size - Buffer.byteLength(base)));
  refuse(g, 'size-cap-plus-1', 'a valid event padded to 256 KiB + 1 byte', padTo(cap + 1), 413, 'payload_too_large');
  refuse(g, 'size-300k-string', 'a 300 KB string inside data',
    gen('{"type":"shared","userId":"u1","data":{"blob":"', repeat('x', 300 * 1024), '"}}'), 413, 'payload_too_large');
  refuse(g, 'size-1mib', 'a 1 MiB body', padTo(1024 * 1024), 413, 'payload_too_large');
  refuse(g, 'size-9mib', 'a 9 MiB body, past the relay\'s 8 MiB read limit', padTo(9 * 1024 * 1024), 413, 'payload_too_large');
  refuse(g, 'size-1mib-chunked', 'a 1 MiB body streamed without Content-Length (chunked; e2e streams it)', padTo(1024 * 1024), 413, 'payload_too_large', { transport: 'chunked' });
  refuse(g, 'size-9mib-chunked', 'a 9 MiB body streamed without Content-Length (chunked; e2e streams it)', padTo(9 * 1024 * 1024), 413, 'payload_too_large', { transport: 'chunked' });
  refuse(g, 'size-unsigned', 'the size cap comes before authentication', padTo(cap + 1000), 413, 'payload_too_large', { auth: 'none' });
  refuse(g, 'size-nested-300k', 'over the cap and nested: refused for its size before any parsing',
    gen(repeat('[', 150000), repeat(']', 150000)), 413, 'payload_too_large');
}

// ---------------------------------------------------------------------------------------
// Numbers that overflow, and numbers where an integer or a string is required.

{
  const g = 'numbers';
  const raw = (fields) => `{"type":"shared","userId":"u1",${fields}}`;
  // Past a double's range: refused as JSON the relay cannot read (serde_json without
  // arbitrary_precision, which the Worker's size budget left out), wherever it is.
  bad400(g, 'event-time-1e400', 'an event time of 1e400', raw('"event_time":1e400'), 'invalid_json');
  bad400(g, 'event-time-minus-1e400', 'an event time of -1e400', raw('"event_time":-1e400'), 'invalid_json');
  field(g, 'event-time-huge-integer', 'a 23-digit event time', raw('"event_time":99999999999999999999999'), '/event_time');
  field(g, 'event-time-i64-max', 'the largest 64-bit integer as milliseconds', raw('"event_time":9223372036854775807'), '/event_time');
  field(g, 'event-time-i64-min', 'the smallest 64-bit integer', raw('"event_time":-9223372036854775808'), '/event_time');
  field(g, 'event-time-u64-overflow', 'one past the largest unsigned 64-bit integer', raw('"event_time":18446744073709551616'), '/event_time');
  field(g, 'event-time-fraction-ms', 'milliseconds written with a fraction', raw('"event_time":1795373071120.5'), '/event_time');
  field(g, 'event-time-exponent', 'epoch seconds written with an exponent', raw('"event_time":1.795373071e9'), '/event_time');
  bad400(g, 'timestamp-1e400', '`timestamp` of 1e400', raw('"timestamp":1e400'), 'invalid_json');
  bad400(g, 'event-id-1e400', 'an event id of 1e400', raw('"event_id":1e400'), 'invalid_json');
  bad400(g, 'event-id-minus-1e400', 'an event id of -1e400', raw('"event_id":-1e400'), 'invalid_json');
  bad400(g, 'number-1e400-in-data', 'a number of 1e400 in data', raw('"data":{"cart_value":1e400}'), 'invalid_json');
  field(g, 'event-id-30-digits', 'a 30-digit integer event id: past 64 bits a JSON number is a double, and a rounded id names another event',
    raw('"event_id":123456789012345678901234567890'), '/event_id');
  field(g, 'event-id-u64-overflow', 'one past the largest unsigned 64-bit integer as event id', raw('"event_id":18446744073709551616'), '/event_id');
  field(g, 'event-id-fraction', 'an event id of 1.5', raw('"event_id":1.5'), '/event_id');
  field(g, 'event-id-exponent', 'an event id of 1e3', raw('"event_id":1e3'), '/event_id');
  field(g, 'event-id-zero-fraction', 'an event id of 7.0', raw('"event_id":7.0'), '/event_id');
  field(g, 'event-id-long-fraction', 'a 30-digit event id with a fraction', raw('"event_id":123456789012345678901234567890.5'), '/event_id');
  bad400(g, 'event-id-1e400-in-batch', 'an event id of 1e400 in the second event of a batch',
    `[${j(ev())},{"type":"shared","userId":"u2","event_id":1e400}]`, 'invalid_json');
  unidentified(g, 'person-id-number-only', 'a 19-digit person_id is not an identity', raw('"person_id":6816411215104951917').replace('"userId":"u1",', ''));
  bad400(g, 'user-id-1e400', 'an external id of 1e400', '{"type":"shared","userId":1e400}', 'invalid_json');
  unidentified(g, 'user-id-fraction', 'an external id of 1.5 is a number, not an id (ids are strings or integers)',
    '{"type":"shared","userId":1.5}');
}

// ---------------------------------------------------------------------------------------
// Control characters and NUL.

{
  const g = 'control';
  bad400(g, 'raw-nul-in-name', 'an unescaped NUL inside the event name', Buffer.from('{"type":"sh\u0000ared","userId":"u1"}'), 'invalid_json');
  bad400(g, 'raw-newline-in-string', 'an unescaped newline inside a string', '{"type":"shared","userId":"u1","data":{"note":"a\nb"}}', 'invalid_json');
  bad400(g, 'raw-tab-in-string', 'an unescaped tab inside a string', '{"type":"shared\t","userId":"u1"}', 'invalid_json');
  bad400(g, 'raw-unit-separator-in-key', 'an unescaped 0x1F inside a key', '{"type":"shared","userId":"u1","data":{"a\u001fb":1}}', 'invalid_json');
  field(g, 'escaped-nul-in-type', 'an escaped NUL in `type`', '{"type":"sh\\u0000ared","userId":"u1"}', '/type');
  field(g, 'escaped-bell-in-event-name', 'an escaped BEL in `event_name`', '{"event_name":"shared\\u0007","userId":"u1"}', '/event_name');
  field(g, 'escaped-newline-in-event', 'an escaped newline inside `event`', '{"event":"Share\\nLink Created","userId":"u1"}', '/event');
  field(g, 'escaped-del-in-type', 'a DEL character in `type`', '{"type":"shared\\u007f","userId":"u1"}', '/type');
  field(g, 'escaped-nel-in-type', 'a C1 control (NEL) in `type`', '{"type":"sha\\u0085red","userId":"u1"}', '/type');
  field(g, 'escaped-nul-in-event-id', 'an escaped NUL in the event id', '{"type":"shared","userId":"u1","event_id":"e\\u0000"}', '/event_id');
  field(g, 'escaped-escape-in-event-id', 'an ESC character in the event id', '{"type":"shared","userId":"u1","event_id":"\\u001b[31mred"}', '/event_id');
  field(g, 'blank-unicode-name', 'a name of Unicode spaces only (line separator, no-break space)', '{"type":"\\u2028\\u00a0\\u3000","userId":"u1"}', '/type');
  unidentified(g, 'nul-user-id', 'an external id that is a NUL, no email', '{"type":"shared","userId":"\\u0000"}');
  unidentified(g, 'control-in-partner-user-id', 'an external id with a control character, no email', '{"type":"shared","partner_user_id":"cust-1\\u0008"}');
  unidentified(g, 'nul-in-email', 'an email with a NUL in it, no external id', '{"type":"shared","data":{"email":"pat\\u0000@example.com"}}');
  unidentified(g, 'newline-in-email', 'an email with a newline in the middle, no external id', '{"type":"shared","data":{"email":"pat@exa\\nmple.com"}}');
}

// ---------------------------------------------------------------------------------------
// Wrong types in every field.

{
  const g = 'types';
  const bad = { number: 5, true: true, false: false, array: ['shared'], object: { name: 'shared' }, empty: '', blank: '   ' };
  for (const name of ['type', 'event_name', 'event']) {
    for (const [kind, value] of Object.entries(bad)) {
      if (name !== 'type' && ['false', 'blank'].includes(kind)) continue; // type covers those
      field(g, `${name.replace('_', '-')}-${kind}`, `\`${name}\` is ${kind === 'empty' ? 'an empty string' : kind === 'blank' ? 'blank' : `a${kind === 'array' || kind === 'object' ? 'n' : ''} ${kind}`}`,
        j({ [name]: value, userId: 'u1' }), `/${name}`);
    }
  }
  field(g, 'type-wrong-event-right', 'a bad `type` is not rescued by a good `event`', j({ type: 7, event: 'shared', userId: 'u1' }), '/type');
  bad400(g, 'all-names-null', 'every name field null', j({ type: null, event_name: null, event: null, userId: 'u1' }), 'missing_event_name');
  bad400(g, 'name-in-data-only', 'the name inside data, where it is not looked for', j({ userId: 'u1', data: { type: 'shared' } }), 'missing_event_name');
  for (const [kind, value] of Object.entries({ object: {}, array: ['e1'], true: true, empty: '', blank: '   ' })) {
    field(g, `event-id-${kind}`, `\`event_id\` is ${kind}`, j(ev({ event_id: value })), '/event_id');
  }
  field(g, 'event-id-alias-object', '`eventId` is an object', j(ev({ event_id: undefined, eventId: { id: 'e1' } })), '/eventId');
  field(g, 'event-id-513', 'an event id of 513 characters', gen('{"type":"shared","userId":"u1","event_id":"', repeat('e', 513), '"}'), '/event_id');
  for (const [kind, value] of Object.entries({ true: true, object: { iso: '2026-11-22T18:44:31Z' }, array: ['2026-11-22T18:44:31Z'], empty: '', blank: '  ' })) {
    field(g, `event-time-${kind}`, `\`event_time\` is ${kind}`, j(ev({ event_time: value })), '/event_time');
  }
  field(g, 'timestamp-false', '`timestamp` is false', j(ev({ timestamp: false })), '/timestamp');
  field(g, 'event-time-alias-array', '`eventTime` is an array', j(ev({ eventTime: [] })), '/eventTime');
  for (const [kind, value] of Object.entries({ array: [1], string: 'x', number: 5, true: true, 'empty-array': [] })) {
    field(g, `data-${kind}`, `\`data\` is ${kind}`, j(ev({ data: value })), '/data');
  }
  for (const [kind, value] of Object.entries({ array: [], string: '{"email":"x"}', number: 0, false: false })) {
    field(g, `properties-${kind}`, `\`properties\` is ${kind}`, j(ev({ properties: value })), '/properties');
  }
  field(g, 'data-string-in-batch', '`data` is a string in the first event of a batch', j([ev({ data: 'x' }), ev()]), '/0/data');
  // Person fields of the wrong type leave the event with no identity.
  const noId = (changes) => j(ev({ userId: undefined, ...changes }));
  unidentified(g, 'partner-user-id-object', '`partner_user_id` is an object, no email', noId({ partner_user_id: { id: 'cust-1' } }));
  unidentified(g, 'partner-user-id-array', '`partner_user_id` is an array, no email', noId({ partner_user_id: ['cust-1'] }));
  unidentified(g, 'user-id-object-in-properties', '`properties.userId` is an object, no email', noId({ properties: { userId: {} } }));
  unidentified(g, 'partner-user-id-in-data-array', '`data.partner_user_id` is an array, no email', noId({ data: { partner_user_id: [1] } }));
  unidentified(g, 'partner-user-id-empty', 'an empty `partner_user_id` and a blank `userId`', noId({ partner_user_id: '', userId: '   ' }));
  unidentified(g, 'partner-user-id-null', '`partner_user_id` null, no email', noId({ partner_user_id: null }));
  unidentified(g, 'partner-user-id-true', '`partner_user_id` true is not an external id', noId({ partner_user_id: true }));
  unidentified(g, 'user-id-false', '`userId` false is not an external id', noId({ userId: false }));
  unidentified(g, 'email-number', '`email` is a number, no external id', noId({ email: 5 }));
  unidentified(g, 'email-object', '`email` is an object, no external id', noId({ email: { address: 'pat@example.com' } }));
  unidentified(g, 'email-array', '`email` is an array of addresses, no external id', noId({ data: { email: ['pat@example.com'] } }));
  unidentified(g, 'email-true', '`email` is true, no external id', noId({ email: true }));
  unidentified(g, 'recipient-email-object', '`data.recipient_email` is an object, no external id', noId({ data: { recipient_email: { value: 'pat@example.com' } } }));
  unidentified(g, 'person-only-names', 'only a first and last name', noId({ data: { first_name: 'Ann', last_name: 'Lee' } }));
  unidentified(g, 'anonymous-id-only', 'only an anonymousId', noId({ anonymousId: 'anon-123' }));
}

// ---------------------------------------------------------------------------------------
// Duplicate keys: the last one counts.

{
  const g = 'duplicates';
  field(g, 'dup-type-last-invalid', '`type` twice, the last a number', '{"type":"shared","type":5,"userId":"u1"}', '/type');
  field(g, 'dup-type-last-empty', '`type` twice, the last empty', '{"type":"shared","userId":"u1","type":""}', '/type');
  field(g, 'dup-data-last-array', '`data` twice, the last an array', '{"type":"shared","userId":"u1","data":{},"data":[1]}', '/data');
  field(g, 'dup-event-id-last-object', '`event_id` twice, the last an object', '{"type":"shared","userId":"u1","event_id":"e1","event_id":{}}', '/event_id');
  field(g, 'dup-event-time-last-nonsense', '`event_time` twice, the last nonsense', '{"type":"shared","userId":"u1","event_time":"2026-11-22T18:44:31Z","event_time":"never"}', '/event_time');
  unidentified(g, 'dup-user-id-last-null', '`userId` twice, the last null', '{"type":"shared","userId":"u1","userId":null}');
  unidentified(g, 'dup-partner-user-id-last-object', '`partner_user_id` twice, the last an object', '{"type":"shared","partner_user_id":"u1","partner_user_id":{}}');
  unidentified(g, 'dup-email-last-invalid', '`email` twice, the last invalid', '{"type":"shared","email":"pat@example.com","email":"pat-at-example"}');
  field(g, 'dup-type-1000', '`type` 1,000 times, the last a number',
    gen('{', repeat('"type":"shared"', 1000, ','), ',"type":7,"userId":"u1"}'), '/type');
}

// ---------------------------------------------------------------------------------------
// Batches that can never be delivered.

{
  const g = 'batch';
  refuse(g, 'batch-of-number', 'a batch holding a number', '[1]', 400, 'not_an_event');
  refuse(g, 'batch-of-null', 'a batch holding null', '[null]', 400, 'not_an_event');
  refuse(g, 'batch-of-batch', 'a batch holding a batch', j([[ev()]]), 400, 'not_an_event');
  refuse(g, 'batch-second-string', 'a batch whose second item is a string', j([ev(), 'shared']), 400, 'not_an_event');
  refuse(g, 'batch-second-nameless', 'a batch whose second event has no name', j([ev(), { userId: 'u2', data: {} }]), 400, 'missing_event_name');
  refuse(g, 'batch-101', 'a batch of 101 events, one over the limit',
    gen('[', repeat('{"event":"shared","userId":"u1"}', 101, ','), ']'), 413, 'too_many_events');
  refuse(g, 'batch-10000', 'a batch of 10,000 events', gen('[', repeat('{"event":"x"}', 10000, ','), ']'), 413, 'too_many_events');
  refuse(g, 'batch-10000-empty-objects', 'a batch of 10,000 empty objects', gen('[', repeat('{}', 10000, ','), ']'), 413, 'too_many_events');
  refuse(g, 'batch-10000-numbers', 'a batch of 10,000 numbers', gen('[', repeat('0', 10000, ','), ']'), 413, 'too_many_events');
  unidentified(g, 'batch-all-unidentified', 'a batch of three events none of which names a person',
    j([ev({ userId: undefined }), ev({ userId: undefined, data: { email: 'nobody' } }), ev({ userId: undefined, data: { first_name: 'Ann' } })]));
}

// ---------------------------------------------------------------------------------------
// Event names and values at and over Braze's limits.

{
  const g = 'limits';
  const named = (nameParts, rest = ',"userId":"u1"}') => gen('{"type":"', ...nameParts, `"${rest}`);
  refuse(g, 'name-256-ascii', 'an event name of 256 characters', named([repeat('a', 256)]), 422, 'event_name_too_long');
  refuse(g, 'name-256-accented', 'an event name of 256 two-byte characters', named([repeat('é', 256)]), 422, 'event_name_too_long');
  refuse(g, 'name-256-emoji', 'an event name of 256 four-byte characters', named([repeat('🎉', 256)]), 422, 'event_name_too_long');
  refuse(g, 'name-10000', 'an event name of 10,000 characters', named([repeat('n', 10000)]), 422, 'event_name_too_long');
  refuse(g, 'event-name-field-300', 'a 300-character `event_name`', gen('{"event_name":"', repeat('b', 300), '","userId":"u1"}'), 422, 'event_name_too_long');
  refuse(g, 'name-256-after-trim', 'a name of 256 characters between spaces', named([' ', repeat('c', 256), ' ']), 422, 'event_name_too_long');
  unidentified(g, 'external-id-513', 'an external id of 513 characters, no email', gen('{"type":"shared","partner_user_id":"', repeat('p', 513), '"}'));
  unidentified(g, 'email-255', 'an email of 255 characters, no external id',
    gen('{"type":"shared","data":{"email":"', repeat('a', 60), '@', repeat('b', 60), '.', repeat('c', 60), '.', repeat('d', 60), '.', repeat('e', 9), '.com"}}'));
  unidentified(g, 'email-local-65', 'an email whose local part is 65 characters, no external id', gen('{"type":"shared","email":"', repeat('l', 65), '@example.com"}'));
  unidentified(g, 'email-label-64', 'an email whose domain label is 64 characters, no external id', gen('{"type":"shared","email":"pat@', repeat('d', 64), '.com"}'));
}

// ---------------------------------------------------------------------------------------
// Emails in odd forms, with no external id: no person Braze can store.

{
  const g = 'email';
  const odd = [
    ['plain', 'pat'], ['no-dot-domain', 'pat@example'], ['double-at', 'pat@@example.com'], ['space-inside', 'pat smith@example.com'],
    ['leading-dot', '.pat@example.com'], ['trailing-dot-local', 'pat.@example.com'], ['double-dot', 'pat..smith@example.com'],
    ['hyphen-label', 'pat@-example.com'], ['label-trailing-hyphen', 'pat@example-.com'], ['digit-tld', 'pat@example.c0m'],
    ['empty-label', 'pat@example..com'], ['quoted-local', '"pat smith"@example.com'], ['localhost', 'pat@localhost'],
    ['ip-literal', 'pat@[192.168.0.1]'], ['unicode-domain', 'pat@exämple.com'], ['unicode-local', 'pät@example.com'],
    ['mailto', 'mailto:pat@example.com'], ['two-addresses', 'pat@example.com,sam@example.com'], ['angle-brackets', '<pat@example.com>'],
    ['display-name', 'Pat Smith <pat@example.com>'], ['one-letter-tld', 'pat@example.c'], ['no-local', '@example.com'],
    ['no-domain', 'pat@'], ['dot-domain', 'pat@.com'], ['url-encoded', 'pat%40example.com'], ['trailing-dot-domain', 'pat@example.com.'],
    ['html-entity', 'pat&#64;example.com'],
  ];
  const where = [
    (email) => ({ email }), (email) => ({ data: { email } }), (email) => ({ data: { recipient_email: email } }),
    (email) => ({ properties: { email } }), (email) => ({ email_address: email }),
  ];
  odd.forEach(([id, email], i) => {
    unidentified(g, `email-${id}`, `email ${JSON.stringify(email)} and no external id`, j(ev({ userId: undefined, ...where[i % where.length](email) })));
  });
}

// ---------------------------------------------------------------------------------------
// Phone numbers in odd forms, with no external id (a phone number is not an identity here).

{
  const g = 'phone';
  const phones = [
    ['e164', '+16175550142'], ['formatted', '+1 (617) 555-0142'], ['national', '617-555-0142'], ['zero-country', '+0 123 4567'],
    ['extension', '555-0142 ext 4'], ['tel-uri', 'tel:+1-617-555-0142'], ['double-plus', '++16175550142'],
    ['international-prefix', '0044 20 7946 0958'], ['trunk-zero', '+44 (0) 20 7946 0958'], ['fullwidth-digits', '＋１６１７５５５０１４２'],
    ['letters', '1-800-FLOWERS'], ['too-long', '+1234567890123456789'],
  ];
  phones.forEach(([id, phone], i) => {
    const key = ['phone_number', 'phone'][i % 2];
    const place = i % 3 === 0 ? { [key]: phone } : i % 3 === 1 ? { data: { [key]: phone } } : { properties: { [key]: phone } };
    unidentified(g, `phone-${id}`, `phone ${JSON.stringify(phone)} and no external id or email`, j(ev({ userId: undefined, ...place })));
  });
  unidentified(g, 'phone-as-number', 'a phone number sent as a JSON number, no external id', '{"type":"shared","data":{"phone_number":16175550142}}');
}

// ---------------------------------------------------------------------------------------
// Dates: nonsense and formats the relay does not read.

{
  const g = 'dates';
  const bad = [
    ['word-yesterday', 'yesterday'], ['word-now', 'now'], ['month-13', '2026-13-01'], ['february-30', '2026-02-30'],
    ['november-31', '2026-11-31'], ['hour-25', '2026-11-22T25:00:00Z'], ['minute-61', '2026-11-22T18:61:00Z'],
    ['second-61', '2026-11-22T18:44:61Z'], ['european', '22/11/2026'], ['american', '11/22/2026 18:44'],
    ['rfc2822', 'Sun, 22 Nov 2026 18:44:31 GMT'], ['prose', 'Nov 22, 2026'], ['iso-week', '2026-W47-7'],
    ['ordinal', '2026-326'], ['basic-format', '20261122T184431Z'], ['offset-25h', '2026-11-22T18:44:31+25:00'],
    ['utc-word', '2026-11-22T18:44:31 UTC'], ['before-2000', '1999-12-31T23:59:59Z'], ['after-2100', '2101-01-01T00:00:00Z'],
    ['zeros', '0000-00-00 00:00:00'], ['year-1', '0001-01-01T00:00:00Z'], ['expanded-year', '+002026-11-22T18:44:31Z'],
    ['decimal-epoch-string', '1795373071.120'], ['hex-epoch', '0x6B0A4E0F'], ['nan-word', 'NaN'], ['trailing-nul', '2026-11-22T18:44:31Z\u0000'],
    ['two-dates', '2026-11-22T18:44:31Z/2026-11-23T18:44:31Z'], ['time-only', '18:44:31'], ['year-only', '2026'],
    ['negative-epoch-string', '-1'],
  ];
  bad.forEach(([id, value], i) => {
    const name = ['event_time', 'timestamp', 'eventTime'][i % 3];
    field(g, `date-${id}`, `${name} ${JSON.stringify(value)}`, j(ev({ [name]: value })), `/${name}`);
  });
  for (const [id, value, why] of [
    ['epoch-zero', 0, 'epoch 0 (1970)'], ['epoch-negative', -1, 'epoch -1'], ['epoch-1999', 946684799, 'the last second of 1999'],
    ['epoch-2101', 4133980800, '2101 in epoch seconds'], ['epoch-below-ms-threshold', 99999999999, 'the largest value read as seconds (year 5138)'],
    ['epoch-ms-2101', 4133980800000, '2101 in epoch milliseconds'],
  ]) {
    field(g, `date-${id}`, `event_time ${why}`, j(ev({ event_time: value })), '/event_time');
  }
}

// ---------------------------------------------------------------------------------------
// Authentication: HS256 (production, staging), Bearer and Basic (KV environments).

{
  const g = 'auth-hs256';
  const body = j(ev({ event_id: 'h-auth-body' }));
  const good = hmacHex(KEYS.production, body);
  const hs = (id, why, headers, env = 'production', b = body) => unauthorized(g, id, why, b, { env, auth: { headers } });
  unauthorized(g, 'hs256-missing', 'no X-Extole-Signature header', body, { auth: 'none' });
  hs('hs256-empty', 'an empty X-Extole-Signature', { 'x-extole-signature': '' });
  hs('hs256-truncated-63', 'the right signature minus its last hex digit', { 'x-extole-signature': good.slice(0, 63) });
  hs('hs256-truncated-32', 'the first half of the right signature', { 'x-extole-signature': good.slice(0, 32) });
  hs('hs256-extended', 'the right signature plus two hex digits', { 'x-extole-signature': `${good}00` });
  hs('hs256-not-hex', '64 characters that are not hex', { 'x-extole-signature': 'z'.repeat(64) });
  hs('hs256-sha1-prefix', 'a sha1= prefix', { 'x-extole-signature': `sha1=${good}` });
  hs('hs256-colon-prefix', 'sha256: instead of sha256=', { 'x-extole-signature': `sha256:${good}` });
  hs('hs256-prefix-only', 'sha256= and nothing else', { 'x-extole-signature': 'sha256=' });
  hs('hs256-base64', 'the right HMAC in base64 instead of hex', { 'x-extole-signature': Buffer.from(good, 'hex').toString('base64') });
  hs('hs256-hs512', 'an HMAC-SHA512 of the body with the right key', { 'x-extole-signature': crypto.createHmac('sha512', KEYS.production).update(body).digest('hex') });
  hs('hs256-wrong-key', 'signed with a key the environment does not have', { 'x-extole-signature': hmacHex(KEYS.wrong, body) });
  hs('hs256-key-case', 'signed with the right key in upper case', { 'x-extole-signature': hmacHex(KEYS.production.toUpperCase(), body) });
  hs('hs256-other-environment', 'signed with staging\'s key', { 'x-extole-signature': hmacHex(KEYS.stagingNew, body) });
  hs('hs256-replayed', 'a valid signature of another body (replayed)', { 'x-extole-signature': hmacHex(KEYS.production, j(ev({ event_id: 'h-auth-other' }))) });
  hs('hs256-body-appended', 'the body changed after signing (a newline appended)', { 'x-extole-signature': hmacHex(KEYS.production, body) }, 'production', `${body}\n`);
  hs('hs256-reserialised', 'signed over the same JSON re-serialised with spaces', { 'x-extole-signature': hmacHex(KEYS.production, JSON.stringify(JSON.parse(body), null, 1)) });
  hs('hs256-rotated-out', 'staging signed with a key rotated out of the secret', { 'x-extole-signature': hmacHex(KEYS.stagingRetired, body) }, 'staging');
  hs('hs256-both-keys-joined', 'staging signed with both keys joined by a comma', { 'x-extole-signature': hmacHex(`${KEYS.stagingOld},${KEYS.stagingNew}`, body) }, 'staging');
  hs('hs256-two-signatures', 'a wrong and the right signature, comma-separated', { 'x-extole-signature': `${hmacHex(KEYS.wrong, body)},${good}` });
  hs('hs256-as-bearer', 'the HMAC sent as a Bearer token', { authorization: `Bearer ${good}` });
  hs('hs256-key-as-bearer', 'the signing key itself sent as a Bearer token', { authorization: `Bearer ${KEYS.production}` });
  hs('hs256-other-header', 'the right signature under another header name', { 'x-signature': good });
  hs('hs256-signature-of-empty', 'a signature of the empty body', { 'x-extole-signature': hmacHex(KEYS.production, '') });
  unauthorized(g, 'hs256-invalid-json-unsigned', 'authentication comes before parsing: unsigned garbage is 401', 'not json at all', { auth: 'none' });
  unauthorized(g, 'hs256-empty-body-unsigned', 'an unsigned empty body is 401, not 400', '', { auth: 'none' });
}

{
  const g = 'auth-bearer';
  const env = 'hostile-bearer';
  const body = j(ev({ event_id: 'h-bearer-body' }));
  const bearer = (id, why, value) => unauthorized(g, id, why, body, { env, auth: { headers: value === null ? {} : { authorization: value } } });
  bearer('bearer-missing', 'no Authorization header', null);
  bearer('bearer-empty', 'an empty Authorization header', '');
  bearer('bearer-word-only', 'the word Bearer and no token', 'Bearer');
  bearer('bearer-trailing-space', 'the right token followed by a space', `Bearer ${KEYS.bearer} `);
  bearer('bearer-double-space', 'two spaces between the word and the token', `Bearer  ${KEYS.bearer}`);
  bearer('bearer-tab', 'a tab between the word and the token', `Bearer\t${KEYS.bearer}`);
  bearer('bearer-truncated', 'the token minus its last character', `Bearer ${KEYS.bearer.slice(0, -1)}`);
  bearer('bearer-extended', 'the token plus one character', `Bearer ${KEYS.bearer}x`);
  bearer('bearer-token-case', 'the token in upper case (tokens are case-sensitive)', `Bearer ${KEYS.bearer.toUpperCase()}`);
  bearer('bearer-rotated-out', 'a token rotated out of the secret', `Bearer ${KEYS.bearerRetired}`);
  bearer('bearer-wrong-scheme-token', 'the right token under the scheme word Token', `Token ${KEYS.bearer}`);
  bearer('bearer-wrong-scheme-basic', 'the right token as Basic credentials', basicOf(KEYS.bearer));
  bearer('bearer-no-scheme', 'the token with no scheme word', KEYS.bearer);
  bearer('bearer-misspelt-scheme', 'the scheme word misspelt', `Baerer ${KEYS.bearer}`);
  bearer('bearer-quoted', 'the token in quotes', `Bearer "${KEYS.bearer}"`);
  bearer('bearer-two-tokens', 'a wrong and the right token, comma-separated', `Bearer ${KEYS.bearerRetired},${KEYS.bearer}`);
  unauthorized(g, 'bearer-as-signature', 'an HMAC signature instead of a Bearer token', body,
    { env, auth: { headers: { 'x-extole-signature': hmacHex(KEYS.bearer, body) } } });
  unauthorized(g, 'bearer-production-key', 'production\'s HS256 key as the token', body, { env, auth: { headers: { authorization: `Bearer ${KEYS.production}` } } });
  refuse(g, 'no-key-environment', 'an environment whose Extole secret is not set refuses even a token', body, 401, 'auth_not_configured',
    { env: 'hostile-nokey', auth: { headers: { authorization: `Bearer ${KEYS.bearer}` } } });
  refuse(g, 'no-key-environment-unsigned', 'an environment whose Extole secret is not set refuses an anonymous request', body, 401, 'auth_not_configured',
    { env: 'hostile-nokey', auth: 'none' });
}

{
  const g = 'auth-basic';
  const env = 'hostile-basic';
  const body = j(ev({ event_id: 'h-basic-body' }));
  const basic = (id, why, value) => unauthorized(g, id, why, body, { env, auth: { headers: value === null ? {} : { authorization: value } } });
  basic('basic-missing', 'no Authorization header', null);
  basic('basic-empty', 'an empty Authorization header', '');
  basic('basic-word-only', 'the word Basic and nothing else', 'Basic');
  basic('basic-without-colon', 'user and password run together, no colon', basicOf(`${KEYS.basicUser}${KEYS.basicPassword}`));
  basic('basic-user-only', 'the user alone', basicOf(KEYS.basicUser));
  basic('basic-user-colon', 'the user and a colon, no password', basicOf(`${KEYS.basicUser}:`));
  basic('basic-password-only', 'a colon and the password, no user', basicOf(`:${KEYS.basicPassword}`));
  basic('basic-password-alone', 'the password with no colon', basicOf(KEYS.basicPassword));
  basic('basic-wrong-password', 'the right user, a wrong password', basicOf(`${KEYS.basicUser}:wrong-password`));
  basic('basic-password-case', 'the password in upper case', basicOf(`${KEYS.basicUser}:${KEYS.basicPassword.toUpperCase()}`));
  basic('basic-user-case', 'the user in upper case', basicOf(`${KEYS.basicUser.toUpperCase()}:${KEYS.basicPassword}`));
  basic('basic-trailing-newline', 'the credentials with a newline before encoding', basicOf(`${BASIC}\n`));
  basic('basic-unencoded', 'user:password not base64-encoded', `Basic ${BASIC}`);
  basic('basic-not-base64', 'characters outside base64', 'Basic !!!not-base64!!!');
  basic('basic-truncated-base64', 'the base64 credentials minus their last four characters', basicOf(BASIC).slice(0, -4));
  basic('basic-wrong-scheme', 'the right credentials under Bearer', `Bearer ${Buffer.from(BASIC).toString('base64')}`);
  basic('basic-plain-bearer', 'user:password as a Bearer token', `Bearer ${BASIC}`);
  basic('basic-double-space', 'two spaces between the word and the credentials', `Basic  ${Buffer.from(BASIC).toString('base64')}`);
}

// ---------------------------------------------------------------------------------------
// Routes and methods.

{
  const g = 'routing';
  const route = (id, why, method, pathname, status, error, extra = {}) => refuse(g, id, why, method === 'GET' ? undefined : j(ev()), status, error, { method, path: pathname, ...extra });
  route('get-webhook', 'GET on the webhook path', 'GET', '/extole/production', 405, 'method_not_allowed');
  route('put-webhook', 'PUT on the webhook path', 'PUT', '/extole/production', 405, 'method_not_allowed');
  route('delete-webhook', 'DELETE on the webhook path', 'DELETE', '/extole/production', 405, 'method_not_allowed');
  route('patch-webhook', 'PATCH on the webhook path', 'PATCH', '/extole/production', 405, 'method_not_allowed');
  route('options-webhook', 'OPTIONS on the webhook path', 'OPTIONS', '/extole/production', 405, 'method_not_allowed');
  route('unknown-environment', 'an environment that does not exist', 'POST', '/extole/eu-west', 404, 'unknown_environment');
  route('upper-case-environment', 'the environment name in upper case', 'POST', '/extole/PRODUCTION', 404, 'unknown_environment');
  route('encoded-nul-environment', 'a percent-encoded NUL in the environment name', 'POST', '/extole/prod%00uction', 404, 'unknown_environment');
  route('email-as-environment', 'an email address as the environment name', 'POST', '/extole/pat@example.com', 404, 'unknown_environment');
  route('long-environment', 'an environment name of 2,000 characters', 'POST', `/extole/${'e'.repeat(2000)}`, 404, 'unknown_environment');
  route('extra-segment', 'a segment after the environment', 'POST', '/extole/production/extra', 404, 'not_found');
  route('preview-extra-segment', 'a segment after preview', 'POST', '/extole/production/preview/x', 404, 'not_found');
  route('no-environment', '/extole with no environment', 'POST', '/extole', 404, 'not_found');
  route('root', 'the root path', 'POST', '/', 404, 'not_found');
  route('admin-no-token', 'the dead-letter list without the admin token (none configured)', 'GET', '/admin/dead-letters', 401, 'auth_not_configured');
  route('test-hook-disabled', 'the panic test hook, which is off unless RELAY_TEST_HOOKS=enabled', 'POST', '/__test/panic', 404, 'not_found');
  route('admin-replay-no-token', 'a dead-letter replay without the admin token (none configured)', 'POST', '/admin/dead-letters/replay', 401, 'auth_not_configured');
}

// ---------------------------------------------------------------------------------------
// Boundary cases that must be accepted: 200 delivered, and a Braze body the stand-in finds
// valid.

{
  const g = 'accepted';
  const name255 = (unit) => gen(`{"event_id":"acc-name-${unit.codePointAt(0)}","userId":"u-accepted-1","type":"`, repeat(unit, 255), '"}');
  accept(g, 'name-255-ascii', 'an event name of exactly 255 characters', name255('a'), { checks: [{ pointer: '/events/0/name', length: 255 }] });
  accept(g, 'name-255-accented', 'an event name of 255 two-byte characters', name255('é'), { checks: [{ pointer: '/events/0/name', length: 255 }] });
  accept(g, 'name-255-emoji', 'an event name of 255 four-byte characters', name255('🎉'), { checks: [{ pointer: '/events/0/name', length: 255 }] });
  accept(g, 'name-255-padded', 'a name of 255 characters between spaces (trimmed)',
    gen('{"event_id":"acc-name-pad","userId":"u-accepted-1","type":"  ', repeat('d', 255), ' "}'), { checks: [{ pointer: '/events/0/name', length: 255 }] });
  accept(g, 'name-mapped-odd-case', 'a mapped name in odd case and separators', j(aev({ type: '  SHARE-link_Created ' })),
    { checks: [{ pointer: '/events/0/name', equals: 'Created Share Link' }] });
  accept(g, 'event-id-512', 'an event id of 512 characters', gen('{"type":"shared","userId":"u-accepted-1","event_id":"', repeat('i', 512), '"}'),
    { checks: [{ pointer: '/events/0/properties/event_id', length: 255 }] });
  accept(g, 'event-id-u64-max', 'the largest unsigned 64-bit integer as event id, kept exact', '{"type":"shared","userId":"u-accepted-1","event_id":18446744073709551615}',
    { checks: [{ pointer: '/events/0/properties/event_id', equals: '18446744073709551615' }] });
  accept(g, 'event-id-negative', 'a negative integer event id', '{"type":"shared","userId":"u-accepted-1","event_id":-42}',
    { checks: [{ pointer: '/events/0/properties/event_id', equals: '-42' }] });
  accept(g, 'external-id-512', 'an external id of 512 characters', gen('{"type":"shared","event_id":"acc-ext-512","partner_user_id":"', repeat('x', 512), '"}'),
    { checks: [{ pointer: '/events/0/external_id', length: 512 }] });
  accept(g, 'external-id-19-digit-number', 'a 19-digit numeric partner_user_id kept exact', '{"type":"shared","event_id":"acc-ext-num","partner_user_id":6816411215104951917}',
    { checks: [{ pointer: '/events/0/external_id', equals: '6816411215104951917' }] });
  accept(g, 'dup-type-last-valid', '`type` twice, the first a number, the last valid', '{"type":5,"type":"shared","event_id":"acc-dup-1","userId":"u-accepted-1"}',
    { checks: [{ pointer: '/events/0/name', equals: 'Shared' }] });
  accept(g, 'dup-user-id-last-valid', '`userId` twice, the first an object, the last valid', '{"type":"shared","event_id":"acc-dup-2","userId":{},"userId":"u-dup-2"}',
    { checks: [{ pointer: '/events/0/external_id', equals: 'u-dup-2' }] });
  accept(g, 'odd-email-with-id', 'an invalid email with an external id: sent without the email', j(aev({ data: { email: 'pat@example' } })),
    { checks: [{ pointer: '/events/0/external_id', equals: 'u-accepted-1' }, { pointer: '/attributes', absent: true }] });
  accept(g, 'display-name-email-with-id', 'a display-name email with an external id', j(aev({ email: 'Pat Smith <pat@example.com>', first_name: 'Pat' })),
    { checks: [{ pointer: '/attributes/0/email', absent: true }, { pointer: '/attributes/0/first_name', equals: 'Pat' }] });
  accept(g, 'padded-email-no-id', 'an email in odd case between spaces and newlines, no external id', j(aev({ userId: undefined, data: { email: ' \n Pat.Smith@Example.COM \t' } })),
    { checks: [{ pointer: '/events/0/email', equals: 'pat.smith@example.com' }] });
  accept(g, 'odd-phone-with-id', 'an unusable phone with an external id: sent without the phone', j(aev({ data: { phone_number: '555-0142 ext 4', country: 'US' } })),
    { checks: [{ pointer: '/attributes/0/phone', absent: true }, { pointer: '/attributes/0/country', equals: 'US' }] });
  accept(g, 'national-phone-with-country', 'a national number with a country becomes E.164', j(aev({ data: { phone_number: '(617) 555-0142', country: 'USA' } })),
    { checks: [{ pointer: '/attributes/0/phone', equals: '+16175550142' }] });
  const dates = [
    ['zulu', '2026-11-22T18:44:31Z', '2026-11-22T18:44:31.000Z'], ['millis', '2026-11-22T18:44:31.120Z', '2026-11-22T18:44:31.120Z'],
    ['offset', '2026-11-22T19:44:31.120+01:00', '2026-11-22T18:44:31.120Z'], ['offset-no-colon', '2026-11-22T13:44:31-0500', '2026-11-22T18:44:31.000Z'],
    ['no-zone', '2026-11-22T18:44:31', '2026-11-22T18:44:31.000Z'], ['space-separator', '2026-11-22 18:44:31.5', '2026-11-22T18:44:31.500Z'],
    ['date-only', '2026-11-22', '2026-11-22T00:00:00.000Z'], ['nanoseconds', '2026-11-22T18:44:31.123456789Z', '2026-11-22T18:44:31.123Z'],
    ['padded', '  2026-11-22T18:44:31Z  ', '2026-11-22T18:44:31.000Z'], ['epoch-string-ms', '1795373071120', '2026-11-22T18:44:31.120Z'],
    ['first-second-2000', '2000-01-01T00:00:00Z', '2000-01-01T00:00:00.000Z'], ['far-future-2100', '2100-12-31T23:59:59Z', '2100-12-31T23:59:59.000Z'],
    ['day-crossing-offset', '2026-12-31T23:30:00-01:00', '2027-01-01T00:30:00.000Z'], ['leap-day', '2028-02-29T12:00:00Z', '2028-02-29T12:00:00.000Z'],
  ];
  for (const [id, value, expected] of dates) {
    accept(g, `date-${id}`, `event_time ${JSON.stringify(value)}`, j(aev({ event_time: value })), { checks: [{ pointer: '/events/0/time', equals: expected }] });
  }
  // ISO 8601 allows a leap second; whatever the relay makes of it, Braze must get a valid time.
  accept(g, 'date-leap-second', 'event_time "2026-12-31T23:59:60Z" (a leap second)', j(aev({ event_time: '2026-12-31T23:59:60Z' })));
  for (const [id, value, expected] of [['epoch-seconds', 1795373071, '2026-11-22T18:44:31.000Z'], ['epoch-ms', 1795373071120, '2026-11-22T18:44:31.120Z'], ['epoch-2000', 946684800, '2000-01-01T00:00:00.000Z']]) {
    accept(g, `date-${id}`, `event_time ${value}`, j(aev({ event_time: value })), { checks: [{ pointer: '/events/0/time', equals: expected }] });
  }
  accept(g, 'timestamp-null-then-valid', '`event_time` null falls through to `timestamp`', j(aev({ event_time: null, timestamp: '2026-11-22T18:44:31Z' })),
    { checks: [{ pointer: '/events/0/time', equals: '2026-11-22T18:44:31.000Z' }] });
  accept(g, 'numbers-past-2-53-in-data', '64-bit integers past 2^53 in data go as exact strings; past 64 bits, as the double Braze would read',
    j(aev({})).replace(/}$/, ',"data":{"order_total":9007199254740993,"big_count":123456789012345678901234567890}}'),
    { checks: [{ pointer: '/events/0/properties/order_total', equals: '9007199254740993' }, { pointer: '/events/0/properties/big_count', equals: 1.2345678901234568e29 }] });
  accept(g, 'control-characters-in-values', 'NUL and escape characters inside data values are dropped', j(aev({ data: { note: 'a\u0000b\u001bc', first_name: 'Pa\u0000t' } })),
    { checks: [{ pointer: '/events/0/properties/note', equals: 'abc' }, { pointer: '/attributes/0/first_name', equals: 'Pat' }] });
  accept(g, 'property-keys-at-limits', 'property keys of 255 and 256 characters, `$` and reserved keys',
    gen('{"type":"custom_probe","event_id":"acc-keys","userId":"u-accepted-1","data":{"', repeat('k', 255), '":1,"', repeat('q', 256), '":2,"$dollar":3,"time":"t","event_name":"n"}}'),
    { checks: [{ pointer: `/events/0/properties/${'k'.repeat(255)}`, equals: 1 }, { pointer: `/events/0/properties/${'q'.repeat(256)}`, absent: true },
      { pointer: '/events/0/properties/$dollar', absent: true }, { pointer: '/events/0/properties/extole_data_time', equals: 't' },
      { pointer: '/events/0/properties/time', absent: true }, { pointer: '/events/0/properties/extole_data_event_name', equals: 'n' }] });
  accept(g, 'attribute-values-at-limits', 'a first name of 255 characters is sent, a last name of 256 is dropped, a long property is clipped',
    gen('{"type":"shared","event_id":"acc-attr","userId":"u-accepted-1","data":{"first_name":"', repeat('f', 255), '","last_name":"', repeat('l', 256), '","note":"', repeat('n', 300), '"}}'),
    { checks: [{ pointer: '/attributes/0/first_name', length: 255 }, { pointer: '/attributes/0/last_name', absent: true }, { pointer: '/events/0/properties/note', length: 255 }] });
  accept(g, 'properties-over-50kb', 'a list of 400 strings of 250 characters: properties cut to fit under 50 KB',
    gen('{"type":"shared","event_id":"acc-50kb","userId":"u-accepted-1","data":{"small":"kept","list":[', repeat({ parts: ['"', repeat('v', 250), '"'] }, 400, ','), ']}}'),
    { checks: [{ pointer: '/events/0/properties/extole_properties_truncated', equals: true }, { pointer: '/events/0/properties/small', equals: 'kept' },
      { pointer: '/events/0/properties/list', absent: true }] });
  accept(g, 'data-nested-40', 'data nested 40 levels deep', gen('{"type":"shared","event_id":"acc-deep","userId":"u-accepted-1","data":{"deep":', repeat('{"a":', 40), '1', repeat('}', 40), '}}'));
  accept(g, 'batch-100', 'a batch of exactly 100 events (two Braze requests of at most 75 events)',
    gen('[', repeat('{"event":"shared","userId":"u-accepted-batch"}', 100, ','), ']'),
    { brazeRequests: 2, checks: [{ pointer: '/events', length: 75 }] });
  {
    const base = j(aev({ event_id: 'acc-size-cap' }));
    accept(g, 'body-exactly-256k', 'a body of exactly 256 KiB', gen(base, repeat(' ', 262144 - Buffer.byteLength(base))));
  }
  const auth = (id, why, env, body, headers) => accept('accepted-auth', id, why, body, { env, auth: headers === undefined ? undefined : { headers } });
  {
    const b = j(aev());
    auth('hs256-upper-prefixed', 'SHA256= prefix and upper-case hex', 'production', b, { 'x-extole-signature': `SHA256=${hmacHex(KEYS.production, b).toUpperCase()}` });
  }
  {
    const b = j(aev());
    auth('hs256-staging-old-key', 'staging signed with the older of its two keys', 'staging', b, { 'x-extole-signature': hmacHex(KEYS.stagingOld, b) });
  }
  {
    const b = j(aev());
    auth('hs256-staging-new-key', 'staging signed with the newer of its two keys', 'staging', b, { 'x-extole-signature': hmacHex(KEYS.stagingNew, b) });
  }
  auth('bearer-lower-case-word', 'bearer in lower case (scheme words are case-insensitive)', 'hostile-bearer', j(aev()), { authorization: `bearer ${KEYS.bearer}` });
  auth('bearer-upper-case-word', 'BEARER in upper case', 'hostile-bearer', j(aev()), { authorization: `BEARER ${KEYS.bearer}` });
  auth('basic-lower-case-word', 'basic in lower case', 'hostile-basic', j(aev()), { authorization: `basic ${Buffer.from(BASIC).toString('base64')}` });
  auth('basic-default', 'Basic with user:password', 'hostile-basic', j(aev()), undefined);
}

// ---------------------------------------------------------------------------------------
// Write (or check) corpus.json.

const corpus = {
  about: 'Hostile and malformed requests the relay must refuse with a 4xx (cases), and boundary requests it must deliver (accepted). Written by tests/hostile/make-corpus.mjs; run it to regenerate. Bodies: see tests/hostile/corpus.mjs.',
  environments: ENVIRONMENTS,
  secrets: SECRETS,
  cases,
  accepted,
};

// Self-checks: every case expands, every expectation is a 4xx, ids are unique.
for (const c of cases) {
  if (!(c.expect.status >= 400 && c.expect.status < 500)) throw new Error(`${c.id}: not a 4xx`);
  bodyOf(c);
}
for (const c of accepted) bodyOf(c);

// One case per line: diffs stay readable and the file stays small.
const list = (items) => (items.length ? `[\n${items.map((x) => `  ${JSON.stringify(x)}`).join(',\n')}\n ]` : '[]');
const text = `{
 "about": ${JSON.stringify(corpus.about)},
 "environments": {
${Object.entries(corpus.environments).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(',\n')}
 },
 "secrets": ${JSON.stringify(corpus.secrets)},
 "cases": ${list(corpus.cases)},
 "accepted": ${list(corpus.accepted)}
}
`;
if (JSON.stringify(JSON.parse(text)) !== JSON.stringify(corpus)) throw new Error('corpus.json layout lost something');
if (process.argv.includes('--check')) {
  const current = fs.existsSync(CORPUS_PATH) ? fs.readFileSync(CORPUS_PATH, 'utf8') : '';
  if (current !== text) {
    console.error('tests/hostile/corpus.json is out of date: run node tests/hostile/make-corpus.mjs');
    process.exit(1);
  }
  console.log(`corpus.json is up to date: ${cases.length} cases, ${accepted.length} accepted`);
} else {
  fs.writeFileSync(CORPUS_PATH, text);
  const groups = {};
  for (const c of cases) groups[c.group] = (groups[c.group] ?? 0) + 1;
  console.log(`wrote ${path.relative(REPO_ROOT, CORPUS_PATH)}: ${cases.length} cases (4xx), ${accepted.length} accepted`);
  console.log(Object.entries(groups).map(([k, v]) => `${k} ${v}`).join(', '));
}
