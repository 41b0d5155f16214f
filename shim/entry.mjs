// Entry point of the Worker: the Rust relay as built by worker-build (build/index.js), plus
// a last line of defence. A request during which the WebAssembly instance aborts (a Rust
// panic: the release build aborts rather than unwinds) is answered 500 with a JSON body and
// no details, instead of the runtime's error page, and the instance is marked for
// re-initialisation so that the next request runs on a fresh one.

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
