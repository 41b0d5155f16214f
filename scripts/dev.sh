#!/usr/bin/env bash
# Installs everything, builds the Worker, and runs the relay locally on its embedded
# default config: the local Braze stand-in on :8790 and the Worker (wrangler dev, workerd)
# on :8787. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
source scripts/toolchain-env.sh

RELAY_PORT=${RELAY_PORT:-8787}
STANDIN_PORT=${STANDIN_PORT:-8790}

if [[ ! -f .dev.vars ]]; then
  cp .dev.vars.example .dev.vars
  echo "Created .dev.vars from .dev.vars.example (local-only keys)."
fi
# Point every local Braze endpoint at this run's stand-in port (whatever an earlier run set).
node -e '
const fs = require("fs");
const text = fs.readFileSync(".dev.vars", "utf8");
fs.writeFileSync(".dev.vars", text.replace(/http:\/\/127\.0\.0\.1:\d+/g, `http://127.0.0.1:${process.argv[1]}`));
' "$STANDIN_PORT"

port_taken() { node -e 'const s=require("net").connect(+process.argv[1],"127.0.0.1");s.on("connect",()=>process.exit(0));s.on("error",()=>process.exit(1))' "$1"; }
for port in "$RELAY_PORT" "$STANDIN_PORT"; do
  if port_taken "$port"; then
    echo "Port $port is already in use. Choose others: RELAY_PORT=8788 STANDIN_PORT=8791 bash scripts/dev.sh" >&2
    exit 1
  fi
done
bash scripts/build-worker.sh

braze_keys=$(grep -E '^BRAZE_API_KEY_' .dev.vars | cut -d= -f2- | paste -sd, -)
node tests/braze-standin/server.mjs --port "$STANDIN_PORT" --keys "$braze_keys" &
standin_pid=$!
trap 'kill $standin_pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do port_taken "$STANDIN_PORT" && break; sleep 0.1; done
kill -0 "$standin_pid" 2>/dev/null || { echo "The Braze stand-in did not start (see above)." >&2; exit 1; }

cat <<MSG

Relay:            http://127.0.0.1:$RELAY_PORT   (POST /extole/production, /extole/staging; GET /health)
Braze stand-in:   http://127.0.0.1:$STANDIN_PORT/   (what Braze received; JSON at /_standin/requests)

Send the sample conversion, signed with the local production key (in another terminal):
  RELAY_PORT=$RELAY_PORT bash scripts/send-sample.sh converted       (EVENT_ID=... to send it as a new event)
or by hand:
  body=examples/payloads/converted.json
  sig=\$(openssl dgst -sha256 -hmac local-extole-key-production -hex < \$body | awk '{print \$NF}')
  curl -s -X POST http://127.0.0.1:$RELAY_PORT/extole/production -H "X-Extole-Signature: \$sig" --data-binary @\$body
See the exact /users/track body Braze received:
  curl -s http://127.0.0.1:$STANDIN_PORT/_standin/requests

MSG
wrangler dev --port "$RELAY_PORT" --ip 127.0.0.1 --show-interactive-dev-session=false
