#!/usr/bin/env bash
# `flopline assess`: the JSON contract (summary and explained shapes), the summary table and
# --explain, exit codes (0, 1 with --fail-if-covered, 2 on bad input), --quiet, markdown, what-ifs,
# JSON Lines and the converter, a large generated inventory, and one-line errors naming file, line
# and field.
# Usage: assess_cli_test.sh FLOPLINE_BINARY SOURCE_DIR
set -uo pipefail
bin=$1
src=$2
source "$(dirname "$0")/lib.sh"
ex=$src/examples/models

expect_ok json assess "$ex/frontier-lab.toml" "$ex/startup.toml" "$ex/academic-and-third-party.toml" --as-of 2026-11-23 --format json --explain
check json-contract python3 - "$tmp/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["shape"] == "explained"
assert d["as_of"] == "2026-11-23"
models = {m["id"]: m for m in d["models"]}
assert set(models) >= {"acme-f1", "acme-f1-chat", "llama-2-7b", "tinylab-support-7b", "bigco-f1-tuned"}
for m in d["models"]:
    for key in ("id", "training_flop", "cumulative_flop", "cost_usd", "determinations"):
        assert key in m, key
    for det in m["determinations"]:
        for key in ("regime", "status", "covered", "basis", "explanation", "margins", "obligations", "penalty_max_usd"):
            assert key in det, key
        for o in det["obligations"]:
            assert set(("id", "cite", "due", "status")) <= set(o)
        for step in det["explanation"]:
            assert "text" in step and "cite" in step
acme = {x["regime"]: x for x in models["acme-f1"]["determinations"]}
assert acme["ca-sb1047"]["status"] == "covered-model" and acme["ca-sb1047"]["covered"] is True
assert acme["ca-sb1047"]["penalty_max_usd"] == 15e6
assert acme["ca-sb1047"]["note"].startswith("SB 1047 was vetoed")
assert acme["eu-ai-act-gpai"]["status"] == "gpai-systemic-risk"
incidents = [o for o in acme["ca-sb1047"]["obligations"] if o["id"] == "incident-report-72h"]
assert [o["status"] for o in incidents] == ["met", "overdue"], incidents
chat = {x["regime"]: x for x in models["acme-f1-chat"]["determinations"]}
assert chat["ca-sb1047"]["status"] == "depends-on-reading" and chat["ca-sb1047"]["covered"] is None
llama = {x["regime"]: x for x in models["llama-2-7b"]["determinations"]}
assert all(x["covered"] is False for x in llama.values())
assert models["llama-2-7b"]["training_flop"] > 8e22 and models["llama-2-7b"]["cost_usd"] > 0
PY

expect_ok markdown assess "$ex/frontier-lab.toml" --as-of 2026-11-23 --format markdown
check markdown-table grep -q "^| model | regime | status" "$tmp/out"

"$bin" assess "$ex/frontier-lab.toml" --fail-if-covered --as-of 2026-11-23 >/dev/null 2>&1
check fail-if-covered test $? -eq 1
"$bin" assess "$ex/startup.toml" --fail-if-covered --as-of 2026-11-23 >/dev/null 2>&1
check not-covered-exits-0 test $? -eq 0

expect_ok what-if assess "$ex/frontier-lab.toml" --as-of 2027-03-01 --regime ca-sb1047 --set ca-sb1047.covered_flop=2e26 --format json
check what-if-uncovers python3 -c "import json,sys; d=json.load(open(sys.argv[1])); m=[x for x in d['models'] if x['id']=='acme-f1'][0]; assert m['determinations'][0]['status']=='not-covered'" "$tmp/out"

printf '[[model]]\nid = "a"\ndeveloper = "D"\nbase = "ghost"\nderivation = "fine-tune"\n' >"$tmp/ghost.toml"
printf '[[model]]\nid = "a"\ndeveloper = "D"\ncolour = "red"\n' >"$tmp/unknown-key.toml"
expect_error base-names-no-model 2 "ghost.toml:1:1: field 'base': 'ghost' names no model" -- assess "$tmp/ghost.toml"
expect_error unknown-key 2 "unknown-key.toml:4:[0-9]+: field 'model\[0\].colour': unknown key" -- assess "$tmp/unknown-key.toml"
expect_error bad-as-of 2 "field '--as-of'" -- assess "$ex/startup.toml" --as-of 2026-02-30
expect_error bad-set 2 "no parameter 'covered_flops'" -- assess "$ex/startup.toml" --set ca-sb1047.covered_flops=1
expect_error bad-regime 2 "unknown regime 'ca-sb1057'; known: ca-sb1047" -- assess "$ex/startup.toml" --regime ca-sb1057
expect_error missing-file 2 "does not exist" -- assess "$tmp/none.toml"

# Issue 10 item 14: a mistyped table header, an unknown table or an empty file is an error, never
# "no models" with exit 0 (which --fail-if-covered would read as "nothing covered").
printf '[model]\nid = "a"\ndeveloper = "D"\n[[model.training]]\nkind = "pretrain"\nstart = 2026-01-01\nflop = 2e26\n' >"$tmp/single.toml"
expect_error single-bracket-model 2 "single.toml:1:[0-9]+: field 'model': \[model\] is a single table; write \[\[model\]\]" -- assess "$tmp/single.toml" --fail-if-covered
printf '[[model]]\nid = "a"\ndeveloper = "D"\n[event]\nmodel = "a"\nkind = "released"\nat = 2026-06-01\n' >"$tmp/single-event.toml"
expect_error single-bracket-event 2 "single-event.toml:4:[0-9]+: field 'event': \[event\] is a single table" -- assess "$tmp/single-event.toml"
printf '[[model]]\nid = "a"\ndeveloper = "D"\n[modle]\nid = "b"\n' >"$tmp/unknown-table.toml"
expect_error unknown-table 2 "unknown-table.toml:4:[0-9]+: field 'modle': unknown key" -- assess "$tmp/unknown-table.toml"
: >"$tmp/empty.toml"
expect_error empty-file 2 "empty.toml:1:1: the file holds no \[\[model\]\] or \[\[event\]\] tables" -- assess "$tmp/empty.toml" --fail-if-covered
# Issue 10 item 15: what-if values must be finite and non-negative; money must fit, not be clamped.
for v in nan inf -inf -1 1e400; do
  expect_error "set-$v" 2 "field '--set': .*(finite number, zero or more|is not a number)" -- assess "$ex/frontier-lab.toml" --set "ca-sb1047.covered_flop=$v"
done
printf '[[model]]\nid = "a"\ndeveloper = "D"\n[[model.training]]\nkind = "pretrain"\nstart = 2026-01-01\nflop = 1e20\ncost_usd = 1.7e308\n' >"$tmp/money.toml"
expect_error money-overflow 2 "money.toml:8:[0-9]+: field 'model\[0\].training\[0\].cost_usd': is too large" -- assess "$tmp/money.toml"
sed -i 's/1.7e308/-1.0/' "$tmp/money.toml"
expect_error money-negative 2 "money.toml:8:[0-9]+: field 'model\[0\].training\[0\].cost_usd'" -- assess "$tmp/money.toml"
sed -i 's/-1.0/nan/' "$tmp/money.toml"
expect_error money-nan 2 "money.toml:8:[0-9]+: field 'model\[0\].training\[0\].cost_usd'" -- assess "$tmp/money.toml"

# Issue 12: a summary that fits a screen by default; --explain for the traces.
expect_ok table-default assess "$ex"/*.toml --as-of 2026-11-23
check table-one-row-per-model-and-regime test "$(grep -cE "^[a-z0-9-]+ +(ca-sb1047|ca-sb53|eu-ai-act-gpai|ny-raise) " "$tmp/out")" -eq 36
check table-header grep -qE "^model +regime +status +covered +margin +max penalty +basis$" "$tmp/out"
check table-basis-in-full grep -qF "§22602(e)(1)(A)(i)" "$tmp/out"
check table-no-traces bash -c '! grep -q "Rule " "$1"' _ "$tmp/out"
check table-notes-once test "$(grep -c "CPI adjustment" "$tmp/out")" -eq 1
check table-fits-a-screen test "$(wc -l <"$tmp/out")" -lt 60
check table-narrow test "$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$tmp/out")" -le 140
# One line per model and regime, every cell aligned under its header, the next deadline (if any) on
# a line of its own under its row; the basis as footnote keys whose clauses are listed in full once
# under the table; every cell as the JSON gives it.
check table-aligned python3 - "$tmp/out" "$bin" "$ex" <<'PY'
import json, re, subprocess, sys, glob
lines = open(sys.argv[1]).read().split("\n")
head = next(i for i, l in enumerate(lines) if l.startswith("model "))
names = ["model", "regime", "status", "covered", "margin", "max penalty", "basis"]
cols = [lines[head].index(c) for c in names]
end = lines.index("", head)
rows, deadline = [], {}
for l in lines[head + 1:end]:
    if l.startswith("    next deadline  "):
        deadline[len(rows) - 1] = l[len("    next deadline  "):]
    else:
        assert not l.startswith(" "), l
        rows.append(l)
assert len(rows) == 36, len(rows)
for r in rows:
    for c in cols[1:]:
        assert r[c - 2:c] == "  " and r[c] != " ", (c, r)
legend, code = {}, ""
assert lines[end + 1].startswith("basis  "), lines[end + 1]
for l in lines[end + 1:]:
    if not (l.startswith("basis  ") or l.startswith("       ")):
        break
    text = l[7:]
    if not text.startswith(" "):  # a new code (or none), else a code's continued line
        code = text[:text.index("[")].strip()
    for key, clause in re.findall(r"\[(\d+)\] (.+?)(?=  \[\d+\] |$)", text.strip()):
        legend[key] = (code + " " if code else "") + clause.strip()
cell = lambda r, i: r[cols[i]:(cols[i + 1] if i + 1 < len(cols) else None)].strip()
table = {(cell(r, 0), cell(r, 1)): ([cell(r, i) for i in range(len(cols))], deadline.get(n)) for n, r in enumerate(rows)}
j = json.loads(subprocess.run([sys.argv[2], "assess", *sorted(glob.glob(sys.argv[3] + "/*.toml")), "--as-of",
                               "2026-11-23", "--format", "json"], capture_output=True, text=True, check=True).stdout)
for m in j["models"]:
    for d in m["determinations"]:
        t, due_text = table[(m["id"], d["regime"])]
        assert t[2] == d["status"], (t, d["status"])
        assert t[3] == {True: "yes", False: "no", None: "?"}[d["covered"]], t
        keys = re.fullmatch(r"\[([\d,]+)\]|-", t[6])
        assert keys, t
        got = [legend[k] for k in keys.group(1).split(",")] if keys.group(1) else []
        assert got == d["basis"], (t, got, d["basis"])
        if d["margin"]:
            ratio = re.search(r"(exactly at|[\d.e+]+x (?:above|below)|above|below) [\w.* ]*?([\d.]+e[+-]\d+)$", d["margin"])
            assert t[4] == "%s %.3g" % (ratio.group(1), float(ratio.group(2))), (t[4], d["margin"])
        else:
            assert t[4] == "-", t
        due = d["next_deadline"]
        if due:
            when = due["due"][:10] + ("" if due["due"].endswith("T00:00:00Z") else " " + due["due"][11:16] + "Z")
            assert due_text == when + " " + due["id"] + (" (overdue)" if due["status"] == "overdue" else ""), (due_text, due)
        else:
            assert due_text is None, (t, due_text)
PY
expect_ok explain-one assess "$ex"/*.toml --as-of 2026-11-23 --explain=acme-f1-chat
check explain-one-traces grep -q "^== acme-f1-chat" "$tmp/out"
check explain-one-only test "$(grep -c "^== " "$tmp/out")" -eq 1
check explain-one-rules grep -q "Rule " "$tmp/out"
expect_ok explain-all assess "$ex"/*.toml --as-of 2026-11-23 --explain
check explain-all-traces test "$(grep -c "^== " "$tmp/out")" -eq 9
expect_error explain-unknown 2 "field '--explain': 'acme-f2' names no model" -- assess "$ex"/*.toml --explain=acme-f2
"$bin" assess "$ex/frontier-lab.toml" --fail-if-covered --quiet --as-of 2026-11-23 >"$tmp/out" 2>&1
check quiet-fail-if-covered test $? -eq 1
check quiet-prints-nothing test ! -s "$tmp/out"
"$bin" assess "$ex/startup.toml" --fail-if-covered --quiet --as-of 2026-11-23 >"$tmp/out" 2>&1
check quiet-not-covered test $? -eq 0

# The summary and the explained answers agree on every status, covered, basis and deadline.
"$bin" assess "$ex"/*.toml --as-of 2026-11-23 --format json >"$tmp/summary.json"
"$bin" assess "$ex"/*.toml --as-of 2026-11-23 --format json --explain >"$tmp/explained.json"
check summary-agrees-with-explained python3 - "$tmp/summary.json" "$tmp/explained.json" <<'PY'
import json, sys
s, e = (json.load(open(p)) for p in sys.argv[1:3])
assert s["shape"] == "summary" and e["shape"] == "explained"
assert [r["id"] for r in s["regimes"]] == [r["id"] for r in e["regimes"]]
assert len(s["models"]) == len(e["models"]) == 9
for a, b in zip(s["models"], e["models"]):
    assert a["id"] == b["id"]
    assert "explanation" not in a["determinations"][0] and "explanation" in b["determinations"][0]
    for x, y in zip(a["determinations"], b["determinations"]):
        for k in ("regime", "status", "covered", "basis", "margin", "next_deadline", "developer_of_record"):
            assert x[k] == y[k], (a["id"], x["regime"], k, x[k], y[k])
        # The figures only where a penalty applies; in_force is the head's.
        for k in ("penalty_max_usd", "penalty_max", "penalty_subsequent_max", "penalty_currency"):
            assert x.get(k) == y[k] and (k in x) == (x["penalty"] is not None), (a["id"], x["regime"], k)
        assert "in_force" not in x and y["in_force"] == s["regimes"][[r["id"] for r in s["regimes"]].index(x["regime"])]["in_force"]
        assert x["readings_agree"] == y["readings_agree"] and x["penalty"] == y["penalty"], (a["id"], x["regime"])
        if x["readings_agree"]:
            # Listed only where they differ: every explained reading gives the determination's answer.
            assert x["readings"] == [], (a["id"], x["regime"])
            assert {(r["status"], r["developer"]) for r in y["readings"]} == {(x["status"], x["developer_of_record"])}
        else:
            assert [r["status"] for r in x["readings"]] == [r["status"] for r in y["readings"]]
        # The penalty's texts are written once, in the head; the explained shape repeats them.
        assert "penalty_cite" not in x and "penalty_condition" not in x
        p = s["regimes"][[r["id"] for r in s["regimes"]].index(x["regime"])]["penalties"][x["penalty"]] \
            if x["penalty"] is not None else None
        assert (p["cite"], p["condition"], p["otherwise"]) == (y["penalty_cite"], y["penalty_condition"], y["penalty_otherwise"]) \
            if p else y["penalty_cite"] is None, (a["id"], x["regime"])
        # The summary keeps the model's own notes, and leaves out only those restating the head's penalty.
        assert set(x["notes"]) <= set(y["notes"]), (a["id"], x["regime"])
    for r in s["regimes"]:
        assert r["readings"] and all(isinstance(n, str) for n in r["readings"]), r["id"]
PY

# JSON Lines: the converter writes the bulk format; assessing it gives the same answers.
expect_ok write-jsonl assess "$ex"/*.toml --write-jsonl "$tmp/examples.jsonl"
check write-jsonl-says grep -q "^wrote 9 models and [0-9]* events to" "$tmp/out"
"$bin" assess "$tmp/examples.jsonl" --as-of 2026-11-23 --format json --explain >"$tmp/from-jsonl.json"
check jsonl-same-answers python3 - "$tmp/explained.json" "$tmp/from-jsonl.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
key = lambda d: {m["id"]: [(x["regime"], x["status"], x["covered"], x["basis"], x["margin"], x["next_deadline"],
                            x["penalty_max"], [o["status"] for o in x["obligations"]]) for x in m["determinations"]]
                 for m in d["models"]}
assert key(a) == key(b), "TOML and JSON Lines disagree"
PY
printf '{"model":{"id":"a","developer":"D"}}\n{"model":{"id":"b","developer":"D","training":[{"kind":"pretrain","start":"2026-01-01","flop":"1e26","cost_usd":5.0}]}}\n' >"$tmp/bad.jsonl"
expect_error jsonl-error-line-field 2 "bad.jsonl:2: field 'model.training\[0\].flop': expected a number" -- assess "$tmp/bad.jsonl"
printf '{"model":{"id":"a","developer":"D"}}\n{"model":{"id":"b","developer":"D"}' >"$tmp/cut.jsonl"
expect_error jsonl-malformed 2 "cut.jsonl:2: malformed JSON" -- assess "$tmp/cut.jsonl"

# A large generated inventory: the JSON is valid and complete, read back by Python's parser.
python3 "$src/bench/assess_inventory.py" --models 20000 --format jsonl --out "$tmp/big.jsonl"
"$bin" assess "$tmp/big.jsonl" --as-of 2026-11-23 --format json >"$tmp/big.json"
check big-json-exit test $? -eq 0
check big-json-complete python3 - "$tmp/big.json" 20000 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
assert [m["id"] for m in d["models"]] == [f"m{i}" for i in range(n)]
regimes = [r["id"] for r in d["regimes"]]
assert len(regimes) == 4
statuses = set()
for m in d["models"]:
    assert [x["regime"] for x in m["determinations"]] == regimes, m["id"]
    for x in m["determinations"]:
        assert x["status"] and (x["readings"] or x["readings_agree"]), m["id"]
        assert x["readings_agree"] == (x["readings"] == []), m["id"]
        statuses.add(x["status"])
assert "depends-on-reading" in statuses and len(statuses) >= 6, statuses
PY
# Explained for the first 1,000 models (a chain never reaches outside its block of 10), against the
# summary of the whole inventory.
head -n "$(grep -n '"id":"m1000"' "$tmp/big.jsonl" | cut -d: -f1 | awk '{print $1 - 1}')" "$tmp/big.jsonl" >"$tmp/mid.jsonl"
"$bin" assess "$tmp/mid.jsonl" --as-of 2026-11-23 --format json --explain >"$tmp/big-explained.json"
check big-explained-agrees python3 - "$tmp/big.json" "$tmp/big-explained.json" <<'PY'
import json, sys
s, e = (json.load(open(p)) for p in sys.argv[1:3])
assert len(e["models"]) == 1000 and e["shape"] == "explained"
for a, b in zip(s["models"], e["models"]):
    assert a["id"] == b["id"]
    for x, y in zip(a["determinations"], b["determinations"]):
        assert (x["status"], x["covered"], x["basis"]) == (y["status"], y["covered"], y["basis"]), (a["id"], x["regime"])
PY
"$bin" assess "$tmp/big.jsonl" --as-of 2026-11-23 >"$tmp/big.txt"
check big-table-rows test "$(grep -c "^m[0-9]" "$tmp/big.txt")" -eq 80000

# A file large enough to be parsed in several pieces at once (four copies of the inventory, about
# 20 MB): the first error by line is the one reported, wherever the pieces were cut, and an id
# defined in two pieces is caught at the later line.
for copy in 1 2 3 4; do sed "s/\"m\([0-9]*\)\"/\"c${copy}m\1\"/g" "$tmp/big.jsonl"; done >"$tmp/huge.jsonl"
lines=$(wc -l <"$tmp/big.jsonl")
awk -v a=$((2 * lines + 7)) -v b=$((3 * lines + 9)) 'NR == a || NR == b { print "{\"model\":{\"id\":7}}"; next } { print }' \
  "$tmp/huge.jsonl" >"$tmp/huge-bad.jsonl"
expect_error pieces-first-error 2 "huge-bad.jsonl:$((2 * lines + 7)): field 'model.id': expected a string" -- assess "$tmp/huge-bad.jsonl" --quiet
dup=$(awk -v from=$((3 * lines)) 'NR > from && /^\{"model"/ { print NR; exit }' "$tmp/huge.jsonl")
awk -v a="$dup" 'NR == a { sub(/"id":"c4m[0-9]*"/, "\"id\":\"c1m0\"") } { print }' "$tmp/huge.jsonl" >"$tmp/huge-dup.jsonl"
expect_error pieces-duplicate-id 2 "huge-dup.jsonl:$dup: field 'model.id': 'c1m0' is already defined" -- assess "$tmp/huge-dup.jsonl" --quiet

mkdir -p "$tmp/regimes"
cp "$src"/regimes/*.toml "$tmp/regimes/"
sed -i 's/when = "compute > param.covered_flop/when = "compute > param.covered_flops/' "$tmp/regimes/ca-sb1047.toml"
expect_error bad-regime-file 2 "ca-sb1047.toml:[0-9]+:[0-9]+: field 'rule\[0\].when': unknown parameter 'covered_flops'" -- assess "$ex/startup.toml" --regimes-dir "$tmp/regimes"

# --compare A,B: two regimes (or two versions of one) side by side, per model, in JSON and as a table.
expect_ok compare-json assess "$ex"/*.toml --as-of 2026-11-23 --compare ca-sb1047,ca-sb53 --format json
check compare-contract python3 - "$tmp/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["compare"] == ["ca-sb1047", "ca-sb53"]
m = {r["model"]: r for r in d["models"]}
acme = m["acme-f1"]["versions"]
assert acme[0]["status"] == "covered-model" and acme[1]["status"] == "large-frontier-developer", acme
assert "ssp-before-training" in acme[0]["duties_only_here"], acme[0]
assert "frontier-ai-framework" in acme[1]["duties_only_here"], acme[1]
assert acme[0]["max_penalty_first"] == 15e6
assert d["models_that_differ"] == sum(1 for r in d["models"] if r["differs"])
PY
expect_ok compare-table assess "$ex"/*.toml --as-of 2026-11-23 --compare ca-sb1047,ca-sb53
check compare-table-row grep -Eq '^acme-f1 \*  +covered-model +large-frontier-developer +yes / yes' "$tmp/out"
check compare-table-duties grep -q 'acme-f1, only under ca-sb1047: cybersecurity-before-training' "$tmp/out"
# SB 1047's versions: the Senate's (amended 2024-05-16) against the enrolled text, on the examples.
expect_ok compare-versions-json assess "$ex"/*.toml --as-of 2025-06-01 --compare ca-sb1047@2024-05-16,ca-sb1047 --format json
check compare-versions-contract python3 - "$tmp/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
m = {r["model"]: r["versions"] for r in d["models"]}
# 10^26 alone (Senate) against 10^26 and more than $100M (enrolled): the $90M midlab-f1.
assert [v["status"] for v in m["midlab-f1"]] == ["covered-model", "not-covered"], m["midlab-f1"]
# The debated 25% derivative line is a reading: a 5x10^25 fine-tune of acme-f1 depends on it.
assert m["bigco-f1-tuned"][0]["status"] == "depends-on-reading", m["bigco-f1-tuned"]
acme = m["acme-f1"]
assert "covered-guidance-before-training" in acme[0]["duties_only_here"], acme[0]
assert "certification-under-penalty-of-perjury" in acme[0]["duties_only_here"], acme[0]
assert acme[0]["max_penalty_first"] is None and acme[1]["max_penalty_first"] == 15e6, acme
notes = d["notes"]["ca-sb1047@2024-05-16"]
assert any(n.startswith("not known for this version: the penalty amounts") for n in notes), notes
assert any("read from a secondary source" in n for n in notes), notes
PY
expect_ok compare-versions-table assess "$ex"/*.toml --as-of 2025-06-01 --compare ca-sb1047@2024-02-07,ca-sb1047@2024-07-03
check compare-versions-row grep -Eq '^midlab-f1 \*  +covered-model +not-covered +yes / no' "$tmp/out"
check compare-versions-notes grep -q '^notes on ca-sb1047@2024-02-07:' "$tmp/out"
# A superseded version is assessed only when named.
expect_ok default-omits-versions assess "$ex/frontier-lab.toml" --as-of 2025-06-01 --format json
check default-omits-versions-ids python3 - "$tmp/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ids = [r["id"] for r in d["regimes"]]
assert ids == ["ca-sb1047", "ca-sb53", "eu-ai-act-gpai", "ny-raise"], ids
for m in d["models"]:
    det = {x["regime"]: x for x in m["determinations"]}
    assert set(det) == set(ids), det.keys()
    # Item 4: the penalty's condition reaches the summary too, written once in the head.
    sb = d["regimes"][0]["penalties"]
    assert sb and all("condition" in p and "otherwise" in p for p in sb), sb
    x = det["ca-sb1047"]
    assert x["penalty"] is None or 0 <= x["penalty"] < len(sb), x
PY
expect_ok named-version assess "$ex/frontier-lab.toml" --as-of 2025-06-01 --regime ca-sb1047@2024-05-16 --explain=acme-f1
check named-version-secondary grep -q 'read from a secondary source' "$tmp/out"
check named-version-unknowns grep -q 'not known for this version: ' "$tmp/out"
expect_error compare-one-id 2 "field '--compare': expected two regime ids" -- assess "$ex/startup.toml" --compare ca-sb1047
expect_error compare-same-id 2 "." -- assess "$ex/startup.toml" --compare ca-sb1047,ca-sb1047

finish
