#!/usr/bin/env python3
"""Bearer tokens the server has not seen are checked (argon2id, 150-250 ms each) off its I/O
threads, a bounded number at once: with many distinct wrong tokens in flight, /healthz and a request
with an already known valid token are answered while most of them are still being checked (they
used to wait behind the argon2id checks on the I/O threads); the checks beyond the bound are answered at once
with 503, Retry-After and a problem document naming authorization; the rest 401.

Usage: token_check_test.py URL TOKEN
"""
import http.client
import json
import sys
import threading
import urllib.parse

url, token = sys.argv[1], sys.argv[2]
parts = urllib.parse.urlsplit(url)
user = token[len("flt_"):].split(".", 1)[0]
failures = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + str(detail)[:300]))
    if not ok:
        failures.append(name)


def connect():
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)


# The valid token checked once, so it is known.
conn = connect()
conn.request("GET", "/api/v1/models?limit=1", headers={"Authorization": "Bearer " + token})
r = conn.getresponse()
r.read()
check("the valid token: 200", r.status == 200, r.status)
conn.close()

lock = threading.Lock()
answered = []  # (label, status, headers, body) in the order the answers came back


def collect(label, c):
    try:
        r = c.getresponse()
        body = r.read()
        item = (label, r.status, dict(r.getheaders()), body)
    except Exception as e:  # noqa: BLE001 - recorded as a failure
        item = (label, -1, {}, repr(e).encode())
    with lock:
        answered.append(item)


# Every wrong token sent (each on its own connection) before the two others.
BOGUS = 40
pending = []
for i in range(BOGUS):
    c = connect()
    c.request("GET", "/api/v1/models?limit=1", headers={"Authorization": f"Bearer flt_{user}.wrong{i}"})
    pending.append((f"wrong{i}", c))
health = connect()
health.request("GET", "/healthz")
pending.append(("healthz", health))
known = connect()
known.request("GET", "/api/v1/models?limit=1", headers={"Authorization": "Bearer " + token})
pending.append(("known", known))
threads = [threading.Thread(target=collect, args=p) for p in pending]
for t in threads:
    t.start()
for t in threads:
    t.join(180)
check("every request answered", len(answered) == len(pending), len(answered))
order = [a[0] for a in answered]
status = {a[0]: a[1] for a in answered}
check("/healthz: 200", status.get("healthz") == 200, status.get("healthz"))
check("the known token: 200", status.get("known") == 200, status.get("known"))
wrong = [a for a in answered if a[0].startswith("wrong")]
refused = [a for a in wrong if a[1] == 401]
busy = [a for a in wrong if a[1] == 503]
check("every wrong token 401 or 503", len(refused) + len(busy) == BOGUS, [a[1] for a in wrong])
check("some wrong tokens checked (401)", len(refused) > 0, len(refused))
check("the checks beyond the bound answered 503", len(busy) > 0, len(busy))
for a in busy[:3]:
    problem = json.loads(a[3] or b"{}")
    check(f"{a[0]}: 503 with Retry-After", a[2].get("Retry-After") == "1", a[2])
    check(f"{a[0]}: a problem document naming authorization", "authorization" in json.dumps(problem), problem)
if refused and "healthz" in order and "known" in order:
    # Not a latency figure: the order of the answers. Half the wrong tokens' checks (or more) are
    # still pending when the two are answered (before, every check ahead of them on their I/O
    # thread ran first, so they came back after all or nearly all of them).
    checked_at = [order.index(a[0]) for a in refused]
    for label in ("healthz", "known"):
        later = sum(1 for i in checked_at if i > order.index(label))
        check(f"{label} answered while most wrong tokens were still being checked", later * 2 >= len(refused),
              f"{later} of {len(refused)} after it: {order}")
for _, c in pending:
    c.close()
sys.exit(1 if failures else 0)
