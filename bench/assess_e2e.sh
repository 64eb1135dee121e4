#!/usr/bin/env bash
# End-to-end benchmark of `flopline assess`: the real command, from process start to exit, on files
# on disk, timed and measured by /usr/bin/time (wall seconds, peak resident memory), with the floor
# measured in the same run: bench/assess_floor reads and parses the same file and does nothing else.
# Each case runs RUNS times (default 5); the median is reported, with the CPU seconds (user + system,
# all threads) of the median run: on a loaded shared machine the wall time says more about the
# load than about the program. CASES=REGEX runs only the cases whose names match. Output goes to a
# file in WORK_DIR (its size is reported once per case).
#
#   bench/assess_e2e.sh BUILD_DIR [WORK_DIR]     e.g. bench/assess_e2e.sh build-rel /tmp/assess-bench
#
# Inventories (bench/assess_inventory.py, chains of 10 derivatives) are generated once into WORK_DIR:
# 1,000,000 models as JSON Lines and 10,000 models as TOML.
set -euo pipefail
build=${1:?usage: assess_e2e.sh BUILD_DIR [WORK_DIR]}
work=${2:-/tmp/assess-bench}
runs=${RUNS:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$build/flopline
floor=$build/bench/assess_floor
mkdir -p "$work"
[[ -f $work/inv-1m.jsonl ]] || python3 "$root/bench/assess_inventory.py" --models 1000000 --format jsonl --out "$work/inv-1m.jsonl"
[[ -f $work/inv-10k.toml ]] || python3 "$root/bench/assess_inventory.py" --models 10000 --format toml --out "$work/inv-10k.toml"
[[ -f $work/inv-100k.jsonl ]] || python3 "$root/bench/assess_inventory.py" --models 100000 --format jsonl --out "$work/inv-100k.jsonl"

# case NAME COMMAND...: the median wall time and peak memory of RUNS runs, and the output's size.
case_() {
  local name=$1
  if [[ -n ${CASES:-} && ! $name =~ $CASES ]]; then return; fi
  shift
  local times=() mems=() cpus=() bytes
  for ((i = 0; i < runs; i++)); do
    /usr/bin/time -f "%e %M %U %S" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || [[ $? -eq 1 ]]
    read -r t m u s < <(tail -n 1 "$work/time")  # time writes "Command exited with ..." first on exit 1
    times+=("$t")
    mems+=("$m")
    cpus+=("$t $(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')")
  done
  bytes=$(stat -c %s "$work/out")
  local t m
  t=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")
  m=$(printf '%s\n' "${mems[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")
  local cpu
  cpu=$(printf '%s\n' "${cpus[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p" | cut -d' ' -f2)
  printf '| %s | %s s | %s s | %d MB | %s bytes | %s |\n' "$name" "$t" "$cpu" "$((m / 1024))" "$bytes" "${times[*]}"
}

data=$root/data
a=(--as-of 2026-11-23 --regimes-dir "$root/regimes" --data-dir "$data")
echo "| case | median wall | its CPU (user + sys) | median peak RSS | output | all runs (s) |"
echo "|---|---:|---:|---:|---:|---|"
case_ "floor: parse 1M JSONL" "$floor" "$data" "$work/inv-1m.jsonl"
case_ "1M JSONL, 4 regimes, summary table" "$bin" assess "$work/inv-1m.jsonl" "${a[@]}"
case_ "1M JSONL, 4 regimes, summary JSON" "$bin" assess "$work/inv-1m.jsonl" "${a[@]}" --format json
case_ "1M JSONL, 4 regimes, --quiet --fail-if-covered" "$bin" assess "$work/inv-1m.jsonl" "${a[@]}" --quiet --fail-if-covered
case_ "floor: parse 100k JSONL" "$floor" "$data" "$work/inv-100k.jsonl"
case_ "100k JSONL, 4 regimes, summary table" "$bin" assess "$work/inv-100k.jsonl" "${a[@]}"
case_ "100k JSONL, 4 regimes, summary JSON" "$bin" assess "$work/inv-100k.jsonl" "${a[@]}" --format json
case_ "100k JSONL, 4 regimes, --quiet" "$bin" assess "$work/inv-100k.jsonl" "${a[@]}" --quiet
case_ "100k JSONL, --explain, JSON" "$bin" assess "$work/inv-100k.jsonl" "${a[@]}" --format json --explain
case_ "floor: parse 10k TOML" "$floor" "$data" "$work/inv-10k.toml"
case_ "10k TOML, 4 regimes, summary table" "$bin" assess "$work/inv-10k.toml" "${a[@]}"
case_ "10k TOML, 4 regimes, --explain, JSON" "$bin" assess "$work/inv-10k.toml" "${a[@]}" --format json --explain
case_ "9 examples, summary table" "$bin" assess "$root"/examples/models/*.toml "${a[@]}"
