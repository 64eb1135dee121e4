#!/usr/bin/env python3
"""Checks for tests/cli/document_cli_test.sh: a document's elements by id and its facts against the
records they cite (read back with `flopline ledger show`), and its HTML against its JSON.

  document_check.py elements LIST_JSON KIND DOCUMENT_JSON HTML
  document_check.py facts FLOPLINE STORE DOCUMENT_JSON HTML ASSESS_JSON
  document_check.py fill LIST_JSON KIND OUT_TOML      (a fill file writing every element that takes text)
"""
import json
import os
import subprocess
import sys
import tomllib
from html.parser import HTMLParser


class Page(HTMLParser):
    """The sections (data-element, in order) and the facts (span.fact with their attributes and text)."""

    def __init__(self):
        super().__init__()
        self.sections, self.facts, self._fact, self.redacted = [], [], None, {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and "data-element" in a:
            self.sections.append(a["data-element"])
            if "data-redacted" in a:
                self.redacted[a["data-element"]] = a["data-redacted"]
        if tag == "span" and a.get("class") == "fact":
            self._fact = dict(a, text="")

    def handle_data(self, data):
        if self._fact is not None:
            self._fact["text"] += data

    def handle_endtag(self, tag):
        if tag == "span" and self._fact is not None:
            self.facts.append(self._fact)
            self._fact = None


def page(path):
    p = Page()
    with open(path, encoding="utf-8") as f:
        p.feed(f.read())
    return p


def kind_of(list_json, kind):
    kinds = json.load(open(list_json))
    matches = [k for k in kinds if k["id"] == kind]
    assert len(matches) == 1, f"kind {kind} listed {len(matches)} times"
    return matches[0]


def elements(list_json, kind, document_json, html):
    k = kind_of(list_json, kind)
    ids = [e["id"] for e in k["elements"]]
    doc = json.load(open(document_json))
    assert [o["id"] for o in doc["outline"]] == ids, (doc["outline"], ids)
    for e in k["elements"]:
        field = doc["element." + e["id"]]
        assert field["id"] == e["id"] and field["cite"] == e["cite"], (field, e)
        assert field["state"] in ("complete", "missing", "stale", "partial", "not-applicable"), field
    assert page(html).sections == ids, (page(html).sections, ids)


def toml_value(model_file, model, field, label, value):
    data = tomllib.loads(model_file)
    m = [x for x in data.get("model", []) if x["id"] == model]
    if field == "event.at":
        events = [e for e in data.get("event", []) if e["model"] == model and e["kind"] == label]
        stamps = [e["at"].strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(e["at"], "strftime") else str(e["at"]) for e in events]
        assert value in stamps, (label, value, stamps)
        return
    assert len(m) == 1, (model, field)
    m = m[0]
    if field.startswith("model.training["):
        i = int(field[len("model.training["):-1])
        stage = m["training"][i]
        assert value.startswith("from " + str(stage["start"])), (value, stage)
        return
    key = field[len("model."):]
    if key == "foundation_model":
        assert value == ("yes" if m.get(key, False) else "no"), (field, value)
    elif key == "developer_revenue_usd":
        assert key in m, field
    else:
        assert str(m[key]) == value, (field, m.get(key), value)


def facts(flopline, store, document_json, html, assess_json):
    doc = json.load(open(document_json))
    assess = json.load(open(assess_json))
    model = doc["model"]
    shown = []
    cache = {}
    for o in doc["outline"]:
        el = doc.get("element." + o["id"])
        if el is None:
            continue
        for f in el["facts"]:
            shown.append(f)
            s = f["source"]
            if s["type"] == "determination":
                assert s["text"].startswith(doc["regime_title"]), s
                if f["fact"] == "determination.status":
                    status = [d for m in assess["models"] if m["id"] == model for d in m["determinations"]
                              if d["regime"] == doc["regime"]]
                    assert status and f["value"].startswith(status[0]["status"]) or status[0]["status"] == "depends-on-reading", (f, status)
                continue
            index = s["index"]
            if index not in cache:
                # Each entry is read back once per test run (`flopline ledger show` checks it against the
                # log), kept beside the store for the other kinds.
                base = os.path.join(os.path.dirname(store.split(":", 1)[1]), f"shown-{index}")
                if not os.path.exists(base + ".json"):
                    r = subprocess.run([flopline, "ledger", "show", "--store", store, "--index", str(index),
                                        "--document-out", base + ".doc", "--format", "json"], capture_output=True, text=True)
                    assert r.returncode == 0, r.stderr
                    open(base + ".json", "w").write(r.stdout)
                shown_leaf = json.load(open(base + ".json"))
                cache[index] = (shown_leaf, open(base + ".doc", "rb").read().decode("utf-8"))
            shown_leaf, text = cache[index]
            assert shown_leaf["leaf_hash"] == s["leaf_hash"], (shown_leaf["leaf_hash"], s)
            assert shown_leaf["kind"] == s["record_kind"], (shown_leaf["kind"], s)
            if s["record_kind"] == "model-file":
                toml_value(text, model, s["field"], f["label"], f["value"])
            else:
                record = json.loads(text)
                v = record[s["field"]]
                want = v if isinstance(v, str) else json.dumps(v, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
                assert f["value"] == want, (f, want)
    spans = page(html).facts
    assert [x["text"] for x in spans] == [f["value"] for f in shown], "the HTML shows other facts than the record"
    for x, f in zip(spans, shown):
        assert x["data-fact"] == f["fact"]
        if f["source"]["type"] == "record":
            assert x["data-source-index"] == str(f["source"]["index"]) and x["data-source-field"] == f["source"]["field"]


def fill(list_json, kind, out):
    k = kind_of(list_json, kind)
    lines = [f'kind = "{kind}"', "[signatory]", 'name = "Dana Reyes"', 'role = "Chief Technology Officer"', "[elements]"]
    for e in k["elements"]:
        if e["text"] == "none":
            continue
        if e["input"] == "list":
            lines.append(f'"{e["id"]}" = ["First item for {e["id"]}.", "Second item for {e["id"]}."]')
        else:
            lines.append(f'"{e["id"]}" = "Text for {e["id"]} ({e["cite"]})."')
    open(out, "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    {"elements": elements, "facts": facts, "fill": fill}[sys.argv[1]](*sys.argv[2:])
