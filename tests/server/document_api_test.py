#!/usr/bin/env python3
"""The document routes from the outside, against a running `flopline serve` whose workspace holds the
example models imported with `flopline import` and the example evidence (tests/cli/serve_api_test.sh
starts it). Usage: document_api_test.py BASE_URL TOKENS_JSON

- a covered model's kinds with their completeness: the statement of compliance owed, its missing
  elements named (text to write, the signatory), elements found complete;
- filing the statement with text, a list and a redaction: the public copy withholds the redacted
  element (its ground and why said), escapes what people wrote, the original holds everything; the
  proof checks the record, both copies and (after a checkpoint) the signed checkpoint;
- signing it (the named signer only; a board member may sign it, not a document whose statute names
  no signer); the PDF of the public copy;
- bad input: a problem naming the field, and nothing stored changed.
"""
import json
import sys

from checks import Checks
from http_call import request

base, tokens_path = sys.argv[1], sys.argv[2]
tokens = json.load(open(tokens_path))
STATEMENT = "sb1047-statement-of-compliance"
MODEL = "acme-f1"


def call(method, path, body=None, token=None, raw=None):
    return request(base + path, method, body, token or tokens["compliance-officer"], raw=raw, timeout=120)


check = Checks()  # a tally of named checks; check.finish() ends the run


def problem(name, status, body, want_status, field):
    doc = {}
    try:
        doc = json.loads(body)
    except ValueError:
        pass
    ok = status == want_status and any(e.get("field") == field for e in doc.get("errors", []))
    check(name, ok, f"got {status} {body[:300]!r}, want {want_status} naming {field!r}")


def evidence():
    return call("GET", "/api/v1/evidence?limit=1000")[2]


# --- the kinds of a covered model, with what is missing -------------------------------------------
s, h, b = call("GET", f"/api/v1/models/{MODEL}/documents")
check("list", s == 200, f"{s} {b[:300]!r}")
listing = json.loads(b) if s == 200 else {"documents": []}
kinds = {d["kind"]: d for d in listing["documents"]}
check("every kind listed", len(kinds) == 11, f"{sorted(kinds)}")
st = kinds.get(STATEMENT, {})
check("statement owed by a covered model", st.get("owed") is True and st.get("status") == "covered-model", f"{st.get('status')}")
missing = {i["element"]: i for i in st.get("incomplete", [])}
for element in ("f2A", "f2B", "f2C", "signatory"):
    check(f"statement lists {element} as missing", element in missing, f"{sorted(missing)}")
check("the missing text says what to write", "fill" in missing.get("f2A", {}).get("why", ""), f"{missing.get('f2A')}")
elements = {e["id"]: e for e in st.get("elements", [])}
check("facts found are complete", elements.get("model", {}).get("state") == "complete", f"{elements.get('model')}")
check("elements carry their clause", elements.get("f2A", {}).get("cite") == "§22603(f)(2)(A)", f"{elements.get('f2A')}")

s, h, b = call("GET", f"/api/v1/models/{MODEL}/documents/{STATEMENT}?format=html")
check("draft html", s == 200 and h.get("Content-Type", "").startswith("text/html") and b"DRAFT" in b, f"{s}")
check("draft html is sandboxed", "sandbox" in h.get("Content-Security-Policy", ""), f"{h}")

# --- bad input: a problem naming the field, nothing stored ---------------------------------------
before = evidence()
FILL = {"signatory": {"name": "Dana Reyes", "role": "Chief Technology Officer"}}
for name, path, body, status, field in [
    ("unknown kind", f"/api/v1/models/{MODEL}/documents/no-such-kind", {"fill": FILL}, 404, "kind"),
    ("unknown model", f"/api/v1/models/nobody/documents/{STATEMENT}", {"fill": FILL}, 404, "id"),
    ("unknown field", f"/api/v1/models/{MODEL}/documents/{STATEMENT}", {"fill": FILL, "sign": True}, 400, "sign"),
    ("bad date", f"/api/v1/models/{MODEL}/documents/{STATEMENT}", {"fill": FILL, "as_of": "2026-13-01"}, 400, "as_of"),
    ("unknown element", f"/api/v1/models/{MODEL}/documents/{STATEMENT}",
     {"fill": dict(FILL, elements={"zz": "x"})}, 400, "fill.elements.zz"),
    ("element filled from the record", f"/api/v1/models/{MODEL}/documents/{STATEMENT}",
     {"fill": dict(FILL, elements={"model": "x"})}, 400, "fill.elements.model"),
    ("text for a list", f"/api/v1/models/{MODEL}/documents/{STATEMENT}",
     {"fill": dict(FILL, elements={"f2C": "one text"})}, 400, "fill.elements.f2C"),
    ("empty text", f"/api/v1/models/{MODEL}/documents/{STATEMENT}",
     {"fill": dict(FILL, elements={"f2A": "  "})}, 400, "fill.elements.f2A"),
    ("bad ground", f"/api/v1/models/{MODEL}/documents/{STATEMENT}",
     {"fill": dict(FILL, redact={"f2B": {"ground": "embarrassment"}})}, 400, "fill.redact.f2B.ground"),
    ("no signatory", f"/api/v1/models/{MODEL}/documents/{STATEMENT}", {"fill": {}}, 400, "fill.signatory"),
    ("signatory without role", f"/api/v1/models/{MODEL}/documents/{STATEMENT}",
     {"fill": {"signatory": {"name": "Dana Reyes"}}}, 400, "fill.signatory.role"),
    ("incomplete refused when asked", f"/api/v1/models/{MODEL}/documents/{STATEMENT}",
     {"fill": FILL, "fail_if_incomplete": True}, 409, "fill"),
]:
    s, h, b = call("POST", path, body)
    problem("file: " + name, s, b, status, field)
s, h, b = call("POST", f"/api/v1/models/{MODEL}/documents/{STATEMENT}", raw=b"{not json")
problem("file: not json", s, b, 400, "body")
s, h, b = call("GET", f"/api/v1/models/{MODEL}/documents/{STATEMENT}?format=docx")
problem("draft: bad format", s, b, 400, "format")
s, h, b = call("GET", "/api/v1/documents/abc/proof")
problem("proof: bad index", s, b, 400, "index")
s, h, b = call("GET", "/api/v1/documents/0/proof")
problem("proof: not a document", s, b, 400, "index")
check("nothing stored by bad input", evidence() == before)

# --- file the statement: text, a list, a redaction; user text with markup ------------------------
FILLED = {"signatory": {"name": "Dana Reyes", "role": "Chief Technology Officer"},
          "elements": {"f2A": "The assessment found <script>alert(1)</script> no critical capability.",
                       "f2B": "Residual risk lies in under-elicited evaluations (margins: 0.5x).",
                       "f2C": ["Reviewed the protocol.", "Observed the quarterly drill."]},
          "redact": {"f2B": {"ground": "trade-secret", "why": "names the evaluation margins"}}}
s, h, b = call("POST", f"/api/v1/models/{MODEL}/documents/{STATEMENT}", {"fill": FILLED})
check("file", s == 201, f"{s} {b[:400]!r}")
filed = json.loads(b) if s == 201 else {}
index = filed.get("index", 0)
check("filed as a statement-of-compliance record", filed.get("kind") == "statement-of-compliance", f"{filed}")
check("filed complete", filed.get("complete") is True, f"{filed.get('incomplete')}")

s, h, b = call("GET", f"/api/v1/documents/{index}/public")
public = b.decode()
check("public copy", s == 200, f"{s}")
check("public copy withholds f2B", "margins: 0.5x" not in public and 'data-redacted="trade-secret"' in public)
check("public copy says why", "names the evaluation margins" in public)
check("user text is escaped", "<script>" not in public and "&lt;script&gt;alert(1)&lt;/script&gt;" in public)
s, h, b = call("GET", f"/api/v1/documents/{index}/original")
check("original holds everything", s == 200 and b"margins: 0.5x" in b, f"{s}")
s, h, b = call("GET", f"/api/v1/documents/{index}/original", token=tokens["engineer"])
problem("original refused to an engineer", s, b, 403, "role")
s, h, b = call("GET", f"/api/v1/documents/{index}/public", token=tokens["engineer"])
check("public copy read by an engineer", s == 200, f"{s}")

s, h, b = call("GET", f"/api/v1/documents/{index}/proof")
proof = json.loads(b) if s == 200 else {}
checks = {c["check"]: c["ok"] for c in proof.get("checks", [])}
check("proof: record, public copy, original", checks.get("record") and checks.get("public-copy") and checks.get("original"), f"{proof.get('checks')}")
check("proof: not yet in a checkpoint", checks.get("checkpoint") is False and proof.get("verified") is False)
s, h, b = call("POST", "/api/v1/checkpoint", raw=b"")
check("checkpoint", s == 201, f"{s} {b[:200]!r}")
s, h, b = call("GET", f"/api/v1/documents/{index}/proof")
proof = json.loads(b) if s == 200 else {}
check("proof verified after the checkpoint", proof.get("verified") is True, f"{proof.get('checks')}")
check("proof carries the inclusion proof", proof.get("proof", {}).get("index") == index and proof["proof"].get("hashes") is not None)

# --- signing ---------------------------------------------------------------------------------------
before = evidence()
s, h, b = call("POST", f"/api/v1/documents/{index}/signatures", {"signer": "Someone Else", "role": "CEO"})
problem("sign: not the named signer", s, b, 400, "signer")
s, h, b = call("POST", f"/api/v1/documents/{index}/signatures", {"signer": "Dana Reyes"})
problem("sign: no role", s, b, 400, "role")
s, h, b = call("POST", f"/api/v1/documents/{index}/signatures", {"signer": "Dana Reyes", "role": "CTO"},
               token=tokens["auditor"])
problem("sign: an auditor is refused", s, b, 403, "role")
check("nothing stored by refused signatures", evidence() == before)
s, h, b = call("POST", f"/api/v1/documents/{index}/signatures",
               {"signer": "Dana Reyes", "role": "Chief Technology Officer"}, token=tokens["board"])
check("sign as the board", s == 201, f"{s} {b[:300]!r}")
s, h, b = call("GET", f"/api/v1/documents/{index}/proof")
sigs = json.loads(b).get("signatures", []) if s == 200 else []
check("the proof lists the signature", [x["signer"] for x in sigs] == ["Dana Reyes"], f"{sigs}")
s, h, b = call("GET", f"/api/v1/models/{MODEL}/documents")
st = {d["kind"]: d for d in json.loads(b)["documents"]}.get(STATEMENT, {}) if s == 200 else {}
versions = [f["index"] for f in st.get("filed", [])]
check("the listing shows the filed version", index in versions, f"{versions}")
check("the listing shows its signature", any(f["signatures"] for f in st.get("filed", [])), f"{st.get('filed')}")
check("the next version counts it", st.get("next_version", 0) >= 2, f"{st.get('next_version')}")

# A board member signs only a document whose statute names its signer: not the SSP.
s, h, b = call("POST", f"/api/v1/models/{MODEL}/documents/sb1047-ssp", {})
ssp = json.loads(b).get("index") if s == 201 else None
check("file an SSP draft", s == 201, f"{s} {b[:300]!r}")
s, h, b = call("POST", f"/api/v1/documents/{ssp}/signatures", {"signer": "Bo Board", "role": "Director"},
               token=tokens["board"])
problem("sign: the board may not sign the SSP", s, b, 403, "role")

# --- the PDF of the public copy --------------------------------------------------------------------
s, h, b = call("GET", f"/api/v1/documents/{index}/public?format=pdf")
check("public pdf", s == 200 and h.get("Content-Type") == "application/pdf" and b.startswith(b"%PDF-"), f"{s} {b[:100]!r}")

check.finish()
