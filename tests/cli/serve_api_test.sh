#!/usr/bin/env bash
# `flopline serve` as real processes on 127.0.0.1 with OS-chosen ports: the API suite
# (tests/server/api_test.py: every route x every role, bad input, sessions, ETags, pagination, SSE),
# TLS, the rate limit, the OpenAPI document kept in the repository, and SIGKILL during a write load
# (no acknowledged write lost, `flopline ledger verify` passes). With a PostgreSQL connection
# string, the same suite runs against PostgreSQL with two replicas on one database.
# Usage: serve_api_test.sh FLOPLINE_BINARY SOURCE_DIR [POSTGRES_CONNINFO]
set -uo pipefail
bin=$1
src=$2
pg=${3:-}
source "$(dirname "$0")/lib.sh"
pids=()
cleanup_servers() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; pids=(); }
trap 'cleanup_servers; rm -rf "$tmp"' EXIT

# start_server NAME ARGS...: starts `flopline serve ARGS --listen 127.0.0.1:0`, waits for the bound
# address it prints, and sets $url and $pid.
start_server() {
  local name=$1
  shift
  "$bin" serve "$@" --listen 127.0.0.1:0 >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pid=$!
  pids+=("$pid")
  url=""
  for _ in $(seq 1 600); do
    url=$(sed -n 's/^listening on \(https\?:\/\/[0-9.:]*\)$/\1/p' "$tmp/$name.out")
    [[ -n "$url" ]] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL $name: the server did not start"; cat "$tmp/$name.err"
  failed=$((failed + 1))
  return 1
}

# users STORE EXTRA...: one user per role, each with an API token; writes $tmp/tokens.json.
users() {
  local store=$1
  shift
  echo '{' >"$tmp/tokens.json"
  for role in developer-admin compliance-officer engineer auditor board regulator-readonly; do
    printf 'correct horse battery %s\n' "$role" | "$bin" user add --store "$store" "$@" --name "$role" --role "$role" \
      >/dev/null || { echo "FAIL user add $role"; failed=$((failed + 1)); }
    token=$("$bin" user token --store "$store" "$@" --name "$role") || { echo "FAIL user token $role"; failed=$((failed + 1)); }
    printf '"%s": "%s",\n' "$role" "$token" >>"$tmp/tokens.json"
  done
  printf '"engineer-password": "correct horse battery engineer"}\n' >>"$tmp/tokens.json"
}

# meter_seed STORE: a short run "walk-run" metered into the store (the meter routes' {run}).
meter_seed() {
  "$bin" meter simulate --run walk-run --steps 20 --tokens-per-step 1e6 --flop-per-token 1e10 >"$tmp/walk-run.jsonl"
  "$bin" meter watch "$tmp/walk-run.jsonl" --run walk-run=walk-base --store "$1" >/dev/null 2>"$tmp/walk-run.err" ||
    { echo "FAIL meter seed $1"; cat "$tmp/walk-run.err"; failed=$((failed + 1)); }
}

# --- the contract kept in the repository is the table's --------------------------------------------
expect_ok print-openapi serve --print-openapi
cp "$tmp/out" "$tmp/openapi.json"
check openapi-in-repo cmp -s "$tmp/openapi.json" "$src/api/openapi.json"
expect_ok print-routes serve --print-routes
check routes-in-docs python3 -c '
import sys
doc = open(sys.argv[2]).read()
missing = [l for l in open(sys.argv[1]).read().splitlines()[2:] if l not in doc]
assert not missing, missing' "$tmp/out" "$src/docs/api.md"
expect_error user-bad-role 2 "field 'role'" -- user add --store "sqlite:$tmp/x.db" --name x --role janitor </dev/null
expect_error serve-bad-listen 2 "field '--listen'" -- serve --store "sqlite:$tmp/x.db" --listen localhost
expect_error user-token-unknown 2 "no user 'ghost'" -- user token --store "sqlite:$tmp/x.db" --name ghost

# --- SQLite: the whole suite ------------------------------------------------------------------------
S=sqlite:$tmp/ws.db
users "$S"
meter_seed "$S"
check key-0600 test "$(stat -c %a "$tmp/ws.db.key")" = 600
if start_server sqlite --store "$S" --rate-limit 0; then
  check api-sqlite python3 "$src/tests/server/api_test.py" "$url" "$tmp/tokens.json" "$tmp/openapi.json"
  # Sessions and tokens ended before they expire (logout, `user revoke`, `user disable`, a new role).
  check sessions-end-sqlite python3 "$src/tests/server/revoke_test.py" "$url" "$bin" "$S" "$tmp/tokens.json"
  # A second server on the same SQLite file: the two change one model at once and lose nothing.
  first=$url
  if start_server sqlite2 --store "$S" --rate-limit 0; then
    admin=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["developer-admin"])' "$tmp/tokens.json")
    check race-sqlite-two-servers python3 "$src/tests/server/race_test.py" "$first" "$url" "$admin"
  fi
  # Static files: web/index.html at / when the dashboard has one.
  if [[ -f "$src/web/index.html" ]]; then
    check static-index bash -c "curl -sf '$url/' | cmp -s - '$src/web/index.html'"
  fi
  check no-secrets-in-log bash -c "! grep -qE 'flt_|argon2id|correct horse' '$tmp/sqlite.out' '$tmp/sqlite.err'"
fi
cleanup_servers
expect_ok verify-after-api ledger verify --store "$S"

# --- the document routes, on the example inventory and evidence (tests/server/document_api_test.py) -
D=sqlite:$tmp/documents.db
users "$D"
expect_ok documents-import import --store "$D" "$src"/examples/models/*.toml
for kind in capability-assessment test-results; do
  expect_ok "documents-$kind" ledger append --store "$D" --kind $kind --model acme-f1 \
    --file "$src/examples/evidence/$kind.json"
done
expect_ok documents-drill ledger append --store "$D" --kind shutdown-drill --file "$src/examples/evidence/shutdown-drill.json"
if start_server documents --store "$D" --rate-limit 0; then
  check api-documents python3 "$src/tests/server/document_api_test.py" "$url" "$tmp/tokens.json"
fi
cleanup_servers
expect_ok verify-after-documents ledger verify --store "$D"

# --- the rate limit ------------------------------------------------------------------------------
if start_server limited --store "$S" --rate-limit 5; then
  check rate-limit python3 - "$url" <<'PY'
import sys, urllib.request, urllib.error
codes = []
for _ in range(40):
    try:
        codes.append(urllib.request.urlopen(sys.argv[1] + "/healthz").status)
    except urllib.error.HTTPError as e:
        codes.append(e.code)
        assert e.headers.get("Content-Type", "").startswith("application/problem+json")
assert 200 in codes and 429 in codes, codes
PY
fi
cleanup_servers

# --- TLS ----------------------------------------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/tls.key" -out "$tmp/tls.crt" -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
if start_server tls --store "$S" --tls-cert "$tmp/tls.crt" --tls-key "$tmp/tls.key"; then
  check tls-https test "${url%%:*}" = https
  check tls-healthz bash -c "curl -sf --cacert '$tmp/tls.crt' '$url/healthz' | grep -q '\"ok\":true'"
  check tls-secure-cookie bash -c "curl -si --cacert '$tmp/tls.crt' -H 'Content-Type: application/json' \
    -d '{\"name\":\"engineer\",\"password\":\"correct horse battery engineer\"}' '$url/api/v1/session' | grep -qi '^set-cookie: flopline_session=.*Secure'"
  check tls-plain-refused bash -c "! curl -sf 'http://${url#https://}/healthz'"
fi
cleanup_servers
expect_error tls-missing-key 2 "field '--tls-key'" -- serve --store "$S" --listen 127.0.0.1:0 --tls-cert "$tmp/tls.crt"
expect_error tls-bad-cert 2 "field '--tls-cert'" -- serve --store "$S" --listen 127.0.0.1:0 --tls-cert "$tmp/nope.crt" --tls-key "$tmp/tls.key"

# --- SIGKILL during a write load: every acknowledged write is there, and the log verifies ----------
K=sqlite:$tmp/kill.db
users "$K"
if start_server kill1 --store "$K" --rate-limit 0; then
  admin=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["developer-admin"])' "$tmp/tokens.json")
  python3 - "$url" "$admin" "$tmp/acked" "$pid" <<'PY'
import json, os, signal, sys, threading, time, urllib.request, urllib.error
url, token, acked_path, pid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def post(path, body):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json"); req.add_header("Authorization", "Bearer " + token)
    return urllib.request.urlopen(req, timeout=30).status
post("/api/v1/models", {"id": "load", "developer": "Load AI",
                        "training": [{"kind": "pretrain", "start": "2026-01-01", "flop": 1e25}]})
acked, lock, stop = [], threading.Lock(), threading.Event()
def worker(w):
    i = 0
    while not stop.is_set():
        at = "2026-%02d-%02dT%02d:%02d:%02dZ" % (1 + w, 1 + i // 86400 % 28, i // 3600 % 24, i // 60 % 60, i % 60)
        try:
            if post("/api/v1/events", {"model": "load", "kind": "training-started", "at": at}) == 201:
                with lock: acked.append(at)
        except Exception:
            return
        i += 1
threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
for t in threads: t.start()
deadline = time.time() + 60
while time.time() < deadline:
    with lock:
        if len(acked) >= 200: break
    time.sleep(0.05)
os.kill(pid, signal.SIGKILL)
stop.set()
for t in threads: t.join()
json.dump(acked, open(acked_path, "w"))
print(len(acked), "acknowledged before the kill")
PY
  wait "$pid" 2>/dev/null
  pids=()
  if start_server kill2 --store "$K" --rate-limit 0; then
    check no-acknowledged-write-lost python3 - "$url" "$admin" "$tmp/acked" <<'PY'
import json, sys, urllib.request
url, token, acked = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
req = urllib.request.Request(url + "/api/v1/models/load"); req.add_header("Authorization", "Bearer " + token)
have = {e["at"] for e in json.load(urllib.request.urlopen(req))["events"]}
lost = [a for a in acked if a not in have]
assert acked and not lost, (len(acked), lost[:5])
PY
  fi
  cleanup_servers
  expect_ok verify-after-kill ledger verify --store "$K"
fi

# --- PostgreSQL: the same suite, with two replicas on one database ----------------------------------
if [[ -n "$pg" ]]; then
  db="flopline_ws_$$"
  host=$(sed -n 's/.*host=\([^ ]*\).*/\1/p' <<<"$pg")
  port=$(sed -n 's/.*port=\([^ ]*\).*/\1/p' <<<"$pg")
  psql -h "$host" -p "$port" -U postgres -d postgres -qc "CREATE DATABASE $db" >/dev/null
  P="postgres:host=$host port=$port user=postgres dbname=$db"
  users "$P" --key "$tmp/pg.key"
  meter_seed "$P"
  if start_server pg1 --store "$P" --key "$tmp/pg.key" --rate-limit 0; then
    first=$url
    if start_server pg2 --store "$P" --key "$tmp/pg.key" --rate-limit 0; then
      check api-postgres-two-replicas python3 "$src/tests/server/api_test.py" "$first" "$tmp/tokens.json" \
        "$tmp/openapi.json" "$url"
      admin=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["developer-admin"])' "$tmp/tokens.json")
      check race-postgres-two-replicas python3 "$src/tests/server/race_test.py" "$first" "$url" "$admin"
      check sessions-end-postgres-two-replicas python3 "$src/tests/server/revoke_test.py" "$first" "$bin" "$P" \
        "$tmp/tokens.json" "$url" -- --key "$tmp/pg.key"
    fi
  fi
  cleanup_servers
  expect_ok verify-postgres ledger verify --store "$P" --key "$tmp/pg.key"
  psql -h "$host" -p "$port" -U postgres -d postgres -qc "DROP DATABASE $db" >/dev/null
fi

finish
