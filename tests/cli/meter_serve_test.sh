#!/usr/bin/env bash
# The live compute meter in the workspace (issue 15 item 4): two runs metered into a workspace's
# store with `flopline meter watch --store` (tests/cli/meter_seed.sh), then `flopline serve` on it
# and tests/server/meter_api_test.py against its meter routes (every role, the figures equal to the
# meter's own report, history, crossings, bad run ids); a record whose document was changed after
# it was logged is refused, never shown.
# Usage: meter_serve_test.sh FLOPLINE_BINARY SOURCE_DIR
set -uo pipefail
bin=$1
src=$2
source "$(dirname "$0")/lib.sh"
pid=
trap '[[ -n $pid ]] && { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }; rm -rf "$tmp"' EXIT

# start_server NAME STORE: `flopline serve` on 127.0.0.1:0; its address in $url, its pid in $pid.
start_server() {
  : >"$tmp/$1.out"
  "$bin" serve --store "$2" --rate-limit 0 --listen 127.0.0.1:0 >"$tmp/$1.out" 2>"$tmp/$1.err" &
  pid=$!
  url=
  for _ in $(seq 1 600); do
    url=$(sed -n 's/^listening on \(http:\/\/[0-9.:]*\)$/\1/p' "$tmp/$1.out")
    [[ -n $url ]] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL $1: the server did not start"; cat "$tmp/$1.err"
  failed=$((failed + 1))
  return 1
}
stop_server() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=; }

S=sqlite:$tmp/ws.db
echo '{' >"$tmp/tokens.json"
for role in developer-admin compliance-officer engineer auditor board regulator-readonly; do
  printf 'correct horse battery %s\n' "$role" | "$bin" user add --store "$S" --name "$role" --role "$role" >/dev/null
  printf '"%s": "%s",\n' "$role" "$("$bin" user token --store "$S" --name "$role")" >>"$tmp/tokens.json"
done
echo '"_": ""}' >>"$tmp/tokens.json"
check seed bash "$src/tests/cli/meter_seed.sh" "$bin" "$src" "$S" "$tmp/seed"
if start_server meter "$S"; then
  check meter-api python3 "$src/tests/server/meter_api_test.py" "$url" "$tmp/tokens.json" \
    "$tmp/seed/report-r1.json" "$tmp/seed/report-r2.json"
  stop_server
fi
expect_ok verify ledger verify --store "$S"

# A meter-state document changed after it was logged: the view refuses it (500 naming the store and
# the record), and shows nothing of it.
cp "$tmp/ws.db" "$tmp/tampered.db"
[[ -f $tmp/ws.db-wal ]] && cp "$tmp/ws.db-wal" "$tmp/tampered.db-wal"
cp "$tmp/ws.db.key" "$tmp/tampered.db.key"
check tamper python3 - "$tmp/tampered.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
(i,) = db.execute("SELECT idx FROM entries WHERE kind = 'meter-state' ORDER BY idx DESC LIMIT 1").fetchone()
(doc,) = db.execute("SELECT bytes FROM documents WHERE entry = ?", (i,)).fetchone()
doc = bytes(doc).replace(b'"run":"r2"', b'"run":"r2","flop_note":"edited"', 1)
db.execute("UPDATE documents SET bytes = ? WHERE entry = ?", (doc, i))
db.commit()
PY
if start_server tampered "sqlite:$tmp/tampered.db"; then
  admin=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["developer-admin"])' "$tmp/tokens.json")
  code=$(curl -s -o "$tmp/tampered.body" -w '%{http_code}' -H "Authorization: Bearer $admin" "$url/api/v1/meter")
  check tampered-refused test "$code" = 500
  check tampered-names-record python3 -c "
import json, sys
d = json.load(open('$tmp/tampered.body'))
assert 'does not match its logged leaf' in d['detail'] and d['errors'][0]['field'] == 'store', d"
  stop_server
fi
finish
