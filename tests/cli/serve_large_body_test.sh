#!/usr/bin/env bash
# `flopline serve` on the example workspace with an auditor's token, driven by a Python test of
# tests/server/ (URL TOKEN):
# - large_body (the default): a large cached answer (a model's determination of the examples, 70 KB)
#   sent from its in-memory file with sendfile (the same bytes as the gzip form decoded,
#   keep-alive, HEAD, 304, pipelined requests read slowly through a small buffer);
# - token_check: bearer tokens not seen before checked off the I/O threads, a bounded number at
#   once (/healthz and a known token answered while 40 distinct wrong tokens wait; 503 beyond).
# Usage: serve_large_body_test.sh FLOPLINE_BINARY SOURCE_DIR [TEST]
set -uo pipefail
bin=$1
src=$2
name=${3:-large_body}
source "$(dirname "$0")/lib.sh"
pid=""
trap '[[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
cd "$src" || exit 1
S=sqlite:$tmp/ws.db
expect_ok import workspace import --store "$S" examples/models/*.toml
printf 'large body password 1\n' | "$bin" user add --store "$S" --name reader --role auditor >/dev/null ||
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
  check "$name" python3 "$src/tests/server/${name}_test.py" "$url" "$token"
else
  echo "FAIL the server did not start"; cat "$tmp/serve.err"; failed=$((failed + 1))
fi
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=""
check no-errors-logged test ! -s "$tmp/serve.err"
finish
