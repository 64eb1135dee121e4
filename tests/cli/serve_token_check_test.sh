#!/usr/bin/env bash
# `flopline serve` checking bearer tokens it has not seen off its I/O threads, a bounded number at
# once: tests/server/token_check_test.py (/healthz and a known token answered while 40 distinct
# wrong tokens wait; the checks beyond the bound answered 503 with Retry-After).
# Usage: serve_token_check_test.sh FLOPLINE_BINARY SOURCE_DIR
set -uo pipefail
bin=$1
src=$2
source "$(dirname "$0")/lib.sh"
pid=""
trap '[[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
cd "$src" || exit 1
S=sqlite:$tmp/ws.db
expect_ok import workspace import --store "$S" examples/models/*.toml
printf 'token check password 1\n' | "$bin" user add --store "$S" --name reader --role auditor >/dev/null ||
  { echo "FAIL user add"; failed=$((failed + 1)); }
token=$("$bin" user token --store "$S" --name reader)
"$bin" serve --store "$S" --listen 127.0.0.1:0 --rate-limit 0 >"$tmp/serve.out" 2>"$tmp/serve.err" &
pid=$!
url=""
for _ in $(seq 1 600); do
  url=$(sed -n 's/^listening on \(http:\/\/[0-9.:]*\)$/\1/p' "$tmp/serve.out")
  [[ -n "$url" ]] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -n "$url" ]]; then
  check token-check python3 "$src/tests/server/token_check_test.py" "$url" "$token"
else
  echo "FAIL the server did not start"; cat "$tmp/serve.err"; failed=$((failed + 1))
fi
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=""
check no-errors-logged test ! -s "$tmp/serve.err"
finish
