#!/usr/bin/env python3
"""The workspace API from the outside, against a running `flopline serve` (tests/cli/serve_api_test.sh
starts it). Usage: api_test.py BASE_URL TOKENS_JSON OPENAPI_JSON [SECOND_REPLICA_URL]

- every route of the OpenAPI document (the server's one route table) x every role: allowed roles get
  2xx, refused ones a 403 problem document naming "role", no credentials a 401;
- bad input (invalid JSON, unknown fields, wrong types, bad values, oversize bodies, bad query
  parameters): a 4xx problem document naming the field, and nothing stored changed;
- sessions: login, the cookie's attributes, CSRF required on unsafe methods, logout;
- ETags (If-None-Match -> 304), pagination (limit + cursor), server-sent events;
- with a second replica on the same PostgreSQL: a write on one is read on the other.
"""
import json
import sys
import urllib.error
import urllib.request

from checks import Checks
from http_call import request

base, tokens_path, openapi_path = sys.argv[1], sys.argv[2], sys.argv[3]
replica = sys.argv[4] if len(sys.argv) > 4 else None
tokens = json.load(open(tokens_path))
openapi = json.load(open(openapi_path))
ROLES = ["developer-admin", "compliance-officer", "engineer", "auditor", "board", "regulator-readonly"]


def call(method, path, body=None, token=None, headers=None, raw=None, url=None, timeout=30):
    return request((url or base) + path, method, body, token, headers, raw, timeout)


check = Checks()  # a tally of named checks; check.finish() ends the run


def problem(name, status, headers, body, want_status, field=None):
    ok = status == want_status and headers.get("Content-Type", "").startswith("application/problem+json")
    doc = {}
    if ok:
        doc = json.loads(body)
        ok = doc.get("status") == want_status and "title" in doc and "detail" in doc
        if field is not None:
            ok = ok and any(e.get("field") == field for e in doc.get("errors", []))
    check(name, ok, f"got {status} {body[:300]!r}, want {want_status} naming {field!r}")
    return doc


admin = tokens["developer-admin"]
engineer = tokens["engineer"]

# --- the seed the walk reads: a model with a base, an event, an evidence record -------------------
MODEL = {"id": "walk-base", "developer": "Walk AI", "developer_revenue_usd": 2e9, "foundation_model": True,
         "training": [{"kind": "pretrain", "start": "2026-02-01", "flop": 2e26, "cost_usd": 2e8}]}
s, h, b = call("POST", "/api/v1/models", MODEL, admin)
check("seed model", s == 201, f"{s} {b[:300]!r}")
s, h, b = call("POST", "/api/v1/evidence", {"kind": "ssp", "model": "walk-base",
                                            "document": {"version": 1, "text": "protocol"}}, admin)
check("seed evidence", s == 201, f"{s} {b[:300]!r}")
evidence_index = json.loads(b)["index"] if s == 201 else 0
# A filed statement of compliance (the document routes' {index}; tests/server/document_api_test.py
# tests them further).
STATEMENT = "sb1047-statement-of-compliance"
FILL = {"signatory": {"name": "Dana Reyes", "role": "Chief Technology Officer"}}
s, h, b = call("POST", f"/api/v1/models/walk-base/documents/{STATEMENT}", {"fill": FILL}, admin)
check("seed document", s == 201, f"{s} {b[:300]!r}")
document_index = json.loads(b)["index"] if s == 201 else 0

counter = [0]


def sample(method, pattern):
    """A valid request for a route: (path, body)."""
    counter[0] += 1
    n = counter[0]
    path = pattern.replace("{id}", "walk-base").replace("{index}", str(evidence_index))
    path = path.replace("{run}", "walk-run")  # metered into the store by serve_api_test.sh (meter_seed)
    if "{kind}" in pattern or pattern.startswith("/api/v1/documents/"):
        path = pattern.replace("{id}", "walk-base").replace("{kind}", STATEMENT).replace("{index}", str(document_index))
        if method == "POST" and pattern.endswith("/signatures"):
            return path, {"signer": "Dana Reyes", "role": "Chief Technology Officer"}
        if method == "POST":
            return path, {"fill": FILL}
        return path, None
    if method == "POST" and pattern == "/api/v1/models":
        return path, {"id": f"walk-{n}", "developer": "Walk AI", "base": "walk-base", "derivation": "fine-tune",
                      "training": [{"kind": "fine-tune", "start": "2026-05-01", "flop": 1e24}]}
    if method == "PUT":
        m = dict(MODEL)
        m["developer_revenue_usd"] = 2e9 + n
        return path, m
    if method == "POST" and pattern == "/api/v1/events":
        return path, {"model": "walk-base", "kind": "training-started", "at": f"2026-02-01T00:00:{n % 60:02d}Z"}
    if method == "POST" and pattern == "/api/v1/evidence":
        return path, {"kind": "test-results", "model": "walk-base", "document": {"test": f"t{n}", "passed": True}}
    if method == "POST" and pattern == "/api/v1/checkpoint":
        return path, None
    if pattern.endswith("/determination"):
        return path + "?as_of=2026-11-23", None
    return path, None


def stream_opens(token):
    req = urllib.request.Request(base + "/api/v1/events/stream")
    req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            first = r.read(16)
            return r.status, r.headers.get("Content-Type", ""), first
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


# --- every route x every role --------------------------------------------------------------------
for pattern, ops in openapi["paths"].items():
    for method, op in ops.items():
        method = method.upper()
        allowed = op["x-roles"]
        if pattern == "/api/v1/session" and method == "POST":
            continue  # login: the session checks below
        for role in ROLES + [None]:
            path, body = sample(method, pattern)
            name = f"{method} {pattern} as {role}"
            if pattern == "/api/v1/events/stream":
                if role is None:
                    s, ctype, first = stream_opens("")
                    check(name, s == 401, f"{s}")
                else:
                    s, ctype, first = stream_opens(tokens[role])
                    if role in allowed:
                        check(name, s == 200 and ctype.startswith("text/event-stream") and first.startswith(b":"),
                              f"{s} {ctype} {first!r}")
                    else:
                        check(name, s == 403, f"{s}")
                continue
            s, h, b = call(method, path, body, tokens[role] if role else None,
                           raw=b"" if (method == "POST" and body is None) else None)
            if "anyone" in allowed:
                check(name, 200 <= s < 300, f"{s} {b[:200]!r}")
            elif role is None:
                problem(name, s, h, b, 401, "authorization")
            elif role in allowed:
                check(name, 200 <= s < 300, f"{s} {b[:300]!r}")
            else:
                problem(name, s, h, b, 403, "role")

# --- bad input: a problem naming the field, nothing stored changed ------------------------------
def state():
    return (call("GET", "/api/v1/models?limit=1000", token=engineer)[2],
            call("GET", "/api/v1/events?limit=1000", token=engineer)[2],
            call("GET", "/api/v1/evidence?limit=1000", token=engineer)[2])


before = state()
bad_models = [
    ("invalid json", b"{\"id\": ", "body"),
    ("not an object", b"[1, 2]", "body"),
    ("unknown field", json.dumps({"id": "x1", "developer": "D", "flops": 1}).encode(), "flops"),
    ("missing id", json.dumps({"developer": "D"}).encode(), "id"),
    ("id wrong type", json.dumps({"id": 7, "developer": "D"}).encode(), "id"),
    ("revenue wrong type", json.dumps({"id": "x2", "developer": "D", "developer_revenue_usd": "lots"}).encode(),
     "developer_revenue_usd"),
    ("stage unknown field", json.dumps({"id": "x3", "developer": "D", "training": [
        {"kind": "pretrain", "start": "2026-01-01", "flop": 1e25, "gpus": 8}]}).encode(), "training[0].gpus"),
    ("stage negative flop", json.dumps({"id": "x4", "developer": "D", "training": [
        {"kind": "pretrain", "start": "2026-01-01", "flop": -1}]}).encode(), "training[0].flop"),
    ("stage bad date", json.dumps({"id": "x5", "developer": "D", "training": [
        {"kind": "pretrain", "start": "2026-13-01", "flop": 1e25}]}).encode(), "training[0].start"),
    ("unknown base", json.dumps({"id": "x6", "developer": "D", "base": "nobody", "derivation": "fine-tune"}).encode(),
     "base"),
    ("bad derivation", json.dumps({"id": "x7", "developer": "D", "derivation": "magic"}).encode(), "derivation"),
    ("huge money", json.dumps({"id": "x8", "developer": "D", "developer_revenue_usd": 1e300}).encode(),
     "developer_revenue_usd"),
]
for name, raw, field in bad_models:
    s, h, b = call("POST", "/api/v1/models", raw=raw, token=admin)
    problem("POST model: " + name, s, h, b, 400, field)
s, h, b = call("POST", "/api/v1/models", MODEL, admin)
problem("POST model: duplicate id", s, h, b, 409, "id")
s, h, b = call("PUT", "/api/v1/models/walk-base", dict(MODEL, id="other"), admin)
problem("PUT model: id differs from the path", s, h, b, 400, "id")
s, h, b = call("PUT", "/api/v1/models/nobody", dict(MODEL, id="nobody"), admin)
problem("PUT model: no such model", s, h, b, 404, "id")
s, h, b = call("PUT", "/api/v1/models/walk-base", dict(MODEL, base="walk-1", derivation="fine-tune"), admin)
problem("PUT model: a lineage cycle", s, h, b, 400, "base")
for name, body, field in [
    ("unknown kind", {"model": "walk-base", "kind": "exploded", "at": "2026-03-01T00:00:00Z"}, "kind"),
    ("unknown model", {"model": "nobody", "kind": "released", "at": "2026-03-01T00:00:00Z"}, "model"),
    ("bad time", {"model": "walk-base", "kind": "released", "at": "yesterday"}, "at"),
    ("future", {"model": "walk-base", "kind": "released", "at": "2099-01-01T00:00:00Z"}, "at"),
    ("unknown field", {"model": "walk-base", "kind": "released", "at": "2026-03-01T00:00:00Z", "by": "me"}, "by"),
    ("wrong type", {"model": "walk-base", "kind": 3, "at": "2026-03-01T00:00:00Z"}, "kind"),
]:
    s, h, b = call("POST", "/api/v1/events", body, admin)
    problem("POST event: " + name, s, h, b, 404 if name == "unknown model" else 400, field)
for name, body, field in [
    ("unknown kind", {"kind": "selfie", "document": {"a": 1}}, "kind"),
    ("no document", {"kind": "ssp"}, "document"),
    ("document wrong type", {"kind": "ssp", "document": 5}, "document"),
    ("missing required field", {"kind": "statement-of-compliance", "model": "walk-base", "document": {"signer": "x"}},
     "role"),
    ("internal kind", {"kind": "workspace-user", "document": {"name": "x"}}, "kind"),
    ("unknown field", {"kind": "ssp", "document": "x", "model": "walk-base", "extra": 1}, "extra"),
    ("bad ground", {"kind": "ssp", "model": "walk-base", "document": {"a": 1}, "redactions": {"a": "because"}},
     None),
]:
    s, h, b = call("POST", "/api/v1/evidence", body, admin)
    problem("POST evidence: " + name, s, h, b, 400, field)
s, h, b = call("POST", "/api/v1/models", raw=b"{\"id\": \"big\", \"developer\": \"" + b"x" * (2 << 20) + b"\"}",
               token=admin)
problem("POST model: oversize body", s, h, b, 413, "body")
s, h, b = call("POST", "/api/v1/models", raw=json.dumps(MODEL).encode(), token=admin,
               headers={"Content-Type": "text/plain"})
problem("POST model: not JSON content", s, h, b, 400, "content-type")
for name, path, field in [("limit", "/api/v1/models?limit=0", "limit"), ("limit text", "/api/v1/models?limit=ten", "limit"),
                          ("as_of", "/api/v1/models/walk-base/determination?as_of=2026-02-30", "as_of"),
                          ("unknown parameter", "/api/v1/models?colour=red", "colour"),
                          ("unknown regime", "/api/v1/models?regime=atlantis", "regime"),
                          ("proof index", "/api/v1/evidence/abc/proof", "index"),
                          ("proof tree size", f"/api/v1/evidence/{evidence_index}/proof?tree_size=99999999", "tree_size")]:
    s, h, b = call("GET", path, token=engineer)
    problem("GET bad " + name, s, h, b, 400, field)
s, h, b = call("GET", "/api/v1/models/nobody", token=engineer)
problem("GET unknown model", s, h, b, 404, "id")
s, h, b = call("GET", "/api/v1/nothing", token=engineer)
problem("GET unknown path", s, h, b, 404, "path")
s, h, b = call("PATCH", "/api/v1/models/walk-base", MODEL, engineer)
problem("PATCH not allowed", s, h, b, 405, "method")
s, h, b = call("GET", "/api/v1/models", headers={"Authorization": "Basic eDp5"})
problem("Basic auth refused", s, h, b, 401, "authorization")
s, h, b = call("GET", "/api/v1/models", token="flt_engineer.forged")
problem("forged token refused", s, h, b, 401, "authorization")
check("bad input changed nothing", state() == before)

# --- determination, obligations, ETag, pagination ------------------------------------------------
s, h, b = call("GET", "/api/v1/models/walk-base/determination?as_of=2026-11-23", token=engineer)
det = json.loads(b)
check("determination shape", s == 200 and det["model"]["id"] == "walk-base" and
      all("status" in d and "obligations" in d for d in det["model"]["determinations"]), b[:300])
etag = h.get("ETag")
s2, h2, b2 = call("GET", "/api/v1/models/walk-base/determination?as_of=2026-11-23", token=engineer,
                  headers={"If-None-Match": etag or "none"})
check("ETag -> 304", etag and s2 == 304 and b2 == b"", f"{etag} {s2}")
import gzip
s3, h3, b3 = call("GET", "/api/v1/models/walk-base/determination?as_of=2026-11-23", token=engineer,
                  headers={"Accept-Encoding": "gzip"})
gz_tag = h3.get("ETag", "")
check("gzip when accepted: the same JSON, its own ETag",
      s3 == 200 and h3.get("Content-Encoding") == "gzip" and "Accept-Encoding" in h3.get("Vary", "") and
      gzip.decompress(b3) == b and len(b3) < len(b) and gz_tag.endswith('-gz"') and gz_tag != etag,
      f"{s3} {h3.get('Content-Encoding')} {gz_tag}")
s4, h4, b4 = call("GET", "/api/v1/models/walk-base/determination?as_of=2026-11-23", token=engineer,
                  headers={"Accept-Encoding": "gzip", "If-None-Match": gz_tag})
check("the gzip ETag -> 304", s4 == 304, f"{s4}")
s5, h5, b5 = call("GET", "/api/v1/models/walk-base/determination?as_of=2026-11-23", token=engineer,
                  headers={"Accept-Encoding": "gzip;q=0, identity"})
check("gzip;q=0 is not compressed", s5 == 200 and "Content-Encoding" not in h5 and b5 == b, f"{s5}")
# The obligations calendar, paged: overdue first, then open ones soonest due, ... (docs/api.md).
s, h, b = call("GET", "/api/v1/obligations?as_of=2026-11-23&limit=1000", token=engineer)
calendar = json.loads(b)
obl = calendar["items"]
check("obligations listed", s == 200 and len(obl) >= 3 and calendar["next_cursor"] is None and
      all({"model", "regime", "id", "state", "overdue", "due", "cite", "text"} <= set(o) for o in obl), b[:300])
RANK = {"overdue": 0, "open": 1, "standing": 3, "met": 4, "met-late": 4}


def rank(o):
    r = RANK.get(o["state"], 5)
    return (2 if r == 1 and o["due"] is None else r), o["due"] or "~", o["model"], o["regime"], o["id"]


check("obligations in the calendar's order (overdue first, then soonest due)", [rank(o) for o in obl] == sorted(
    rank(o) for o in obl), [rank(o)[:2] for o in obl][:20])
check("obligations: total and groups count the list",
      calendar["total"] == len(obl) and sum(calendar["groups"].values()) == len(obl) and
      calendar["groups"]["overdue"] == sum(o["state"] == "overdue" for o in obl) and
      set(calendar["regimes"]) == {o["regime"] for o in obl}, f'{calendar["total"]} {calendar["groups"]}')
for role in ROLES:  # every role pages the same list
    seen, cursor, pages = [], None, 0
    while pages < 200:
        s, h, b = call("GET", "/api/v1/obligations?as_of=2026-11-23&limit=2" + (f"&cursor={cursor}" if cursor else ""),
                       token=tokens[role])
        if s != 200:
            break
        page = json.loads(b)
        seen += page["items"]
        cursor, pages = page["next_cursor"], pages + 1
        if cursor is None:
            break
    check(f"obligation pages cover the calendar once, in order, as {role}", s == 200 and seen == obl and pages > 1,
          f"{s} {pages} {len(seen)} {len(obl)}")
for name, query, keep in [
        ("regime", "regime=ca-sb1047", lambda o: o["regime"] == "ca-sb1047"),
        ("model", "model=walk-base", lambda o: o["model"] == "walk-base"),
        ("search", "search=walk-b", lambda o: "walk-b" in o["model"]),
        ("versions=current", "versions=current", lambda o: "@" not in o["regime"])]:
    s, h, b = call("GET", f"/api/v1/obligations?as_of=2026-11-23&limit=1000&{query}", token=engineer)
    got = json.loads(b)
    check(f"obligations filtered by {name}", s == 200 and got["items"] == [o for o in obl if keep(o)] and
          got["total"] == len(got["items"]), b[:300])
s, h, b = call("GET", "/api/v1/obligations?as_of=2026-11-23&limit=1&regime=ca-sb1047", token=engineer)
first = json.loads(b)
s, h, b = call("GET", f"/api/v1/obligations?as_of=2026-11-23&limit=1&regime=ca-sb1047&cursor={first['next_cursor']}",
               token=engineer)
second = json.loads(b)["items"]
wanted = [o for o in obl if o["regime"] == "ca-sb1047"][1:2]
check("a filtered page's cursor goes on within the filter", second == wanted, f"{second} {wanted}")
for name, query, status, field in [
        ("limit 0", "limit=0", 400, "limit"), ("limit text", "limit=many", 400, "limit"),
        ("limit over 1000", "limit=1001", 400, "limit"),
        ("cursor not hex", "cursor=zz", 400, "cursor"), ("cursor not a key", "cursor=7b7d", 400, "cursor"),
        ("cursor odd", "cursor=abc", 400, "cursor"), ("versions", "versions=old", 400, "versions"),
        ("regime", "regime=atlantis", 400, "regime"), ("model", "model=nobody", 404, "model"),
        ("as_of", "as_of=2026-02-30", 400, "as_of"), ("unknown parameter", "state=open", 400, "state")]:
    for role in ROLES:
        s, h, b = call("GET", f"/api/v1/obligations?{query}", token=tokens[role])
        problem(f"GET obligations: bad {name} as {role}", s, h, b, status, field)
ids, cursor, pages = [], None, 0
while pages < 100:
    s, h, b = call("GET", "/api/v1/models?limit=2" + (f"&cursor={cursor}" if cursor else ""), token=engineer)
    page = json.loads(b)
    ids += [m["id"] for m in page["items"]]
    cursor, pages = page["next_cursor"], pages + 1
    if cursor is None:
        break
s, h, b = call("GET", "/api/v1/models?limit=1000", token=engineer)
check("pagination covers the list once", ids == [m["id"] for m in json.loads(b)["items"]] and pages > 1, f"{pages}")
s, h, b = call("GET", "/api/v1/models?search=walk-base", token=engineer)
check("search", [m["id"] for m in json.loads(b)["items"]] == ["walk-base"], b[:200])
s, h, b = call("GET", "/api/v1/models?derived_from=walk-base&limit=1000", token=engineer)
derived = [m for m in json.loads(b)["items"]]
check("derived_from lists the model's derivatives, not itself",
      s == 200 and derived and all(m["base"] == "walk-base" for m in derived), b[:300])
s, h, b = call("GET", "/api/v1/models?derived_from=nobody", token=engineer)
problem("derived_from an unknown model", s, h, b, 404, "derived_from")
s, h, b = call("GET", "/api/v1/models?search=walk-base&as_of=2026-11-23", token=engineer)
regimes = json.loads(b)["items"][0]["determinations"]
check("the list gives each regime's margin and next deadline",
      regimes and all({"status", "covered", "margin", "next_deadline"} <= set(d) for d in regimes.values()) and
      any(d["margin"] for d in regimes.values()) and
      all(d["next_deadline"] is None or {"id", "due", "state"} <= set(d["next_deadline"]) for d in regimes.values()),
      b[:400])
s, h, b = call("GET", "/api/v1/models/walk-base/determination?as_of=2026-11-23", token=engineer)
full = {d["regime"]: d for d in json.loads(b)["model"]["determinations"]}
check("the list's statuses are the determination's", all(full[r]["status"] == d["status"] for r, d in regimes.items()),
      f"{regimes} {list(full)}")

# --- proofs check as RFC 9162 says ---------------------------------------------------------------
import base64
import hashlib


def root_from_inclusion(index, size, leaf_hash, proof):
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


s, h, b = call("POST", "/api/v1/checkpoint", token=admin, raw=b"")
check("sign checkpoint", s == 201, b[:200])
s, h, b = call("GET", f"/api/v1/evidence/{evidence_index}/proof", token=engineer)
p = json.loads(b)
leaf = base64.b64decode(p["leaf"])
root = root_from_inclusion(p["index"], p["tree_size"], hashlib.sha256(b"\x00" + leaf).digest(),
                           [base64.b64decode(x) for x in p["hashes"]])
check("inclusion proof verifies", root is not None and base64.b64encode(root).decode() == p["root"])

# --- sessions -----------------------------------------------------------------------------------
s, h, b = call("POST", "/api/v1/session", {"name": "engineer", "password": "wrong password!"})
problem("login with a wrong password", s, h, b, 401, "password")
s, h, b = call("POST", "/api/v1/session", {"name": "engineer", "password": tokens["engineer-password"]})
check("login", s == 201, b[:200])
req = urllib.request.Request(base + "/api/v1/session", data=json.dumps(
    {"name": "engineer", "password": tokens["engineer-password"]}).encode(), method="POST")
req.add_header("Content-Type", "application/json")
with urllib.request.urlopen(req) as r:
    set_cookies = r.headers.get_all("Set-Cookie")
    csrf = json.loads(r.read())["csrf_token"]
session = [c for c in set_cookies if c.startswith("flopline_session=")][0]
check("session cookie is HttpOnly SameSite=Strict", "HttpOnly" in session and "SameSite=Strict" in session)
cookie = session.split(";")[0]
s, h, b = call("GET", "/api/v1/me", headers={"Cookie": cookie})
check("me with the cookie", s == 200 and json.loads(b) == {"name": "engineer", "role": "engineer"}, b[:200])
event = {"model": "walk-base", "kind": "released", "at": "2026-06-01T09:00:00Z"}
s, h, b = call("POST", "/api/v1/events", event, headers={"Cookie": cookie})
problem("cookie write without CSRF", s, h, b, 403, "x-csrf-token")
# Another first character, whatever the token's was: a base64url token starts with "x" once in 64
# logins, and "x" + csrf[1:] was then the right token (a write the check expected refused went in).
wrong = ("y" if csrf[0] == "x" else "x") + csrf[1:]
s, h, b = call("POST", "/api/v1/events", event, headers={"Cookie": cookie, "X-CSRF-Token": wrong})
problem("cookie write with a wrong CSRF", s, h, b, 403, "x-csrf-token")
s, h, b = call("POST", "/api/v1/events", event, headers={"Cookie": cookie, "X-CSRF-Token": csrf})
check("cookie write with CSRF", s == 201, b[:200])
s, h, b = call("GET", "/api/v1/me", headers={"Cookie": "flopline_session=engineer.developer-admin.9999999999.AAAA.forged"})
problem("forged cookie", s, h, b, 401, "cookie")
s, h, b = call("DELETE", "/api/v1/session", headers={"Cookie": cookie, "X-CSRF-Token": csrf})
check("logout clears the cookie", s == 200 and "Max-Age=0" in h.get("Set-Cookie", ""), str(h))
s, h, b = call("GET", "/api/v1/me", headers={"Cookie": cookie})
problem("logout ends the session server side: its cookie is refused", s, h, b, 401, "cookie")

# --- the SSE stream pushes a change --------------------------------------------------------------
req = urllib.request.Request(base + "/api/v1/events/stream")
req.add_header("Authorization", "Bearer " + engineer)
with urllib.request.urlopen(req, timeout=30) as r:
    line = b""
    while not line.startswith(b"event: change"):
        line = r.readline()
    data = r.readline()
    first = json.loads(data[len(b"data: "):])
    call("POST", "/api/v1/events", {"model": "walk-base", "kind": "incident-discovered",
                                    "at": "2026-07-01T00:00:00Z"}, engineer)
    line = b""
    while not line.startswith(b"event: change"):
        line = r.readline()
    second = json.loads(r.readline()[len(b"data: "):])
check("SSE pushes the change", second["generation"] > first["generation"] and "overdue" in second, f"{first} {second}")

# --- an auditor's reads are logged ----------------------------------------------------------------
before = call("GET", "/api/v1/checkpoint", token=engineer)
call("GET", "/api/v1/models", token=tokens["auditor"])
s, h, b = call("POST", "/api/v1/checkpoint", token=admin, raw=b"")
size_after = json.loads(b)["size"]
s, h, b = call("POST", "/api/v1/checkpoint", token=admin, raw=b"")
check("an auditor's read is a log entry", json.loads(b)["size"] == size_after + 1)  # the signing is logged too

# --- a second replica on the same PostgreSQL sees the first's writes ------------------------------
if replica:
    m = {"id": "replica-written", "developer": "Replica AI",
         "training": [{"kind": "pretrain", "start": "2026-03-01", "flop": 3e25}]}
    s, h, b = call("POST", "/api/v1/models", m, admin)
    s2, h2, b2 = call("GET", "/api/v1/models/replica-written", token=engineer, url=replica)
    check("a write on one replica is read on the other", s == 201 and s2 == 200 and json.loads(b2)["id"] == m["id"],
          f"{s} {s2} {b2[:200]!r}")
    s, h, b = call("POST", "/api/v1/events", {"model": "replica-written", "kind": "released",
                                              "at": "2026-04-01T00:00:00Z"}, admin, url=replica)
    s2, h2, b2 = call("GET", "/api/v1/models/replica-written", token=engineer)
    check("and back", s == 201 and any(e["kind"] == "released" for e in json.loads(b2)["events"]), f"{s} {b2[:300]!r}")
    s, h, b = call("GET", "/api/v1/me", token=admin, url=replica)
    check("a token works on both replicas", s == 200)

check.finish()
