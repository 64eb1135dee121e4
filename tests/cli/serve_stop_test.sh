#!/usr/bin/env bash
# `flopline serve` stopped by SIGINT or SIGTERM at each point of its life, with its usual exit
# (status 0, no error):
#   - before it listens, while it opens the store (here a PostgreSQL server that accepts the
#     connection and never answers, so the opening would last for ever): it stops at once and never
#     listens (it once ignored the signal until it listened);
#   - while it judges every model in the background (Warm, a large inventory): the judging is given up
#     (it once waited for it to finish), and the log still verifies;
#   - during a write load: every write it acknowledged is in the log, which verifies.
# No assertion is on time: a stop that waits for nothing is seen to end; one that waits for a wait
# that never ends is given 60 s, then failed.
# Usage: serve_stop_test.sh FLOPLINE_BINARY SOURCE_DIR
set -uo pipefail
bin=$1
src=$2
source "$(dirname "$0")/lib.sh"
pid=""
fake=""
cleanup() {
  [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [[ -n "$fake" ]] && kill "$fake" 2>/dev/null && wait "$fake" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# stopped NAME: waits for the server $pid to exit after its signal (60 s at most, then it is killed
# and the check fails); passes when it exited 0 with nothing on stderr but the lines allowed by
# $allowed (a regular expression, default none). Clears $pid.
stopped() {
  local name=$1 code
  for _ in $(seq 1 600); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    pid=""
    echo "FAIL $name: still running 60 s after the signal"
    failed=$((failed + 1))
    return 1
  fi
  wait "$pid"
  code=$?
  pid=""
  if [[ $code -ne 0 ]] || grep -vqE "${allowed:-^$}" "$tmp/$name.err"; then
    echo "FAIL $name: exit $code (want 0); stderr:"
    cat "$tmp/$name.err"
    failed=$((failed + 1))
    return 1
  fi
  passed=$((passed + 1))
}

# listening NAME: waits for the server $pid to print the address it listens on.
listening() {
  for _ in $(seq 1 1200); do
    grep -q '^listening on ' "$tmp/$1.out" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL $1: the server did not start"
  cat "$tmp/$1.err"
  failed=$((failed + 1))
  return 1
}

# --- before it listens: a store that never answers --------------------------------------------------
# A PostgreSQL server that accepts connections and never answers: the server's opening waits on it
# for ever. Each connection accepted is told in $tmp/accepted.
python3 - "$tmp/fake.port" "$tmp/accepted" <<'PY' &
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
with open(sys.argv[1] + ".part", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".part", sys.argv[1])
held = []
while True:
    c, _ = s.accept()
    held.append(c)
    with open(sys.argv[2], "a") as f:
        f.write("accepted\n")
PY
fake=$!
for _ in $(seq 1 300); do [[ -s "$tmp/fake.port" ]] && break; sleep 0.1; done
port=$(cat "$tmp/fake.port")
for sig in INT TERM; do
  rm -f "$tmp/accepted"
  "$bin" serve --store "postgres:host=127.0.0.1 port=$port user=flopline dbname=flopline" --key "$tmp/pg.key" \
    --listen 127.0.0.1:0 >"$tmp/opening-$sig.out" 2>"$tmp/opening-$sig.err" &
  pid=$!
  # Signalled once it is waiting for the store (its signals are blocked and waited for by then).
  for _ in $(seq 1 600); do
    [[ -s "$tmp/accepted" ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [[ ! -s "$tmp/accepted" ]]; then
    echo "FAIL opening-$sig: the server never connected to the store"
    cat "$tmp/opening-$sig.err"
    failed=$((failed + 1))
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    pid=""
    continue
  fi
  kill -"$sig" "$pid"
  stopped "opening-$sig"
  check "opening-$sig-never-listened" bash -c "! grep -q listening '$tmp/opening-$sig.out'"
done
kill "$fake" 2>/dev/null
wait "$fake" 2>/dev/null
fake=""

# --- while it judges every model in the background ---------------------------------------------------
# Enough models that judging them all (Warm, started as the server listens) takes far longer than the
# signal sent as soon as it listens takes to arrive.
B=sqlite:$tmp/big.db
python3 "$src/bench/assess_inventory.py" --models "${FLOPLINE_STOP_TEST_MODELS:-5000}" --format toml \
  --out "$tmp/big.toml"
expect_ok big-init ledger init --store "$B" --origin test.example/stop
expect_ok big-import import --store "$B" --data-dir "$src/data" "$tmp/big.toml"
"$bin" serve --store "$B" --listen 127.0.0.1:0 >"$tmp/warm.out" 2>"$tmp/warm.err" &
pid=$!
if listening warm; then
  kill -TERM "$pid"
  allowed='^flopline serve: stopped before every model was judged as of today' stopped warm
  check warm-given-up grep -q 'stopped before every model was judged as of today' "$tmp/warm.err"
fi
expect_ok big-verify ledger verify --store "$B"

# --- during a write load: no acknowledged write lost ------------------------------------------------
W=sqlite:$tmp/writes.db
printf 'correct horse battery staple\n' | "$bin" user add --store "$W" --name eng --role engineer >/dev/null
token=$("$bin" user token --store "$W" --name eng)
"$bin" import --store "$W" --data-dir "$src/data" "$src/examples/models/frontier-lab.toml" >/dev/null
"$bin" serve --store "$W" --listen 127.0.0.1:0 --rate-limit 0 >"$tmp/writes.out" 2>"$tmp/writes.err" &
pid=$!
if listening writes; then
  url=$(sed -n 's/^listening on \(http:\/\/[0-9.:]*\)$/\1/p' "$tmp/writes.out")
  # Eight writers record events without pause; once 100 are acknowledged (or every writer has
  # failed) the server is sent SIGTERM, and each writer stops at its first failure (the server no
  # longer answers).
  python3 - "$url" "$token" "$tmp/acked" "$pid" <<'PY'
import json, os, signal, sys, threading, time, urllib.request
url, token, acked_path, pid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
acked, lock, sent = [], threading.Lock(), threading.Event()
def worker(w):
    i = 0
    while True:
        at = "2025-%02d-%02dT%02d:%02d:%02dZ" % (1 + w, 1 + i // 86400 % 28, i // 3600 % 24, i // 60 % 60, i % 60)
        req = urllib.request.Request(url + "/api/v1/events", method="POST",
                                     data=json.dumps({"model": "acme-f1", "kind": "training-started", "at": at}).encode())
        req.add_header("Content-Type", "application/json")
        req.add_header("Authorization", "Bearer " + token)
        try:
            if urllib.request.urlopen(req, timeout=60).status == 201:
                with lock:
                    acked.append(at)
        except Exception:
            return
        i += 1
threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
for t in threads: t.start()
deadline = time.time() + 120
while time.time() < deadline and any(t.is_alive() for t in threads):
    with lock:
        if len(acked) >= 100 and not sent.is_set():
            os.kill(pid, signal.SIGTERM)
            sent.set()
    time.sleep(0.02)
if not sent.is_set():
    os.kill(pid, signal.SIGTERM)
for t in threads: t.join()
json.dump(acked, open(acked_path, "w"))
PY
  stopped writes
  # The events the log holds, as a new server reads them.
  "$bin" serve --store "$W" --listen 127.0.0.1:0 --rate-limit 0 >"$tmp/reread.out" 2>"$tmp/reread.err" &
  pid=$!
  if listening reread; then
    url=$(sed -n 's/^listening on \(http:\/\/[0-9.:]*\)$/\1/p' "$tmp/reread.out")
    check writes-kept python3 - "$url" "$token" "$tmp/acked" <<'PY'
import json, sys, urllib.request
url, token, acked = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
req = urllib.request.Request(url + "/api/v1/models/acme-f1")
req.add_header("Authorization", "Bearer " + token)
have = {e["at"] for e in json.load(urllib.request.urlopen(req))["events"]}
lost = [a for a in acked if a not in have]
assert len(acked) >= 100 and not lost, (len(acked), lost[:5])
PY
    kill -TERM "$pid"
    stopped reread
  fi
fi
expect_ok writes-verify ledger verify --store "$W"

finish
