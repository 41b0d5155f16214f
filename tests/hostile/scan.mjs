// The secrets and personal-data scan, for the end-to-end runner (tests/hostile.rs has the
// same rules in Rust): which personal values the inputs carry, and where any of them, any
// secret or any email-shaped string shows up in the relay's output.

/** Email-shaped substrings: `local@domain.tld`. */
export function emailsIn(text) {
  const found = [];
  const pattern = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+/g;
  for (const match of text.matchAll(pattern)) {
    const [local, rawDomain] = match[0].split('@');
    const domain = rawDomain.replace(/[.-]+$/, '');
    const dot = domain.lastIndexOf('.');
    if (dot > 0 && /^[A-Za-z]{2,}$/.test(domain.slice(dot + 1))) found.push(`${local}@${domain}`);
  }
  return found;
}

/**
 * Phone-shaped: digits with the separators people type, 7 to 15 digits, and a `+`, a
 * parenthesis, a space or at least ten digits (so `2026-11-22` is not a phone number).
 */
export function phoneShaped(text) {
  const t = text.trim();
  const digits = (t.match(/\d/g) ?? []).length;
  return digits >= 7 && digits <= 15 && /^[\d +\-.()/]+$/.test(t) && (t.startsWith('+') || t.includes('(') || t.includes(' ') || digits >= 10);
}

function addPhone(raw, needles) {
  const digits = raw.replace(/\D/g, '');
  if (digits.length < 7) return;
  needles.add(raw.trim().toLowerCase());
  needles.add(digits);
  needles.add(`+${digits}`);
}

/**
 * Adds the personal values of an input body to `needles`: every email-shaped string
 * (lower-cased), and every phone-shaped string or value of a phone field, as sent, as
 * digits only and in E.164.
 */
export function personalNeedles(body, needles) {
  const text = body.toString('utf8');
  for (const email of emailsIn(text)) needles.add(email.toLowerCase());
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return;
  }
  const stack = [['', value]];
  while (stack.length) {
    const [key, v] = stack.pop();
    if (Array.isArray(v)) for (const item of v) stack.push([key, item]);
    else if (v !== null && typeof v === 'object') for (const [k, item] of Object.entries(v)) stack.push([k, item]);
    else if (typeof v === 'string' && (phoneShaped(v) || key.includes('phone'))) addPhone(v, needles);
    else if (typeof v === 'number' && key.includes('phone')) addPhone(String(v), needles);
  }
}

/**
 * Whether `text` contains `needle`; a needle that starts or ends with a digit must not be
 * part of a longer run of digits (a 30-digit event id is not a phone number).
 */
export function containsToken(text, needle) {
  const startsDigit = /^\d/.test(needle);
  const endsDigit = /\d$/.test(needle);
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + 1)) {
    const before = text[i - 1];
    const after = text[i + needle.length];
    if (!(startsDigit && /\d/.test(before ?? '')) && !(endsDigit && /\d/.test(after ?? ''))) return true;
  }
  return false;
}

/** Every leak in `places` (`[where, text]`): secrets, personal values, email-shaped strings. */
export function findLeaks(places, { secrets, needles }) {
  const leaks = new Set();
  for (const [where, text] of places) {
    const lower = text.toLowerCase();
    for (const secret of secrets) if (text.includes(secret)) leaks.add(`${where}: secret ${secret}`);
    for (const needle of needles) if (containsToken(lower, needle)) leaks.add(`${where}: personal data ${needle}`);
    for (const email of emailsIn(text)) leaks.add(`${where}: email-shaped ${email}`);
  }
  return [...leaks].sort();
}
