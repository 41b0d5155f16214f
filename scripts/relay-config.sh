#!/usr/bin/env bash
# Validates a config document offline, or validates then uploads it to RELAY_CONFIG.
#   bash scripts/relay-config.sh validate examples/config/retailer.json [--environment production]
#   bash scripts/relay-config.sh upload production examples/config/retailer.json [--local]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain-env.sh
exec cargo run --quiet --bin relay-config -- "$@"
