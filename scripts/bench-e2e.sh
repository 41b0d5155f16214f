#!/usr/bin/env bash
# End-to-end load benchmark: the relay and a baseline Worker under `wrangler dev`, in one
# run, driven by wrk with the same load on loopback; prints req/s, p50, p99 and the ratio
# relay/baseline (bench/e2e/run.mjs says how). Settings: BENCH_ROUNDS, BENCH_DURATION_S,
# BENCH_CONNECTIONS, BENCH_THREADS, BENCH_WARMUP_S.
set -euo pipefail
cd "$(dirname "$0")/.."

WRK_VERSION=4.1.0-3+b2   # Debian bookworm's wrk, pinned

bash scripts/install.sh >/dev/null
source scripts/toolchain-env.sh
if ! dpkg-query -W -f='${Version}' wrk 2>/dev/null | grep -qx -- "$WRK_VERSION"; then
  echo "== Installing wrk $WRK_VERSION (Debian)"
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "wrk=$WRK_VERSION" >/dev/null
fi
bash scripts/build-worker.sh
node bench/e2e/run.mjs
