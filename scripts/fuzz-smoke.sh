#!/usr/bin/env bash
# Runs every libFuzzer target briefly over its seed corpus: a smoke test that the parsers survive
# arbitrary input under ASan/UBSan. Crashes leave a reproducer in the working directory.
set -euo pipefail
build_dir=${1:-build-fuzz}
seconds=${FUZZ_SECONDS:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
for target in "$build_dir"/fuzz/*_fuzz; do
  name=$(basename "$target")
  corpus="$root/fuzz/corpus/${name%_fuzz}"
  work=$(mktemp -d)
  cp -r "$corpus"/. "$work"/ 2>/dev/null || true
  if "$target" -max_total_time="$seconds" -max_len=8192 "$work" >"$work.log" 2>&1; then
    runs=$(grep -oE 'Done [0-9]+ runs' "$work.log" | tail -1)
    echo "fuzz-smoke: $name: ok (${runs:-no summary})"
  else
    echo "fuzz-smoke: $name: FAILED"; tail -30 "$work.log"; status=1
  fi
  rm -rf "$work" "$work.log"
done
exit $status
