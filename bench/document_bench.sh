#!/usr/bin/env bash
# Time to produce the SB 1047 statement of compliance of acme-f1 from the example evidence store (built
# as `make run` builds it): the HTML alone (facts from the log, the assessment, the document) and the
# HTML plus its PDF (headless chromium), each the real command, RUNS times; prints the median and
# the spread of each and their ratio, measured in the same run.
# Usage: bench/document_bench.sh [FLOPLINE_BINARY] [RUNS]   (default build/flopline, 11)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/build/flopline}
runs=${2:-11}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
S=sqlite:$work/evidence.db
"$bin" ledger init --store "$S" --origin example.com/flopline-bench >/dev/null
"$bin" import "$root"/examples/models/*.toml --store "$S" >/dev/null
for kind in capability-assessment test-results; do
  "$bin" ledger append --store "$S" --kind $kind --file "$root/examples/evidence/$kind.json" --model acme-f1 >/dev/null
done
"$bin" ledger append --store "$S" --kind shutdown-drill --file "$root/examples/evidence/shutdown-drill.json" >/dev/null
"$bin" ledger checkpoint --store "$S" >/dev/null
args=(document sb1047-statement-of-compliance --model acme-f1 --store "$S" --as-of "$(date -u +%F)"
      --fill "$root/examples/documents/sb1047-statement-of-compliance.toml" --out "$work/out")
time_ms() {  # the command's wall time in milliseconds
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null
  end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}
html=() pdf=()
for _ in $(seq "$runs"); do
  html+=("$(time_ms "$bin" "${args[@]}" --no-pdf)")
  pdf+=("$(time_ms "$bin" "${args[@]}")")
done
python3 - "${html[*]}" "${pdf[*]}" <<'PY'
import statistics, sys
html = [int(x) for x in sys.argv[1].split()]
pdf = [int(x) for x in sys.argv[2].split()]
for name, xs in (("HTML only", html), ("HTML + PDF", pdf)):
    print(f"{name:11s} median {statistics.median(xs):6.0f} ms   min {min(xs):5d}   max {max(xs):5d}   ({len(xs)} runs)")
print(f"PDF / HTML  {statistics.median(pdf) / statistics.median(html):.1f}x")
PY
