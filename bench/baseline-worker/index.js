// Baseline Worker for the end-to-end benchmark: reads the request body, makes one POST to
// the Braze stand-in's /users/track with a tiny valid body, and answers 200 once Braze
// answered 201. `/noop` reads the body and answers at once: the local runtime's own ceiling;
// `/noop-log` also writes one log line, as the relay does for every request.
// `/io` does the same I/O as the relay on a first delivery (a KV read, the Braze fetch, a
// KV write with a TTL, one log line), so that the relay's own cost can be told apart from
// the cost of its I/O in the local runtime.
// Bindings: BRAZE_URL (the stand-in's base URL), BRAZE_API_KEY, STATE (KV).

const TRACK_BODY = JSON.stringify({
  events: [{ external_id: 'bench-baseline', name: 'Baseline', time: '2026-11-22T18:44:31.120Z' }],
});

const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

export default {
  async fetch(request, env, ctx) {
    const body = await request.arrayBuffer();
    const { pathname } = new URL(request.url);
    if (pathname === '/noop') return json(200, { status: 'ok', bytes: body.byteLength });
    if (pathname === '/noop-log') {
      console.log(JSON.stringify({ route: '/noop-log', status: 200, bytes: body.byteLength }));
      return json(200, { status: 'ok', bytes: body.byteLength });
    }
    // Diagnostics: /io-nolog (the I/O without the log line), /io-deferred (the KV write
    // after the answer, in waitUntil), /io-get (the KV read only, no write).
    const io = pathname.startsWith('/io');
    const key = io ? `dedup:bench:id:${crypto.randomUUID()}` : null;
    if (io && (await env.STATE.get(key)) !== null) return json(200, { status: 'duplicate' });
    const braze = await fetch(`${env.BRAZE_URL}/users/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${env.BRAZE_API_KEY}` },
      body: TRACK_BODY,
    });
    await braze.arrayBuffer();
    if (io && braze.status === 201) {
      const put = env.STATE.put(key, new Date().toISOString(), { expirationTtl: 691200 });
      if (pathname === '/io-deferred') ctx.waitUntil(put);
      else if (pathname !== '/io-get') await put;
      if (pathname !== '/io-nolog') console.log(JSON.stringify({ route: pathname, status: 200, braze_status: braze.status, bytes: body.byteLength }));
    }
    return braze.status === 201 ? json(200, { status: 'delivered' }) : json(503, { status: 'error', braze_status: braze.status });
  },
};
