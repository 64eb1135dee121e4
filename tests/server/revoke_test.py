#!/usr/bin/env python3
"""Sessions and tokens ended before they expire (issue 13), against a running `flopline serve`:
- a logout ends that session server side: its cookie, even a copy kept elsewhere, is refused on every
  replica; the user's other sessions hold;
- `flopline user revoke` ends every session and the API token of a user at once (they may log in
  again, and be given a new token);
- `flopline user disable` ends them too and refuses the user's logins and tokens until `flopline
  user add` names them again (which gives back neither the old sessions nor the old token);
- a user given another role: their sessions under the old role end.
Usage: revoke_test.py URL FLOPLINE_BINARY STORE TOKENS_JSON [SECOND_REPLICA_URL] [-- STORE_FLAGS...]
"""
import json
import subprocess
import sys
import time

from checks import Checks, call as http

args = sys.argv[1:]
extra = []
if "--" in args:
    extra = args[args.index("--") + 1:]
    args = args[:args.index("--")]
base, binary, store, tokens_path = args[:4]
replica = args[4] if len(args) > 4 else None
tokens = json.load(open(tokens_path))
PASSWORD = "correct horse battery engineer"
check = Checks()
urls = [base] + ([replica] if replica else [])


def call(method, path, body=None, headers=None, url=None):
    return http(url or base, method, path, body, headers, timeout=30)


def login(name="engineer", password=PASSWORD):
    s, h, body = call("POST", "/api/v1/session", {"name": name, "password": password})
    if s != 201:
        return s, None, None
    cookie = [c for c in h.get_all("Set-Cookie") if c.startswith("flopline_session=")][0].split(";")[0]
    return s, cookie, json.loads(body)["csrf_token"]


def me_cookie(cookie, url=None):
    s, h, body = call("GET", "/api/v1/me", headers={"Cookie": cookie}, url=url)
    return s, json.loads(body) if body else {}


def me_token(token, url=None):
    return call("GET", "/api/v1/me", headers={"Authorization": "Bearer " + token}, url=url)[0]


def refused_cookie(name, cookie):
    for url in urls:
        s, doc = me_cookie(cookie, url)
        check(f"{name} ({url})", s == 401 and any(e.get("field") == "cookie" for e in doc.get("errors", [])),
              f"{s} {doc}")


def cli(*argv, stdin=None):
    return subprocess.run([binary, "user", *argv, "--store", store, *extra], input=stdin, capture_output=True,
                          text=True, timeout=120)


# --- logout ends one session, server side -------------------------------------------------------------
s, first, csrf = login()
s2, second, _ = login()
check("two sessions open", first and second, f"{s} {s2}")
s, _, _ = call("DELETE", "/api/v1/session", headers={"Cookie": first, "X-CSRF-Token": csrf})
check("logout", s == 200, f"{s}")
refused_cookie("a logged-out session's cookie is refused", first)
for url in urls:
    check(f"the user's other session holds ({url})", me_cookie(second, url)[0] == 200)
check("the token holds after a logout", me_token(tokens["engineer"]) == 200)

# --- user revoke: every session and the token end; a new login and a new token work ----------------
r = cli("revoke", "--name", "engineer")
check("user revoke", r.returncode == 0, r.stderr)
refused_cookie("a session open before `user revoke` is refused", second)
for url in urls:
    check(f"the token is refused after `user revoke` ({url})", me_token(tokens["engineer"], url) == 401)
time.sleep(1.1)  # a session issued in the second of the revocation counts as revoked
s, third, _ = login()
check("a new login after `user revoke` works", s == 201 and me_cookie(third)[0] == 200, f"{s}")
r = cli("token", "--name", "engineer")
new_token = r.stdout.strip()
check("a new token after `user revoke` works", r.returncode == 0 and me_token(new_token) == 200, r.stderr)

# --- user disable: sessions, tokens and logins refused until `user add` --------------------------------
r = cli("disable", "--name", "engineer")
check("user disable", r.returncode == 0, r.stderr)
refused_cookie("a session open before `user disable` is refused", third)
check("the token is refused after `user disable`", me_token(new_token) == 401)
s, h, body = call("POST", "/api/v1/session", {"name": "engineer", "password": PASSWORD})
check("a disabled user cannot log in", s == 401, f"{s} {body[:200]!r}")
r = cli("token", "--name", "engineer")
check("a disabled user is given no token", r.returncode != 0 and "disabled" in r.stderr, r.stderr)
r = cli("add", "--name", "engineer", "--role", "engineer", stdin=PASSWORD + "\n")
check("user add enables them again", r.returncode == 0, r.stderr)
time.sleep(1.1)
s, fourth, _ = login()
check("a login after `user add` works", s == 201 and me_cookie(fourth)[0] == 200, f"{s}")
check("the old token stays refused", me_token(new_token) == 401)
refused_cookie("the old session stays refused", third)

# --- another role: the sessions under the old one end -------------------------------------------------
r = cli("add", "--name", "engineer", "--role", "auditor", stdin=PASSWORD + "\n")
check("user add with another role", r.returncode == 0, r.stderr)
refused_cookie("a session under the old role is refused", fourth)
r = cli("add", "--name", "engineer", "--role", "engineer", stdin=PASSWORD + "\n")
r2 = cli("token", "--name", "engineer")
tokens["engineer"] = r2.stdout.strip()
json.dump(tokens, open(tokens_path, "w"))  # the suite's engineer token, for whatever runs after

check.finish()
