#!/usr/bin/env bash
# Instructions per event of the pure pipeline and of the whole journey (bench_support),
# counted by valgrind's callgrind on each bench payload, against the JSON round-trip baseline
# of the same body. Instruction counts do not move with the load of a shared machine: the
# same build and inputs give the same figure to a few instructions, so two commits compare
# closely. (Under valgrind, SHA-256 runs its portable code
# rather than the CPU's SHA instructions, as it does in WebAssembly.)
#   bash scripts/bench-instructions.sh [payload ...]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain-env.sh

if ! command -v valgrind >/dev/null; then
  echo "== Installing valgrind (Debian)"
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq valgrind >/dev/null
fi

# The same build settings as `cargo bench` ([profile.bench]). The binary's path comes from
# cargo, which honours CARGO_TARGET_DIR and build.target-dir.
bin=$(cargo build --quiet --profile bench --example instruction_count --message-format=json-render-diagnostics |
  python3 -c 'import json, sys
paths = [m["executable"] for m in map(json.loads, sys.stdin) if m.get("reason") == "compiler-artifact" and m.get("executable")]
print(paths[-1])')

payloads=("$@")
if [[ ${#payloads[@]} -eq 0 ]]; then
  mapfile -t payloads < <("$bin" list)
fi
for payload in "${payloads[@]}"; do
  "$bin" pure "$payload" 0 || exit 2 # an unknown name: the binary lists the known ones
done

# Instructions of `iterations` runs.
count() { # kind payload iterations
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" "$3" 2>&1 | awk '/Collected :/ {print $4}'
}
# Per run, start-up excluded: the difference between two run counts.
per_run() { # kind payload small large
  local a b
  a=$(count "$1" "$2" "$3")
  b=$(count "$1" "$2" "$4")
  echo $(((b - a) / ($4 - $3)))
}

printf '%-20s %8s %16s %19s %19s %11s %11s\n' payload events "pure instr/ev" "journey instr/ev" "baseline instr/ev" pure/base journey/base
for payload in "${payloads[@]}"; do
  case $payload in
    large-*) events=1; small=2; large=12 ;;
    batch-100) events=100; small=2; large=12 ;;
    *) events=1; small=200; large=1200 ;;
  esac
  pure=$(per_run pure "$payload" $small $large)
  journey=$(per_run journey "$payload" $small $large)
  base=$(per_run baseline "$payload" $small $large)
  awk -v p="$payload" -v e="$events" -v pure="$pure" -v journey="$journey" -v base="$base" \
    'BEGIN { printf "%-20s %8d %16d %19d %19d %10.2fx %10.2fx\n", p, e, pure / e, journey / e, base / e, pure / base, journey / base }'
done
