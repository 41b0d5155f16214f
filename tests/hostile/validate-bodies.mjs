// Oracle for the native hostile runner: validates `/users/track` bodies with the Braze
// stand-in's rules (tests/braze-standin/rules.mjs).
//
//   node tests/hostile/validate-bodies.mjs <file.json>
//
// The file holds `[{"id": ..., "body": {...}}, ...]`; prints one JSON object:
// `{"checked": n, "invalid": [{"id", "request_error", "violations", "item_errors"}]}`.

import fs from 'node:fs';

import { validateUsersTrack } from '../braze-standin/rules.mjs';

const [file] = process.argv.slice(2);
if (!file) {
  console.error('usage: node tests/hostile/validate-bodies.mjs <file.json>');
  process.exit(2);
}
const entries = JSON.parse(fs.readFileSync(file, 'utf8'));
const invalid = [];
for (const { id, body } of entries) {
  const result = validateUsersTrack(body);
  if (result.requestError || result.violations.length || result.itemErrors.length) {
    invalid.push({
      id,
      request_error: result.requestError ?? null,
      violations: result.violations.map((v) => `${v.where}: ${v.reason}`),
      item_errors: result.itemErrors,
    });
  }
}
console.log(JSON.stringify({ checked: entries.length, invalid }));
