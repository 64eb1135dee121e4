#!/usr/bin/env bash
# Runs every libFuzzer target briefly over its seed corpus: a smoke test that the parsers survive
# arbitrary input under ASan/UBSan. Crashes leave a reproducer in the working directory.
#
# By default the run is deterministic (a fixed seed and a fixed number of inputs per target), so CI
# passes or fails the same way on every machine. Hunt for new bugs with a time budget and a random seed:
#   FUZZ_SECONDS=300 FUZZ_SEED=0 scripts/fuzz-smoke.sh build-fuzz
# Targets run FUZZ_JOBS at a time (default: one per core): each is one process on one core, and run
# one after another they left the other core idle for most of `make test`'s fuzz step. Each target's
# inputs do not depend on the others', so running them side by side changes no result.
set -euo pipefail
build_dir=${1:-build-fuzz}
runs=${FUZZ_RUNS:-150000}
seed=${FUZZ_SEED:-1}
jobs=${FUZZ_JOBS:-$(nproc)}
root=$(cd "$(dirname "$0")/.." && pwd)
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

# run_target TARGET: one target over a copy of its corpus; writes its verdict (and, when it fails,
# the tail of its log) to $results/NAME and exits non-zero when it fails.
run_target() {
  local target=$1 name limit work
  name=$(basename "$target")
  limit="-runs=$runs"
  # The protocol target runs a whole controller per input (a socketpair, then a shutdown): about a
  # tenth as many inputs a second as the parsers, so a tenth as many inputs.
  if [[ $name == killswitch_protocol_fuzz ]]; then limit="-runs=$((runs / 10))"; fi
  if [[ -n ${FUZZ_SECONDS:-} ]]; then limit="-max_total_time=$FUZZ_SECONDS"; fi
  work=$(mktemp -d)
  cp -r "$root/fuzz/corpus/${name%_fuzz}"/. "$work"/ 2>/dev/null || true
  if "$target" "$limit" -seed="$seed" -max_len=8192 "$work" >"$work.log" 2>&1; then
    local done_runs
    done_runs=$(grep -oE 'Done [0-9]+ runs' "$work.log" | tail -1 || true)
    echo "fuzz-smoke: $name: ok (${done_runs:-no summary})" >"$results/$name"
    rm -rf "$work" "$work.log"
  else
    { echo "fuzz-smoke: $name: FAILED"; tail -30 "$work.log"; } >"$results/$name"
    rm -rf "$work" "$work.log"
    return 1
  fi
}

status=0
running=0
for target in "$build_dir"/fuzz/*_fuzz; do
  if ((running >= jobs)); then
    wait -n || status=1
    running=$((running - 1))
  fi
  run_target "$target" &
  running=$((running + 1))
done
while ((running > 0)); do
  wait -n || status=1
  running=$((running - 1))
done
# The verdicts in the targets' order, whatever order they finished in.
for target in "$build_dir"/fuzz/*_fuzz; do
  cat "$results/$(basename "$target")" 2>/dev/null || { echo "fuzz-smoke: $(basename "$target"): no verdict"; status=1; }
done
exit $status
