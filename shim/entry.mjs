// Entry point of the Worker: the Rust relay as built by worker-build (build/index.js), plus
// a last line of defence. A request during which the WebAssembly instance aborts (a Rust
// panic: the release build aborts rather than unwinds) is answered 500 with a JSON body and
// no details, instead of the runtime's error page, and the instance is marked for
// re-initialisation so that the next request runs on a fresh one.

import { DurableObject } from 'cloudflare:workers';

import Relay from '../build/index.js';

export * from '../build/index.js';

const INTERNAL_ERROR = JSON.stringify({
  status: 'error',
  error: 'internal_error',
  message: 'internal error; the relay recovered and Extole should retry',
  retryable: true,
});

// A panic inside the relay's async code traps in a microtask, outside any call this class
// could catch, and would leave the request hanging: the runtime reports the trap as an
// 'error' event, which fails every request in flight on the now-dead instance.
const inFlight = new Set();
addEventListener('error', (event) => {
  if (event.error instanceof WebAssembly.RuntimeError) {
    for (const fail of inFlight) fail(event.error);
  }
});

export default class GuardedRelay extends Relay {
  async fetch(request) {
    let fail;
    const trapped = new Promise((_, reject) => {
      fail = reject;
    });
    inFlight.add(fail);
    try {
      return await Promise.race([super.fetch(request), trapped]);
    } catch (error) {
      if (error instanceof WebAssembly.RuntimeError && globalThis.__worker_init_state) {
        // What worker-build's shim does for errors it sees itself: re-initialise next time.
        globalThis.__worker_init_state.criticalError = true;
      }
      console.error(JSON.stringify({ level: 'error', msg: 'request', outcome: 'internal_error', status: 500, kind: error?.name ?? 'unknown' }));
      return new Response(INTERNAL_ERROR, {
        status: 500,
        headers: { 'content-type': 'application/json', 'retry-after': '60' },
      });
    } finally {
      inFlight.delete(fail);
    }
  }
}

/**
 * Strict dedup's per-event lock: an atomic register (get, compare-and-set) in a Durable
 * Object, one per event id. The Rust side owns the state machine (src/dedup.rs, `strict`)
 * and drives it through compare-and-set, so copies of one event are served one at a time.
 * A delivered lock deletes itself when the dedup window ends.
 */
export class EventLock extends DurableObject {
  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (pathname !== '/get' && pathname !== '/cas') return Response.json({ error: 'not_found' }, { status: 404 });
    // The body is read before storage: between a storage read and write nothing but storage
    // may be awaited, so that the runtime's input gate keeps compare-and-set atomic.
    const command = pathname === '/cas' ? await request.json() : null;
    const value = (await this.ctx.storage.get('value')) ?? null;
    if (command === null) return Response.json({ value });
    const { expected = null, next = null, expire_in_ms: expireInMs = null } = command;
    if (JSON.stringify(value) !== JSON.stringify(expected)) return Response.json({ swapped: false, value });
    if (next === null) {
      await this.ctx.storage.delete('value');
    } else {
      await this.ctx.storage.put('value', next);
    }
    if (expireInMs) await this.ctx.storage.setAlarm(Date.now() + expireInMs);
    return Response.json({ swapped: true, value: next });
  }

  async alarm() {
    await this.ctx.storage.deleteAll();
  }
}
