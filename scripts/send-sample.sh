#!/usr/bin/env bash
# Signs a sample payload with an environment's local Extole key (from .dev.vars) and POSTs
# it to the local relay. Usage: [EVENT_ID=new-id] [RELAY_PORT=8787] scripts/send-sample.sh <sample|file.json> [environment]
# Samples: converted reward-earned share-link-created shared signed-up subscribed unsubscribed
set -euo pipefail
cd "$(dirname "$0")/.."
sample=${1:?usage: scripts/send-sample.sh <sample|file.json> [environment]}
environment=${2:-production}
body=$sample
[[ -f $body ]] || body=examples/payloads/$sample.json
suffix=$(echo "$environment" | tr '[:lower:]' '[:upper:]' | tr -c 'A-Z0-9\n' '_')
key=$(grep -E "^EXTOLE_WEBHOOK_SECRET_${suffix}=" .dev.vars | cut -d= -f2- | cut -d, -f1)
[[ -n $key ]] || { echo "no EXTOLE_WEBHOOK_SECRET_${suffix} in .dev.vars" >&2; exit 1; }
# EVENT_ID=... sends the sample as a new event (the samples' own ids are duplicates once sent).
if [[ -n ${EVENT_ID:-} ]]; then
  fresh=$(mktemp)
  trap 'rm -f "$fresh"' EXIT
  node -e 'const b=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); b.event_id=process.argv[2]; process.stdout.write(JSON.stringify(b))' "$body" "$EVENT_ID" > "$fresh"
  body=$fresh
fi
signature=$(openssl dgst -sha256 -hmac "$key" -hex < "$body" | awk '{print $NF}')
curl -sS -X POST "http://127.0.0.1:${RELAY_PORT:-8787}/extole/$environment" \
  -H 'Content-Type: application/json' -H "X-Extole-Signature: $signature" --data-binary @"$body"
echo
