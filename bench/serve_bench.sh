#!/usr/bin/env bash
# `flopline serve` under wrk on loopback (docs/benchmarks.md): a model's determination (GET, as it is
# and gzip-compressed) and recording an event (POST, a durable ledger append through the group
# committer), against the server's floor (GET /healthz) and the same determination through one
# `flopline assess` process start, all in one run.
# Usage: bench/serve_bench.sh [FLOPLINE_BINARY] [SECONDS] [CONNECTIONS]
set -euo pipefail
bin=${1:-build/flopline}
secs=${2:-10}
conns=${3:-64}
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
server=""
trap '[[ -n "$server" ]] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
S=sqlite:$work/bench.db

source "$src/bench/serve_lib.sh"
bench_workspace "$bin" "$S" "$work/token"
token=$(cat "$work/token")
bench_serve "$bin" "$S"

echo "== floor, GET /healthz (a 15-byte answer, no workspace): wrk -t2 -c$conns -d${secs}s --latency"
wrk -t2 -c"$conns" -d"${secs}s" --latency "$url/healthz"
echo
echo "== GET determination: wrk -t2 -c$conns -d${secs}s --latency"
wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $token" "$det"
echo
echo "== GET determination, gzip accepted (as browsers send): wrk -t2 -c$conns -d${secs}s --latency"
wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $token" -H "Accept-Encoding: gzip" "$det"
echo
echo "== POST event (durable append): wrk -t2 -c$conns -d${secs}s --latency -s bench/serve_post_event.lua"
FLOPLINE_TOKEN=$token wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$src/bench/serve_post_event.lua" "$url"
kill "$server"
wait "$server" 2>/dev/null || true
server=""
"$bin" ledger verify --store "$S" >/dev/null && echo "ledger verify: ok after the load"
echo
echo "== the same determination through one process start: flopline assess (median of 9)"
python3 - "$bin" "$src" <<'PY'
import statistics, subprocess, sys, time
bin, src = sys.argv[1], sys.argv[2]
import glob
files = sorted(glob.glob(src + "/examples/models/*.toml"))
times = []
for _ in range(9):
    t = time.perf_counter()
    subprocess.run([bin, "assess", *files, "--as-of", "2026-11-23", "--explain=acme-f1-chat", "--format", "json"],
                   check=True, stdout=subprocess.DEVNULL)
    times.append(time.perf_counter() - t)
m = statistics.median(times)
print(f"assess process: median {m * 1000:.1f} ms per determination ({1 / m:.1f} per second, one at a time)")
PY
