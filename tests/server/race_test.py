#!/usr/bin/env python3
"""Two replicas of `flopline serve` on one store changing the same model at once (issue 13): no change
is lost. Usage: race_test.py REPLICA_A_URL REPLICA_B_URL ADMIN_TOKEN

- a conditional change (PUT with If-Match: the model's ETag) made from a version another replica has
  changed since is refused: 409, a problem document naming "if-match" and the model;
- two conditional changes stating the same version, sent at the same instant to the two replicas:
  exactly one is written, the other is refused with 409 (repeated);
- events recorded on one replica while the other changes the model, unconditionally and
  conditionally, many at once: every acknowledged event is in the model afterwards, and no two
  written conditional changes stated the same version (each was made from the state it replaced).
"""
import json
import sys
import threading

from checks import Checks, call as http

a, b, token = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks()


def call(url, method, path, body=None, headers=None):
    return http(url, method, path, body, dict(headers or {}, Authorization="Bearer " + token))


MODEL = {"id": "race", "developer": "Race AI", "developer_revenue_usd": 1e9,
         "training": [{"kind": "pretrain", "start": "2026-01-01", "flop": 1e25}]}


def model(revenue):
    return dict(MODEL, developer_revenue_usd=revenue)


def read(url):
    s, h, body = call(url, "GET", "/api/v1/models/race")
    return s, h.get("ETag"), json.loads(body) if s == 200 else None


s, h, body = call(a, "POST", "/api/v1/models", MODEL)
check("create the model", s == 201, f"{s} {body[:200]!r}")

# --- a change made from a version changed since on the other replica --------------------------------
s, tag, m = read(a)
check("GET gives the version as ETag and in the body", s == 200 and tag == f'"v{m["version"]}"', f"{tag} {m}")
s, h, body = call(b, "PUT", "/api/v1/models/race", model(2e9), {"If-Match": tag})
check("a conditional change from the current version is written", s == 200 and h.get("ETag") != tag,
      f"{s} {body[:200]!r}")
s, h, body = call(a, "PUT", "/api/v1/models/race", model(3e9), {"If-Match": tag})
doc = json.loads(body) if body else {}
check("a change from a stale version is a 409 naming the model",
      s == 409 and h.get("Content-Type", "").startswith("application/problem+json") and
      any(e.get("field") == "if-match" for e in doc.get("errors", [])) and "'race'" in doc.get("detail", ""),
      f"{s} {body[:300]!r}")
s, _, m = read(b)
check("and nothing of it was written", m["developer_revenue_usd"] == 2e9, f"{m}")
s, h, body = call(a, "PUT", "/api/v1/models/race", model(3e9), {"If-Match": "v1"})
check("an If-Match that is not a version tag is a 400 naming it",
      s == 400 and any(e.get("field") == "if-match" for e in json.loads(body).get("errors", [])), f"{s} {body[:200]!r}")

# --- the same version, stated on both replicas at the same instant: exactly one is written ----------
for round_ in range(12):
    s, tag, m = read(a if round_ % 2 else b)
    barrier = threading.Barrier(2)
    results = [None, None]

    def put(i, url):
        barrier.wait()
        results[i] = call(url, "PUT", "/api/v1/models/race", model(1e10 + round_ * 10 + i), {"If-Match": tag})[0]

    threads = [threading.Thread(target=put, args=(0, a)), threading.Thread(target=put, args=(1, b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(f"round {round_}: one of two simultaneous changes from one version is written, the other refused",
          sorted(results) == [200, 409], f"{results}")

# --- events on one replica while the other changes the model, many at once ------------------------
acked, written_from, lock = [], [], threading.Lock()
errors = []


def send(url, method, path, body, headers=None):
    """A client told 503 (the log kept growing under its change) retries, as the API says."""
    for _ in range(20):
        s, h, answer = call(url, method, path, body, headers)
        if s != 503:
            break
        with lock:
            busy[0] += 1
    return s, h, answer


busy = [0]


def record_events(url, worker):
    for i in range(40):
        at = "2026-%02d-%02dT%02d:%02d:00Z" % (2 + worker, 1 + i // 24, i % 24, worker)
        s, _, body = send(url, "POST", "/api/v1/events", {"model": "race", "kind": "training-started", "at": at})
        if s == 201:
            with lock:
                acked.append(at)
        else:
            errors.append(f"event {s} {body[:200]!r}")


def change(url, worker, conditional):
    # A conditional writer does what a client told 409 does: reads the model again and retries,
    # until it has written 10 changes (the events stop after 160, so it gets its turn).
    written, attempts = 0, 0
    while written < (10 if conditional else 25) and attempts < 2000:
        attempts += 1
        headers = {}
        if conditional:
            s, tag, _ = read(url)
            headers = {"If-Match": tag}
        s, _, body = send(url, "PUT", "/api/v1/models/race", model(2e10 + worker * 10000 + attempts), headers)
        if s == 200:
            written += 1
            if conditional:
                with lock:
                    written_from.append(headers["If-Match"])
        elif s != 409 or not conditional:
            errors.append(f"change {s} {body[:200]!r}")
            return


workers = [threading.Thread(target=record_events, args=(b, w)) for w in range(3)]
workers += [threading.Thread(target=record_events, args=(a, 3))]
workers += [threading.Thread(target=change, args=(a, 0, False)), threading.Thread(target=change, args=(b, 1, True)),
            threading.Thread(target=change, args=(a, 2, True))]
for t in workers:
    t.start()
for t in workers:
    t.join()
check("every request answered 201, 200 or (conditional) 409", not errors, "; ".join(errors[:3]))
print(f"{busy[0]} answers of 503 (log busy) retried")
for url, name in ((a, "A"), (b, "B")):
    s, _, m = read(url)
    have = {e["at"] for e in m["events"]}
    lost = [e for e in acked if e not in have]
    check(f"every acknowledged event is in the model on replica {name}", acked and not lost,
          f"{len(acked)} acknowledged, {len(lost)} lost, e.g. {lost[:3]}")
check("each conditional writer wrote its 10 changes, re-reading after each 409", len(written_from) == 20,
      f"{len(written_from)}")
check("no two written conditional changes were made from the same version",
      len(written_from) == len(set(written_from)), f"{written_from}")

check.finish()
