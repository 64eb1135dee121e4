#!/bin/bash
# Before and after in the same run: alternates two (or more) ledger_bench binaries, one repetition
# of the selected benchmarks each per round, so that both see the same machine load, and prints
# every round, then the median per binary and benchmark (items/s where the benchmark counts items,
# else real and CPU time per iteration) with the load average of the run.
#
#   bench/ledger_bench_ab.sh ROUNDS FILTER BINARY...
#   bench/ledger_bench_ab.sh 5 'Durable.*sqlite' /tmp/before/ledger_bench build-rel/bench/ledger_bench
#
# A binary of an earlier commit: `git worktree add /tmp/before COMMIT`, then configure and build its
# ledger_bench target as docs/benchmarks.md says. Environment (FLOPLINE_PG_CONNINFO,
# FLOPLINE_BENCH_PROOF_DIR) is passed through to every binary.
set -euo pipefail
if [[ $# -lt 3 ]]; then
  echo "usage: $0 ROUNDS FILTER BINARY..." >&2
  exit 2
fi
rounds=$1
filter=$2
shift 2
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for round in $(seq "$rounds"); do
  for i in $(seq $#); do
    binary=${!i}
    load=$(cut -d' ' -f1 /proc/loadavg)
    # CSV: name,iterations,real_time,cpu_time,time_unit,bytes_per_second,items_per_second,...
    "$binary" --benchmark_filter="$filter" --benchmark_repetitions=1 --benchmark_format=csv 2>/dev/null |
      grep '^"BM' | tr -d '"' |
      awk -F, -v r="$round" -v b="$i" -v load="$load" '{
        if ($7 != "") {
          printf "%s\t%s\t%s\t%s\t%.6g\t%s\n", r, b, load, $1, $7, "items/s"
        } else {  # real time, and CPU time (what a loaded machine distorts least)
          printf "%s\t%s\t%s\t%s\t%.6g\t%s\n", r, b, load, $1, $3, $5 " real"
          printf "%s\t%s\t%s\t%s\t%.6g\t%s\n", r, b, load, $1 " (cpu)", $4, $5 " cpu"
        }
      }' | tee -a "$results"
  done
done
echo
echo "medians of $rounds rounds (binary: 1..$#; load average at each run's start: min-max)"
sort -t$'\t' -k4,4 -k2,2n -k5,5g "$results" | awk -F'\t' '
  function flush() {
    if (n == 0) return
    m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    printf "%-55s binary %s  median %.4g %s  (n=%d, load %s-%s)\n", name, bin, m, unit, n, lo, hi
    n = 0
  }
  {
    if ($4 != name || $2 != bin) { flush(); name = $4; bin = $2; lo = $3; hi = $3 }
    v[++n] = $5; unit = $6
    if ($3 + 0 < lo + 0) lo = $3
    if ($3 + 0 > hi + 0) hi = $3
  }
  END { flush() }'
