// Load run of queued delivery: N distinct events POSTed concurrently to the relay (queue
// mode, in workerd) while the Braze stand-in rate-limits at a scaled-down limit and fails a
// share of requests with 5xx. Checks that every event reached the stand-in exactly once and
// that the dead-letter store is empty, and prints the figures.
//
//   node scripts/load-queue.mjs [--events 10000] [--concurrency 64] [--rate-limit 3] [--window-ms 1000] [--fail-rate 0.1]
//
// Bounded: loopback only, a fixed number of requests, and a deadline for the whole run.

import { startRelay } from '../tests/e2e/harness.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, i, all) => {
  if (arg.startsWith('--')) pairs.push([arg.slice(2), all[i + 1]]);
  return pairs;
}, []));
const EVENTS = Number(args.events ?? 10_000);
const CONCURRENCY = Number(args.concurrency ?? 64);
const RATE_LIMIT = Number(args['rate-limit'] ?? 3);
const WINDOW_MS = Number(args['window-ms'] ?? 1000);
const FAIL_RATE = Number(args['fail-rate'] ?? 0.1);
const DEADLINE_MS = Number(args['deadline-s'] ?? 900) * 1000;

const EXTOLE_KEY = 'load-extole-key';
const BRAZE_KEY = 'load-braze-key';
const ADMIN_TOKEN = 'load-admin-token';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function main() {
  const started = Date.now();
  const relay = await startRelay({
    vars: {
      EXTOLE_WEBHOOK_SECRET_PRODUCTION: EXTOLE_KEY,
      BRAZE_API_KEY_PRODUCTION: BRAZE_KEY,
      RELAY_ADMIN_TOKEN: ADMIN_TOKEN,
      RELAY_CONFIG_CACHE_SECONDS: '1',
    },
    standinOptions: { keys: [BRAZE_KEY], rateLimit: { limit: RATE_LIMIT, windowMs: WINDOW_MS } },
  });
  try {
    await relay.putConfig('production', { delivery: 'queue', queue: { max_failures: 10, base_backoff_seconds: 1, max_backoff_seconds: 30 } });
    await sleep(1500);
    await relay.control('POST', '/_standin/faults', { random_5xx_rate: FAIL_RATE, seed: 7 });

    // Edge: N distinct, signed events, CONCURRENCY at a time.
    const latencies = [];
    const statuses = {};
    let next = 0;
    const loadStarted = Date.now();
    async function worker() {
      while (next < EVENTS) {
        const i = next++;
        const body = JSON.stringify({ type: i % 3 ? 'shared' : 'converted', event_id: `load-${i}`, data: { partner_user_id: `lu-${i}`, order_id: `o-${i}` } });
        const res = await relay.post('production', body);
        latencies.push(res.elapsedMs);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const edgeSeconds = (Date.now() - loadStarted) / 1000;

    // Consumer: wait until the stand-in holds every event, or the deadline.
    let stats;
    for (;;) {
      stats = await relay.control('GET', '/_standin/stats');
      if (stats.objects.events >= EVENTS || Date.now() - started > DEADLINE_MS) break;
      await sleep(1000);
    }
    const allDeliveredSeconds = (Date.now() - loadStarted) / 1000;
    await sleep(3000); // anything still in flight would show up as a duplicate
    const received = (await relay.control('GET', '/_standin/received')).events;
    const counts = new Map();
    for (const e of received) counts.set(e.properties.event_id, (counts.get(e.properties.event_id) ?? 0) + 1);
    const missing = EVENTS - counts.size;
    const duplicated = [...counts.values()].filter((n) => n > 1).length;
    const letters = await relay.request('GET', '/admin/dead-letters', { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    stats = await relay.control('GET', '/_standin/stats');
    const violations = (await relay.control('GET', '/_standin/violations')).violations.length;

    latencies.sort((a, b) => a - b);
    const figures = {
      events: EVENTS,
      concurrency: CONCURRENCY,
      standin: { rate_limit: `${RATE_LIMIT} per ${WINDOW_MS} ms`, random_5xx_rate: FAIL_RATE },
      edge_statuses: statuses,
      edge_latency_ms: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) },
      edge_seconds: edgeSeconds,
      edge_requests_per_second: Math.round(EVENTS / edgeSeconds),
      all_delivered_seconds: allDeliveredSeconds,
      braze_requests: stats.requests,
      braze_requests_by_status: stats.by_status,
      braze_requests_per_event: Number((stats.requests / EVENTS).toFixed(4)),
      events_per_braze_request: Number((EVENTS / stats.requests).toFixed(1)),
      delivered_distinct: counts.size,
      missing,
      duplicated,
      dead_letters: letters.json?.count,
      violations,
    };
    console.log(JSON.stringify(figures, null, 2));
    const ok = missing === 0 && duplicated === 0 && letters.json?.count === 0 && violations === 0 && statuses[200] === EVENTS;
    console.log(ok ? 'load run: every event delivered exactly once, no dead letters' : 'load run: FAILED (see figures)');
    process.exitCode = ok ? 0 : 1;
  } finally {
    await relay.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
