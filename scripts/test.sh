#!/usr/bin/env bash
# Installs everything, then runs every test: native Rust tests (cargo test), the Braze
# stand-in's own tests, and the end-to-end tests of the built Worker inside workerd
# (wrangler dev) against the Braze stand-in. The Worker is built once for the whole run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
source scripts/toolchain-env.sh

printf '\n== Hostile corpus is up to date (tests/hostile/make-corpus.mjs)\n'
node tests/hostile/make-corpus.mjs --check

printf '\n== Native tests (cargo test)\n'
cargo test --all-targets

printf '\n== Braze stand-in tests\n'
node --test tests/braze-standin/

printf '\n== Building the Worker\n'
bash scripts/build-worker.sh
# The upload budget (250 KB gzip, issue 5): a Worker that grows past it fails the tests.
bash scripts/size-report.sh

printf '\n== End-to-end tests in workerd\n'
node --test --test-concurrency=1 tests/e2e/
