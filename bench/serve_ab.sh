#!/usr/bin/env bash
# Old against new `flopline serve` under wrk (docs/benchmarks.md, issue 13): a model's
# determination (GET, 70 KB of explained JSON, cached) at several connection counts, the binaries
# alternated within each round (A, B, A, B, ...) on one SQLite workspace per binary, so that both
# see the same machine load. Prints one line per wrk run, then the medians per binary and count.
# Usage: bench/serve_ab.sh SECONDS ROUNDS "CONNECTIONS..." NAME=BINARY[:SERVE_FLAGS] ...
#   bench/serve_ab.sh 5 3 "16 64 256" old=/tmp/flopline-old new=build-srv-rel/flopline
#   bench/serve_ab.sh 5 3 "64" t1=build-srv-rel/flopline:--threads=1 t2=build-srv-rel/flopline
# Extra wrk arguments (e.g. -H 'Accept-Encoding: gzip') come from WRK_ARGS.
set -euo pipefail
secs=$1 rounds=$2 conns=$3
shift 3
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
server=""
trap '[[ -n "$server" ]] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
read -r -a extra <<<"${WRK_ARGS:-}"
source "$src/bench/serve_lib.sh"

results=$work/results
: >"$results"
for round in $(seq 1 "$rounds"); do
  for spec in "$@"; do
    name=${spec%%=*} rest=${spec#*=}
    bin=${rest%%:*} flags=""
    [[ "$rest" == *:* ]] && flags=${rest#*:}
    S=sqlite:$work/$name.db
    [[ -e "$work/$name.db" ]] || bench_workspace "$bin" "$S" "$work/$name.token"
    token=$(cat "$work/$name.token")
    cp "$work/$name.token" "$work/token"
    # shellcheck disable=SC2086  # the flags are words
    bench_serve "$bin" "$S" ${flags//=/ }
    for c in $conns; do
      # The server's CPU time (user + system, clock ticks) over the run: its cost per request, which
      # other work on the machine changes far less than it changes requests/s.
      cpu0=$(awk '{print $14 + $15}' "/proc/$server/stat")
      out=$(wrk -t2 -c"$c" -d"${secs}s" --latency -H "Authorization: Bearer $token" "${extra[@]}" "$det")
      cpu1=$(awk '{print $14 + $15}' "/proc/$server/stat")
      n=$(awk '/requests in/ {print $1}' <<<"$out")
      us=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", (b - a) / hz * 1e6 / n}')
      rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
      p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
      p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
      errs=$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr '\n' ' ' || true)
      load=$(cut -d' ' -f1 /proc/loadavg)
      echo "round $round $name c=$c: $rps req/s p50 $p50 p99 $p99 server CPU $us us/request load $load $errs"
      echo "$name $c $rps $p50 $p99 $us" >>"$results"
    done
    kill "$server"
    wait "$server" 2>/dev/null || true
    server=""
  done
done

echo
echo "medians over $rounds rounds (${secs} s per wrk run, wrk -t2 on the same machine):"
python3 - "$results" <<'PY'
import statistics, sys
def ms(t):
    for unit, f in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if t.endswith(unit) and (unit != "s" or not t.endswith(("us", "ms"))):
            return float(t[: -len(unit)]) * f
    return float(t)
rows = {}
order = []
for line in open(sys.argv[1]):
    name, c, rps, p50, p99, us = line.split()
    key = (name, int(c))
    if key not in rows:
        rows[key] = []
        order.append(key)
    rows[key].append((float(rps), ms(p50), ms(p99), float(us)))
print(f"{'binary':>10} {'conns':>6} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'CPU us/req':>10}  (each run's req/s)")
for key in sorted(order, key=lambda k: (k[1], order.index(k))):
    runs = rows[key]
    med = [statistics.median(r[i] for r in runs) for i in range(4)]
    each = ", ".join(f"{r[0]:.0f}" for r in runs)
    print(f"{key[0]:>10} {key[1]:>6} {med[0]:>9.0f} {med[1]:>7.2f} {med[2]:>7.2f} {med[3]:>10.1f}  ({each})")
PY
