"""What tests/server/*_test.py share: one HTTP call to a running `flopline serve`,
and a tally of named checks that ends the run with the failures listed."""
import json
import sys
import urllib.error
import urllib.request


def call(url, method, path, body=None, headers=None, timeout=60):
    """(status, headers, body bytes); an HTTP error status is an answer, not an exception. Unlike
    http_call.request (api_test.py's), the headers stay a message, so that a repeated header (the two
    Set-Cookie of a login) can be read with get_all."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


class Checks:
    def __init__(self):
        self.passed, self.failures = 0, []

    def __call__(self, name, cond, detail=""):
        if cond:
            self.passed += 1
        else:
            self.failures.append(name + (": " + detail if detail else ""))

    def finish(self):
        print(f"{self.passed} passed, {len(self.failures)} failed")
        for f in self.failures:
            print("FAIL", f)
        sys.exit(1 if self.failures else 0)
