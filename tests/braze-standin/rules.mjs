// Braze `POST /users/track` validation rules, as a pure function.
//
// The stand-in server uses this to decide what to answer, and other tests can use it as
// an oracle: `validateUsersTrack(body, { combinedCap })` -> `{ requestError, itemErrors,
// violations, accepted, processed }`.
//
// Source of the rules: /work/shared/reference/braze-users-track.md. Where Braze is vague
// the stand-in takes the stricter reading, so the relay cannot rely on leniency that the
// real service may not grant. Every check is a single pass over the input (O(size)).

export const LIMITS = Object.freeze({
  maxObjectsPerArray: 75,
  maxStringLength: 255, // characters (code points), as Braze counts them
  maxPropertyKeyLength: 255,
  maxEventNameLength: 255,
  maxProductIdLength: 255,
  // "stay under 50 KB": read as 50,000 bytes of JSON, the safer of the two readings.
  maxPropertiesBytes: 50_000,
  minQuantity: 1,
  maxQuantity: 100,
  // Not Braze rules: guards so a hostile body cannot blow the stack (JSON.parse copes
  // with any depth, recursive walks and JSON.stringify do not).
  maxNestingDepth: 50, // inside one attribute or property value
  maxBodyDepth: 64, // the whole request body
});

export const ARRAY_NAMES = Object.freeze(['attributes', 'events', 'purchases']);

// ISO 3166-1 alpha-2: the 249 officially assigned codes (no user-assigned ones like XK).
export const COUNTRY_CODES = new Set(`
  AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
  BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ
  DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP
  GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG
  KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML
  MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE
  PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL
  SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM
  US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
`.trim().split(/\s+/));

// ISO 4217 codes of currencies in circulation. Left out on purpose: withdrawn codes
// (HRK, ZWL, ...), fund codes (BOV, CLF, USN, ...), metals, SDR and the test/"no
// currency" codes XTS/XXX: none of them is a price a customer paid.
export const CURRENCY_CODES = new Set(`
  AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
  BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR
  FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD
  JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT
  MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG
  QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB
  TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF
  XPF YER ZAR ZMW ZWG
`.trim().split(/\s+/));

// ISO 639-1 two-letter language codes (lowercase, as the standard writes them).
export const LANGUAGE_CODES = new Set(`
  aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu
  cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi
  ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks
  ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl
  nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl
  sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve
  vi vo wa wo xh yi yo za zh zu
`.trim().split(/\s+/));

export const SUBSCRIBE_STATES = new Set(['opted_in', 'subscribed', 'unsubscribed']);
export const SUBSCRIPTION_GROUP_STATES = new Set(['subscribed', 'unsubscribed']);
// Braze's documented gender values (REST: M, F, O, N, P; SDKs also U), any case.
export const GENDER_VALUES = new Set(['m', 'f', 'o', 'n', 'p', 'u']);

// Identifier fields. `external_id`, `user_alias` and `braze_id` are "primary"; `email`
// and `phone` identify only when no primary identifier is given (and in attribute
// objects they are then also the attribute being set).
const PRIMARY_IDS = ['external_id', 'user_alias', 'braze_id'];
const CONTACT_IDS = ['email', 'phone'];

const EVENT_FIELDS = new Set([
  ...PRIMARY_IDS, ...CONTACT_IDS, 'app_id', 'name', 'time', 'properties', '_update_existing_only',
]);
const PURCHASE_FIELDS = new Set([
  ...PRIMARY_IDS, ...CONTACT_IDS, 'app_id', 'product_id', 'currency', 'price', 'quantity',
  'time', 'properties', '_update_existing_only',
]);
const RESERVED_PROPERTY_KEYS = new Set(['time', 'event_name']);

// ---------------------------------------------------------------------------------------
// Small format checks (exported for reuse).

const E164 = /^\+[1-9]\d{6,14}$/;
// WHATWG-style address with at least one dot in the domain: "valid-looking", no more.
const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|([+-])(\d{2}):(\d{2}))$/;

export const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
export const isNonEmptyString = (v) => typeof v === 'string' && v.length > 0;
export const isE164 = (v) => typeof v === 'string' && E164.test(v);
export const isEmail = (v) => typeof v === 'string' && v.length <= 254 && EMAIL.test(v);

/** Depth of a parsed JSON value (a scalar is 0), walked iteratively; stops past `limit`. */
export function nestingDepth(value, limit = Infinity) {
  let max = 0;
  const stack = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (d + 1 > max) max = d + 1;
    if (max > limit) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

/** Length in characters (code points); only walks the string when it could be too long. */
export function charLength(s) {
  if (s.length <= LIMITS.maxStringLength) return s.length;
  let n = 0;
  for (const _ of s) n++;
  return n;
}

const tooLong = (s, max = LIMITS.maxStringLength) => s.length > max && charLength(s) > max;

function isCalendarDate(y, m, d) {
  if (m < 1 || m > 12 || d < 1) return false;
  const daysInMonth = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return d <= daysInMonth;
}

/** `YYYY-MM-DD` naming a real calendar day. */
export function isDate(v) {
  if (typeof v !== 'string') return false;
  const m = DATE.exec(v);
  return m !== null && isCalendarDate(+m[1], +m[2], +m[3]);
}

/** ISO 8601 date-time with seconds and an explicit zone: `YYYY-MM-DDTHH:MM:SS(.f+)?(Z|±HH:MM)`. */
export function isIsoDateTime(v) {
  if (typeof v !== 'string') return false;
  const m = DATE_TIME.exec(v);
  if (m === null) return false;
  const [, y, mo, d, h, mi, s, , zone, , oh, om] = m;
  if (!isCalendarDate(+y, +mo, +d)) return false;
  if (+h > 23 || +mi > 59 || +s > 59) return false;
  if (zone !== 'Z' && (+oh > 23 || +om > 59)) return false;
  return true;
}

const timeZoneCache = new Map();
/** An IANA time zone name the runtime knows (cached: Intl construction is not free). */
export function isTimeZone(v) {
  if (!isNonEmptyString(v)) return false;
  let ok = timeZoneCache.get(v);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: v });
      ok = true;
    } catch {
      ok = false;
    }
    if (timeZoneCache.size < 10_000) timeZoneCache.set(v, ok);
  }
  return ok;
}

// ---------------------------------------------------------------------------------------
// Object validators. Each returns a list of `{ where, reason }` with `where` relative to
// the object (e.g. "properties.time"); an empty list means the object is valid.

function validateIdentity(obj, arrayName, issues) {
  const primary = PRIMARY_IDS.filter((k) => obj[k] !== undefined);
  const contact = CONTACT_IDS.filter((k) => obj[k] !== undefined && obj[k] !== null);

  if (primary.length > 1) {
    issues.push({ where: primary.join('+'), reason: `more than one user identifier (${primary.join(', ')})` });
  }
  if (primary.length === 0 && contact.length === 0) {
    issues.push({
      where: '(object)',
      reason: "one of 'external_id', 'user_alias', 'braze_id', 'email' or 'phone' is required",
    });
  }
  // In an attributes object email/phone next to a primary id are attributes being set;
  // in an event or purchase they can only be identifiers, so they would be a second one.
  if (arrayName !== 'attributes' && primary.length > 0 && contact.length > 0) {
    issues.push({
      where: contact.join('+'),
      reason: `more than one user identifier (${[...primary, ...contact].join(', ')})`,
    });
  }

  if (obj.external_id !== undefined && !isNonEmptyString(obj.external_id)) {
    issues.push({ where: 'external_id', reason: "'external_id' must be a non-empty string" });
  }
  if (obj.braze_id !== undefined && !isNonEmptyString(obj.braze_id)) {
    issues.push({ where: 'braze_id', reason: "'braze_id' must be a non-empty string" });
  }
  if (obj.user_alias !== undefined) {
    const a = obj.user_alias;
    const extra = isPlainObject(a) ? Object.keys(a).filter((k) => k !== 'alias_name' && k !== 'alias_label') : [];
    if (!isPlainObject(a) || !isNonEmptyString(a.alias_name) || !isNonEmptyString(a.alias_label) || extra.length) {
      issues.push({
        where: 'user_alias',
        reason: "'user_alias' must be exactly {alias_name, alias_label}, both non-empty strings",
      });
    }
  }
  if (obj._update_existing_only !== undefined && typeof obj._update_existing_only !== 'boolean') {
    issues.push({ where: '_update_existing_only', reason: "'_update_existing_only' must be a boolean" });
  }
  // An alias-only attributes object creates the profile only in "create" mode.
  if (arrayName === 'attributes' && primary.length === 1 && primary[0] === 'user_alias'
      && obj._update_existing_only !== false) {
    issues.push({
      where: '_update_existing_only',
      reason: "with only a 'user_alias', '_update_existing_only' must be false or the profile is not created",
    });
  }
  // Events and purchases: email/phone are pure identifiers and must be well formed.
  if (arrayName !== 'attributes') {
    if (obj.email !== undefined && !isEmail(obj.email)) {
      issues.push({ where: 'email', reason: "'email' is not a valid email address" });
    }
    if (obj.phone !== undefined && !isE164(obj.phone)) {
      issues.push({ where: 'phone', reason: "'phone' must be E.164 (e.g. +14155550123)" });
    }
  }
}

/**
 * Walks a custom value (attribute value or property value). Strings at most 255
 * characters at any depth, object keys non-empty / at most 255 / no leading `$`.
 */
function checkNestedValue(value, path, depth, issues) {
  if (depth > LIMITS.maxNestingDepth) {
    issues.push({ where: path, reason: `nested more than ${LIMITS.maxNestingDepth} levels deep` });
    return;
  }
  if (typeof value === 'string') {
    if (tooLong(value)) {
      issues.push({ where: path, reason: `string longer than ${LIMITS.maxStringLength} characters` });
    }
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkNestedValue(value[i], `${path}[${i}]`, depth + 1, issues);
  } else if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      const keyIssue = checkKey(key);
      if (keyIssue) issues.push({ where: `${path}.${key}`, reason: keyIssue });
      checkNestedValue(value[key], `${path}.${key}`, depth + 1, issues);
    }
  }
  // numbers (always finite in JSON), booleans and null are fine
}

function checkKey(key) {
  if (key.length === 0) return 'empty key';
  if (key.startsWith('$')) return "key starts with '$'";
  if (tooLong(key, LIMITS.maxPropertyKeyLength)) return `key longer than ${LIMITS.maxPropertyKeyLength} characters`;
  return null;
}

// Standard attributes: value -> reason when invalid, or null. `null` unsets any of them.
const STANDARD_ATTRIBUTES = {
  first_name: stringAttr,
  last_name: stringAttr,
  home_city: stringAttr,
  email: (v) => (isEmail(v) ? null : "'email' is not a valid email address"),
  phone: (v) => (isE164(v) ? null : "'phone' must be E.164 (e.g. +14155550123)"),
  country: (v) => (typeof v === 'string' && COUNTRY_CODES.has(v)
    ? null : "'country' must be an assigned ISO-3166-1 alpha-2 code (e.g. US)"),
  language: (v) => (typeof v === 'string' && LANGUAGE_CODES.has(v)
    ? null : "'language' must be an ISO-639-1 code (e.g. en)"),
  dob: (v) => (isDate(v) ? null : "'dob' must be a date YYYY-MM-DD"),
  gender: (v) => (typeof v === 'string' && GENDER_VALUES.has(v.toLowerCase())
    ? null : "'gender' must be one of M, F, O, N, P, U"),
  time_zone: (v) => (isTimeZone(v) ? null : "'time_zone' must be an IANA time zone name"),
  email_subscribe: subscribeAttr('email_subscribe'),
  push_subscribe: subscribeAttr('push_subscribe'),
  subscription_groups: subscriptionGroups,
};

function stringAttr(v) {
  if (typeof v !== 'string') return 'must be a string';
  return tooLong(v) ? `string longer than ${LIMITS.maxStringLength} characters` : null;
}

function subscribeAttr(name) {
  return (v) => (SUBSCRIBE_STATES.has(v) ? null : `'${name}' must be one of opted_in, subscribed, unsubscribed`);
}

function subscriptionGroups(v) {
  if (!Array.isArray(v)) return "'subscription_groups' must be an array";
  for (const g of v) {
    const extra = isPlainObject(g)
      ? Object.keys(g).filter((k) => !['subscription_group_id', 'subscription_state', 'use_double_opt_in_logic'].includes(k))
      : [];
    if (!isPlainObject(g) || !isNonEmptyString(g.subscription_group_id)
        || !SUBSCRIPTION_GROUP_STATES.has(g.subscription_state) || extra.length
        || (g.use_double_opt_in_logic !== undefined && typeof g.use_double_opt_in_logic !== 'boolean')) {
      return "each subscription group must be {subscription_group_id: non-empty string, subscription_state: subscribed|unsubscribed}";
    }
  }
  return null;
}

const ATTRIBUTE_CONTROL_FIELDS = new Set([...PRIMARY_IDS, '_update_existing_only']);

/** A custom attribute value: scalar, array, nested object, or an add/remove/inc operation. */
function checkCustomAttribute(key, value, issues) {
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    if (keys.includes('inc')) {
      if (keys.length !== 1) issues.push({ where: key, reason: "an 'inc' operation takes no other keys" });
      if (!Number.isInteger(value.inc)) issues.push({ where: `${key}.inc`, reason: "'inc' must be an integer" });
      return;
    }
    if (keys.length > 0 && keys.every((k) => k === 'add' || k === 'remove')) {
      for (const op of keys) {
        if (!Array.isArray(value[op])) issues.push({ where: `${key}.${op}`, reason: `'${op}' must be an array` });
        else checkNestedValue(value[op], `${key}.${op}`, 1, issues);
      }
      return;
    }
  }
  checkNestedValue(value, key, 0, issues);
}

export function validateAttributeObject(obj) {
  if (!isPlainObject(obj)) return [{ where: '(object)', reason: 'must be a JSON object' }];
  const issues = [];
  // With no primary id, email/phone identify the user and are also the attributes set;
  // their format is checked below like any standard attribute.
  validateIdentity(obj, 'attributes', issues);
  for (const key of Object.keys(obj)) {
    if (ATTRIBUTE_CONTROL_FIELDS.has(key)) continue;
    const keyIssue = checkKey(key);
    if (keyIssue) {
      issues.push({ where: key, reason: `attribute name: ${keyIssue}` });
      continue;
    }
    const value = obj[key];
    const standard = STANDARD_ATTRIBUTES[key];
    if (standard) {
      if (value === null) continue;
      const reason = standard(value);
      if (reason) issues.push({ where: key, reason });
    } else {
      checkCustomAttribute(key, value, issues);
    }
  }
  return issues;
}

/** `properties` of an event or purchase. */
function checkProperties(props, issues) {
  if (props === undefined) return;
  if (!isPlainObject(props)) {
    issues.push({ where: 'properties', reason: "'properties' must be a JSON object" });
    return;
  }
  for (const key of Object.keys(props)) {
    const keyIssue = checkKey(key) ?? (RESERVED_PROPERTY_KEYS.has(key) ? `'${key}' is a reserved property key` : null);
    if (keyIssue) issues.push({ where: `properties.${key}`, reason: `property key: ${keyIssue}` });
    checkNestedValue(props[key], `properties.${key}`, 1, issues);
  }
  const bytes = Buffer.byteLength(JSON.stringify(props), 'utf8');
  if (bytes >= LIMITS.maxPropertiesBytes) {
    issues.push({ where: 'properties', reason: `properties are ${bytes} bytes of JSON; must be under ${LIMITS.maxPropertiesBytes}` });
  }
}

function checkUnknownFields(obj, allowed, issues) {
  for (const key of Object.keys(obj)) {
    if (!allowed.has(key)) issues.push({ where: key, reason: `unknown field '${key}'` });
  }
}

function checkTime(obj, issues) {
  if (obj.time === undefined) issues.push({ where: 'time', reason: "'time' is required" });
  else if (!isIsoDateTime(obj.time)) {
    issues.push({ where: 'time', reason: "'time' must be ISO 8601 like 2024-05-01T12:00:00.000Z or ...+02:00" });
  }
}

export function validateEventObject(obj) {
  if (!isPlainObject(obj)) return [{ where: '(object)', reason: 'must be a JSON object' }];
  const issues = [];
  validateIdentity(obj, 'events', issues);
  checkUnknownFields(obj, EVENT_FIELDS, issues);
  if (!isNonEmptyString(obj.name)) {
    issues.push({ where: 'name', reason: "'name' is required and must be a non-empty string" });
  } else if (tooLong(obj.name, LIMITS.maxEventNameLength)) {
    issues.push({ where: 'name', reason: `'name' longer than ${LIMITS.maxEventNameLength} characters` });
  }
  checkTime(obj, issues);
  if (obj.app_id !== undefined && typeof obj.app_id !== 'string') {
    issues.push({ where: 'app_id', reason: "'app_id' must be a string" });
  }
  checkProperties(obj.properties, issues);
  return issues;
}

export function validatePurchaseObject(obj) {
  if (!isPlainObject(obj)) return [{ where: '(object)', reason: 'must be a JSON object' }];
  const issues = [];
  validateIdentity(obj, 'purchases', issues);
  checkUnknownFields(obj, PURCHASE_FIELDS, issues);
  if (!isNonEmptyString(obj.product_id)) {
    issues.push({ where: 'product_id', reason: "'product_id' is required and must be a non-empty string" });
  } else if (tooLong(obj.product_id, LIMITS.maxProductIdLength)) {
    issues.push({ where: 'product_id', reason: `'product_id' longer than ${LIMITS.maxProductIdLength} characters` });
  }
  if (typeof obj.currency !== 'string' || !CURRENCY_CODES.has(obj.currency)) {
    issues.push({ where: 'currency', reason: "'currency' must be an active ISO 4217 code in capitals (e.g. USD)" });
  }
  if (typeof obj.price !== 'number' || !Number.isFinite(obj.price)) {
    issues.push({ where: 'price', reason: "'price' is required and must be a number" });
  }
  if (obj.quantity !== undefined
      && (!Number.isInteger(obj.quantity) || obj.quantity < LIMITS.minQuantity || obj.quantity > LIMITS.maxQuantity)) {
    issues.push({ where: 'quantity', reason: `'quantity' must be an integer from ${LIMITS.minQuantity} to ${LIMITS.maxQuantity}` });
  }
  checkTime(obj, issues);
  if (obj.app_id !== undefined && typeof obj.app_id !== 'string') {
    issues.push({ where: 'app_id', reason: "'app_id' must be a string" });
  }
  checkProperties(obj.properties, issues);
  return issues;
}

const OBJECT_VALIDATORS = {
  attributes: validateAttributeObject,
  events: validateEventObject,
  purchases: validatePurchaseObject,
};

// ---------------------------------------------------------------------------------------

/**
 * Validates a parsed `/users/track` body.
 *
 * - `requestError`: message for a 400 when the request as a whole is malformed (then no
 *   object was looked at), else null.
 * - `itemErrors`: Braze-style `{type, input_array, index}`, one per invalid object (its
 *   first problem); these objects are not processed.
 * - `violations`: every problem found, `{where, reason}`, `where` like
 *   "events[2].properties.time" or "request". Empty means the body is fully valid.
 * - `accepted`: the valid objects per array; `processed`: their counts.
 * - `tooDeep`: true when the body was refused for absurd nesting (do not serialise it).
 */
export function validateUsersTrack(body, { combinedCap = null } = {}) {
  const result = {
    requestError: null,
    itemErrors: [],
    violations: [],
    accepted: { attributes: [], events: [], purchases: [] },
    processed: { attributes: 0, events: 0, purchases: 0 },
    tooDeep: false,
  };
  const fail = (message) => {
    result.requestError = message;
    result.violations.push({ where: 'request', reason: message });
    return result;
  };

  if (nestingDepth(body, LIMITS.maxBodyDepth) > LIMITS.maxBodyDepth) {
    result.tooDeep = true; // callers must not JSON.stringify or recurse into this body
    return fail(`Request body is nested more than ${LIMITS.maxBodyDepth} levels deep`);
  }
  if (!isPlainObject(body)) return fail('Request body must be a JSON object');
  const unknown = Object.keys(body).filter((k) => !ARRAY_NAMES.includes(k));
  if (unknown.length) return fail(`Unknown top-level key(s): ${unknown.join(', ')}`);
  for (const name of ARRAY_NAMES) {
    if (body[name] !== undefined && !Array.isArray(body[name])) return fail(`'${name}' must be an array`);
  }

  let total = 0;
  for (const name of ARRAY_NAMES) {
    const n = body[name]?.length ?? 0;
    if (n > LIMITS.maxObjectsPerArray) {
      result.violations.push({ where: name, reason: `${n} objects; at most ${LIMITS.maxObjectsPerArray} per array` });
      result.requestError = 'Max Input Length Exceeded';
    }
    total += n;
  }
  if (combinedCap != null && total > combinedCap) {
    result.violations.push({ where: 'request', reason: `${total} objects in all; at most ${combinedCap} per request` });
    result.requestError = 'Max Input Length Exceeded';
  }
  if (result.requestError) return result;
  if (total === 0) return fail('Request has no attributes, events or purchases to process');

  for (const name of ARRAY_NAMES) {
    const list = body[name];
    if (!list) continue;
    const validate = OBJECT_VALIDATORS[name];
    for (let index = 0; index < list.length; index++) {
      const issues = validate(list[index]);
      if (issues.length === 0) {
        result.accepted[name].push(list[index]);
        result.processed[name]++;
        continue;
      }
      result.itemErrors.push({ type: issues[0].reason, input_array: name, index });
      for (const { where, reason } of issues) {
        const at = where === '(object)' ? `${name}[${index}]` : `${name}[${index}].${where}`;
        result.violations.push({ where: at, reason });
      }
    }
  }
  return result;
}
