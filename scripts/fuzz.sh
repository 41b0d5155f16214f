#!/usr/bin/env bash
# Runs the cargo-fuzz targets (fuzz/) for a given time each and reports, per target, the
# executions and the findings (crash, timeout, leak and out-of-memory inputs).
#
#   bash scripts/fuzz.sh <seconds> [target...]     # targets: authenticate parse translate (default: all)
#
# Needs the nightly toolchain (cargo fuzz builds with sanitizers) and cargo-fuzz, which this
# script installs (pinned) if missing. Each target starts from its committed seeds
# (fuzz/seeds/<target>) plus what earlier runs found (fuzz/corpus/<target>, not committed).
# A finding is written to fuzz/artifacts/<target>/; replay it with
#   cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>
# then copy it to fuzz/regressions/<target>/ so tests/fuzz_regressions.rs replays it.
# Extra libFuzzer flags can be given in FUZZ_ARGS (e.g. FUZZ_ARGS="-jobs=2 -workers=2").
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

CARGO_FUZZ_VERSION=0.13.2
ALL_TARGETS=(authenticate parse translate)

seconds=${1:-}
if [[ ! "$seconds" =~ ^[0-9]+$ ]] || (( seconds == 0 )); then
  echo "usage: bash scripts/fuzz.sh <seconds> [target...]   (targets: ${ALL_TARGETS[*]})" >&2
  exit 2
fi
shift
targets=("$@")
(( ${#targets[@]} )) || targets=("${ALL_TARGETS[@]}")
for target in "${targets[@]}"; do
  [[ " ${ALL_TARGETS[*]} " == *" $target "* ]] || { echo "unknown target '$target'; known: ${ALL_TARGETS[*]}" >&2; exit 2; }
done

if ! command -v rustup >/dev/null || ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "error: no nightly Rust toolchain found. cargo fuzz needs nightly (sanitizer flags);" >&2
  echo "       install it with: rustup toolchain install nightly" >&2
  exit 1
fi
echo "nightly: $(rustup run nightly rustc --version)"

if ! cargo fuzz --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
  echo "installing cargo-fuzz $CARGO_FUZZ_VERSION (a few minutes)"
  cargo install cargo-fuzz --version "=$CARGO_FUZZ_VERSION" --force --quiet
fi
echo "cargo-fuzz: $(cargo fuzz --version)"

mkdir -p fuzz/logs
summary=()
status=0
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
  log="fuzz/logs/$target.log"
  before=$(find "fuzz/artifacts/$target" -type f | wc -l)
  printf '\n== %s: %s s\n' "$target" "$seconds"
  started=$(date +%s)
  # The first corpus directory receives new inputs; the seeds are only read.
  set +e
  # shellcheck disable=SC2086
  cargo +nightly fuzz run "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
    -max_total_time="$seconds" -timeout=10 -max_len=16384 -dict=fuzz/dict/relay.dict \
    -print_final_stats=1 ${FUZZ_ARGS:-} >"$log" 2>&1
  rc=$?
  set -e
  elapsed=$(( $(date +%s) - started ))
  # With -jobs, each worker prints its own stats (into fuzz-N.log files): add them up.
  stat() { { cat "$log" fuzz-[0-9]*.log 2>/dev/null || true; } | awk -v k="stat::$1:" '$1 == k {s += $2} END {print s + 0}'; }
  execs=$(stat number_of_executed_units)
  new_units=$(stat new_units_added)
  after=$(find "fuzz/artifacts/$target" -type f | wc -l)
  findings=$(( after - before ))
  corpus=$(find "fuzz/corpus/$target" -type f | wc -l)
  line="$target: ${elapsed}s, ${execs} executions, ${new_units} new inputs, corpus ${corpus}, findings ${findings}"
  (( rc == 0 )) || line="$line (libFuzzer exit $rc; see $log)"
  echo "$line"
  if (( findings > 0 )); then
    find "fuzz/artifacts/$target" -type f -newermt "@$started" -printf '  finding: %p\n'
    grep -m3 -E 'panicked at|ERROR: libFuzzer|SUMMARY' "$log" | sed 's/^/  /' || true
    status=1
  fi
  summary+=("$line")
done

printf '\n== Summary\n'
printf '%s\n' "${summary[@]}"
exit $status
