// Verdicts of the Braze stand-in's validator (tests/braze-standin/rules.mjs) on many
// `/users/track` bodies, for the Rust oracle's cross-check in tests/properties.rs.
// Input: a file of JSON bodies, one per line. Output: one JSON line per body,
// `{"requestError": string|null, "invalid": [[array, index], ...], "reasons": [...]}`.
import { readFileSync } from 'node:fs';
import { validateUsersTrack } from '../braze-standin/rules.mjs';

const lines = readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l.length > 0);
const out = [];
for (const line of lines) {
  const result = validateUsersTrack(JSON.parse(line));
  out.push(JSON.stringify({
    requestError: result.requestError,
    invalid: result.itemErrors.map((e) => [e.input_array, e.index]),
    reasons: result.violations.slice(0, 5).map((v) => `${v.where}: ${v.reason}`),
  }));
}
process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
