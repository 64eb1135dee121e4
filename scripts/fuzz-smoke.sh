#!/usr/bin/env bash
# Runs every libFuzzer target briefly over its seed corpus: a smoke test that the parsers survive
# arbitrary input under ASan/UBSan. Crashes leave a reproducer in the working directory.
#
# By default the run is deterministic (a fixed seed and a fixed number of inputs), so CI passes or
# fails the same way on every machine. Hunt for new bugs with a time budget and a random seed:
#   FUZZ_SECONDS=300 FUZZ_SEED=0 scripts/fuzz-smoke.sh build-fuzz
set -euo pipefail
build_dir=${1:-build-fuzz}
runs=${FUZZ_RUNS:-150000}
seed=${FUZZ_SEED:-1}
limit="-runs=$runs"
if [[ -n ${FUZZ_SECONDS:-} ]]; then limit="-max_total_time=$FUZZ_SECONDS"; fi
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
for target in "$build_dir"/fuzz/*_fuzz; do
  name=$(basename "$target")
  corpus="$root/fuzz/corpus/${name%_fuzz}"
  work=$(mktemp -d)
  cp -r "$corpus"/. "$work"/ 2>/dev/null || true
  this_limit=$limit
  # The protocol target runs a whole controller per input (a socketpair, then a shutdown): about a
  # tenth as many inputs a second as the parsers, so a tenth as many inputs.
  if [[ -z ${FUZZ_SECONDS:-} && $name == killswitch_protocol_fuzz ]]; then this_limit="-runs=$((${FUZZ_RUNS:-150000} / 10))"; fi
  if "$target" "$this_limit" -seed="$seed" -max_len=8192 "$work" >"$work.log" 2>&1; then
    runs=$(grep -oE 'Done [0-9]+ runs' "$work.log" | tail -1)
    echo "fuzz-smoke: $name: ok (${runs:-no summary})"
  else
    echo "fuzz-smoke: $name: FAILED"; tail -30 "$work.log"; status=1
  fi
  rm -rf "$work" "$work.log"
done
exit $status
