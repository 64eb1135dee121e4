#!/usr/bin/env bash
# `flopline assess`: the JSON contract, exit codes (0, 1 with --fail-if-covered, 2 on bad input),
# markdown, what-ifs, and one-line errors naming file, line and field.
# Usage: assess_cli_test.sh FLOPLINE_BINARY SOURCE_DIR
set -uo pipefail
bin=$1
src=$2
source "$(dirname "$0")/lib.sh"
ex=$src/examples/models

expect_ok json assess "$ex/frontier-lab.toml" "$ex/startup.toml" "$ex/academic-and-third-party.toml" --as-of 2026-11-23 --format json
check json-contract python3 - "$tmp/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
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

mkdir -p "$tmp/regimes"
cp "$src"/regimes/*.toml "$tmp/regimes/"
sed -i 's/when = "compute > param.covered_flop/when = "compute > param.covered_flops/' "$tmp/regimes/ca-sb1047.toml"
expect_error bad-regime-file 2 "ca-sb1047.toml:[0-9]+:[0-9]+: field 'rule\[0\].when': unknown parameter 'covered_flops'" -- assess "$ex/startup.toml" --regimes-dir "$tmp/regimes"

finish
