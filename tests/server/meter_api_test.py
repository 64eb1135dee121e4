#!/usr/bin/env python3
"""The meter's routes from the outside, against a running `flopline serve` whose workspace was metered
into by tests/cli/meter_seed.sh (tests/cli/meter_serve_test.sh starts it).
Usage: meter_api_test.py BASE_URL TOKENS_JSON REPORT_R1_JSON REPORT_R2_JSON

- both routes as every role (all may read; no credentials: 401), an auditor's read logged;
- the runs list and one run: the figures equal the meter's own report (FLOP, tokens, rate with its
  range, every line with its threshold, fraction, clause, projected crossing and duties, status as if
  stopped now), the nearest line, the history from the meter-state records (in time, ending at the
  report's FLOP), the crossing of r2 with its record;
- bad run ids and query parameters: a problem document naming the field.
"""
import json
import sys
import urllib.parse

from checks import Checks
from http_call import request

base, tokens_path, r1_path, r2_path = sys.argv[1:5]
tokens = json.load(open(tokens_path))
reports = {"r1": json.load(open(r1_path)), "r2": json.load(open(r2_path))}
ROLES = ["developer-admin", "compliance-officer", "engineer", "auditor", "board", "regulator-readonly"]
check = Checks()


def call(path, token="engineer"):
    s, h, b = request(base + path, "GET", token=tokens[token] if token else None)
    return s, h, b


def problem(name, path, want_status, field):
    s, h, b = call(path)
    doc = {}
    try:
        doc = json.loads(b)
    except ValueError:
        pass
    ok = (s == want_status and h.get("Content-Type", "").startswith("application/problem+json")
          and any(e.get("field") == field for e in doc.get("errors", [])))
    check(name, ok, f"got {s} {b[:300]!r}, want {want_status} naming {field!r}")


# --- every role ------------------------------------------------------------------------------------
for path in ["/api/v1/meter", "/api/v1/meter/runs/r1"]:
    for role in ROLES:
        s, h, b = call(path, role)
        check(f"GET {path} as {role}", s == 200 and h.get("Content-Type", "").startswith("application/json"), f"{s}")
    s, h, b = call(path, None)
    check(f"GET {path} without credentials", s == 401, f"{s}")


def log_size():
    """The log's size, by signing a checkpoint (which is itself logged: one entry)."""
    s, h, b = request(base + "/api/v1/checkpoint", "POST", token=tokens["developer-admin"], raw=b"")
    return json.loads(b)["size"] if s == 201 else -1


before = log_size()
call("/api/v1/meter/runs/r2", "engineer")
check("an engineer's read is not logged", log_size() == before + 1, f"{before}")
before = log_size()
call("/api/v1/meter/runs/r2", "auditor")
call("/api/v1/meter", "auditor")
check("an auditor's reads are logged", log_size() == before + 3, f"{before}")

# --- the list --------------------------------------------------------------------------------------
s, h, b = call("/api/v1/meter")
runs = {r["run"]: r for r in json.loads(b)["runs"]} if s == 200 else {}
check("both runs listed", sorted(runs) == ["r1", "r2"], f"{sorted(runs)}")
for run, report in reports.items():
    row = runs.get(run, {})
    check(f"{run}: model", row.get("model") == report["model"], f"{row.get('model')}")
    check(f"{run}: flop = the meter's", row.get("flop") == report["flop"], f"{row.get('flop')} {report['flop']}")
    check(f"{run}: tokens = the meter's", row.get("tokens") == report["tokens"], f"{row.get('tokens')}")
    check(f"{run}: rate = the meter's", row.get("rate") == report["rate"], f"{row.get('rate')} {report['rate']}")
    check(f"{run}: last event", row.get("last_event") == report["last_event"], f"{row.get('last_event')}")
r1 = runs.get("r1", {})
eu = [l for l in reports["r1"]["lines"] if l["param"] == "systemic_flop" and l["regime"] == "eu-ai-act-gpai"]
near = r1.get("nearest") or {}
check("r1: nearest line is the EU's, past 80%", eu and near.get("param") == "systemic_flop" and
      near.get("fraction") == eu[0]["fraction"] and 0.8 < near["fraction"] < 0.95, f"{near}")
check("r1: its projected crossing with the range", eu and near.get("projected_crossing") == eu[0]["projected_crossing"]
      and all(near["projected_crossing"].get(k) for k in ("point", "earliest", "latest")), f"{near}")
check("r1: duties unmet (no protocol before training)", r1.get("duties_unmet") is True, f"{r1.get('duties_unmet')}")
check("r2: has met a line", runs.get("r2", {}).get("lines_met", 0) >= 1, f"{runs.get('r2')}")
check("each row names its record", all(isinstance(r.get("state", {}).get("index"), int) and r["state"].get("leaf_hash")
                                        for r in runs.values()), f"{runs}")

# --- one run ---------------------------------------------------------------------------------------
for run, report in reports.items():
    s, h, b = call(f"/api/v1/meter/runs/{run}")
    got = json.loads(b) if s == 200 else {}
    for key in ("model", "flop", "tokens", "steps_counted", "steps_repeated", "first_event", "last_event", "rate",
                "lines", "status_if_stopped_now"):
        check(f"{run}: {key} = the meter's report", got.get(key) == report[key], f"{got.get(key)!r} != {report[key]!r}")
    history = got.get("history", [])
    check(f"{run}: a history of its states", len(history) >= 2, f"{history}")
    check(f"{run}: history in time, growing", all(a["at"] < b["at"] and a["flop"] < b["flop"]
                                                   for a, b in zip(history, history[1:])), f"{history}")
    check(f"{run}: history ends at the report", history and history[-1]["flop"] == report["flop"]
          and history[-1]["at"] == report["last_event"], f"{history[-1:]}")
    state = got.get("state", {})
    s, h, b = call("/api/v1/evidence?kind=meter-state&limit=1000")
    indexes = {e["index"]: e for e in json.loads(b)["items"]} if s == 200 else {}
    check(f"{run}: its state is a meter-state record", state.get("index") in indexes and
          indexes[state["index"]]["leaf_hash"] == state.get("leaf_hash"), f"{state}")
    check(f"{run}: history points name meter-state records", all(p["index"] in indexes for p in history), f"{history}")
    if run == "r1":
        sb = [l for l in got.get("lines", []) if l["regime"] == "ca-sb1047" and l["param"] == "covered_flop"]
        duties = {d["id"]: d["met"] for d in (sb[0]["duties"] if sb else [])}
        check("r1: SB 1047 duties with met/unmet", duties.get("cybersecurity-before-training") is True and
              duties.get("ssp-before-training") is False, f"{duties}")
        check("r1: the GPAI line crossed, not the systemic-risk line",
              [c["param"] for c in got.get("crossings", [])] == ["gpai_flop"], f"{got.get('crossings')}")
        check("r1: the 50% and 80% alerts of the EU's line", sorted((a["kind"], a["level"]) for a in got.get("alerts", [])
                                                                   if a["param"] == "systemic_flop") ==
              [("fraction", 0.5), ("fraction", 0.8)], f"{got.get('alerts')}")
    else:
        crossed = [c for c in got.get("crossings", []) if c["param"] == "systemic_flop"]
        check("r2: crossed the EU line, with its record", len(crossed) == 1 and crossed[0]["record"]["kind"] ==
              "threshold-crossed" and crossed[0]["threshold_flop"] == 1e25 and crossed[0]["at"], f"{crossed}")

# --- bad input -------------------------------------------------------------------------------------
problem("unknown run: 404", "/api/v1/meter/runs/r9", 404, "run")
problem("control character: 400", "/api/v1/meter/runs/" + urllib.parse.quote("r\x01"), 400, "run")
problem("too long: 400", "/api/v1/meter/runs/" + "r" * 300, 400, "run")
problem("unknown query: 400", "/api/v1/meter?limit=5", 400, "limit")
problem("unknown query on a run: 400", "/api/v1/meter/runs/r1?as_of=2026-01-01", 400, "as_of")
check.finish()
