#!/usr/bin/env bash
# `flopline meter`: simulated runs through the real binary: the estimator's figure, counting once,
# bad lines, alerts once per fraction, the ledger's records and a restart that resumes from them,
# a webhook, standard input, and a file followed as it grows.
set -u
bin=$1
root=$2
cd "$root" || exit 2
source tests/cli/lib.sh

cfg=examples/configs/llama-3.1-8b-instruct.json
cat >"$tmp/models.toml" <<'TOML'
[[model]]
id = "acme-f2"
developer = "Acme AI"
developer_revenue_usd = 2.0e9
foundation_model = true
derivation = "pretrain"

[[event]]
model = "acme-f2"
kind = "cybersecurity-attested"
at = 2025-12-15T12:00:00Z
TOML

# 1. The cumulative count equals `flopline flops` for the same tokens, through restarts that repeat
#    steps (2000 steps of 4 Mi tokens; 300 + 1 steps done twice).
expect_ok simulate meter simulate --run r1 --steps 2000 --tokens-per-step 4194304 --every 2 \
  --restart 1200:900:600 --restart 1800:1799:60 --seed 7
cp "$tmp/out" "$tmp/steps.jsonl"
check simulate-repeats python3 -c "import sys; n=sum(1 for _ in open('$tmp/steps.jsonl')); sys.exit(0 if n == 1000 + 150 + 1 else 1)"
expect_ok estimator flops --config "$cfg" --tokens 8388608000 --format json
cp "$tmp/out" "$tmp/flops.json"
expect_ok watch-config meter watch "$tmp/steps.jsonl" --run r1=acme-f2 --config "r1=$cfg" --format json
cp "$tmp/out" "$tmp/watch.json"
check cumulative-equals-estimator python3 - "$tmp/watch.json" "$tmp/flops.json" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
report = lines[-1]["report"]
run = report["runs"][0]
want = json.load(open(sys.argv[2]))["training_flop"]
assert abs(run["flop"] / want - 1) < 1e-12, (run["flop"], want)
assert run["tokens"] == 8388608000, run["tokens"]
assert run["steps_counted"] == 1000 and run["steps_repeated"] == 151, run
assert run["flop_from_config"] == 1000
assert report["bad_lines"] == 0
PY

# 2. Bad lines: counted, reported with file, line and field, never silently dropped; the rest counts.
{
  echo '{"run":"r1","time":1767225600,"step":1,"tokens":1000,"flop":1e18}'
  echo '{"run":"r1","time":1767225610,"step":2,"tokens":1000,"flop":1e18'
  echo '{"run":"r1","time":1767225620,"step":3,"tokens":-1000,"flop":1e18}'
  echo '{"run":"r1","time":1767225500,"step":4,"tokens":1000,"flop":1e18}'
  echo '{"run":"r9","time":1767225640,"step":5,"tokens":1000,"flop":1e18}'
  echo ''
  echo '{"run":"r1","time":1767225650,"step":6,"tokens":1000,"flop":1e18} {"run":"r1","time":1767225660,"step":7,"tokens":1000,"flop":1e18}'
  echo '{"run":"r1","time":1767225670,"step":6,"tokens":1000,"flop":1e18}'
  echo '{"run":"r1","time":1767225680,"step":5,"tokens":1000,"flop":1e18}'
  echo '{"run":"r1","time":1767225690,"step":6,"tokens":1000,"flop":1e18}'
} >"$tmp/bad.jsonl"
"$bin" meter watch "$tmp/bad.jsonl" --run r1=acme-f2 --format json >"$tmp/out" 2>"$tmp/err"
code=$?
check bad-lines-exit-2 test "$code" -eq 2
check bad-lines-stderr python3 - "$tmp/err" "$tmp/bad.jsonl" <<'PY'
import sys
err = open(sys.argv[1]).read().splitlines()
f = sys.argv[2]
want = [(f"{f}:2:", "not valid JSON"), (f"{f}:3:", "field 'tokens'"), (f"{f}:4:", "field 'time'"),
        (f"{f}:5:", "field 'run'"), (f"{f}:7:", "not valid JSON")]
assert len(err) == len(want), err
for line, (where, what) in zip(err, want):
    assert line.startswith("flopline meter: " + where) and what in line, (line, where, what)
PY
check bad-lines-report python3 - "$tmp/out" <<'PY'
import json, sys
report = json.loads(open(sys.argv[1]).read().splitlines()[-1])["report"]
assert report["bad_lines"] == 5, report
run = report["runs"][0]
# Steps 1, 6 and 5 (late): three steps, 3e18 FLOP. Line 7 is bad as a whole (never half counted), so
# step 6 first counts on line 8 and its report on line 10 is the one repeat.
assert run["steps_counted"] == 3 and run["steps_repeated"] == 1 and run["flop"] == 3e18, run
PY

# 3. Alerts, once per fraction, with the clause and the duties before the line, into the ledger.
#    1e22 FLOP a step: the EU's 1e25 line at step 1000 of 1400.
S="sqlite:$tmp/evidence.db"
expect_ok ledger-init ledger init --store "$S" --origin example.com/meter-test
"$bin" meter simulate --run r1 --steps 1400 --tokens-per-step 1e9 --flop-per-token 1e13 --step-seconds 60 \
  --restart 1100:1000:300 --start 2026-01-10T00:00:00Z >"$tmp/big.jsonl"
head -n 700 "$tmp/big.jsonl" >"$tmp/first.jsonl"
expect_ok watch-first meter watch "$tmp/first.jsonl" --run r1=acme-f2 --models "$tmp/models.toml" \
  --regime eu-ai-act-gpai,ca-sb1047 --store "$S" --priced-at 2026-01-01 --format json
cp "$tmp/out" "$tmp/first.out"
check first-alerts python3 - "$tmp/first.out" <<'PY'
import json, sys
out = [json.loads(l) for l in open(sys.argv[1])]
alerts = [o["alert"] for o in out if "alert" in o]
eu = [(a["kind"], a["level"]) for a in alerts if a["regime"] == "eu-ai-act-gpai" and a["param"] == "systemic_flop"]
assert eu == [("fraction", 0.5)], eu
a = [a for a in alerts if a["param"] == "systemic_flop"][0]
assert a["cite"] and a["threshold_flop"] == 1e25 and a["projected_crossing"]["point"], a
report = out[-1]["report"]["runs"][0]
assert abs(report["flop"] / 7e24 - 1) < 1e-12, report["flop"]
sb = [l for l in report["lines"] if l["regime"] == "ca-sb1047" and l["param"] == "covered_flop"][0]
duties = {d["id"]: d["met"] for d in sb["duties"]}
assert duties.get("cybersecurity-before-training") is True, duties
assert duties.get("ssp-before-training") is False, duties
assert sb["duties_unmet"] is True
assert {s["regime"] for s in out[-1]["report"]["runs"][0]["status_if_stopped_now"]} == {"eu-ai-act-gpai", "ca-sb1047"}
PY

# 4. A restart resumes from the ledger's last state: the first 700 lines again count nothing, 50%
#    does not fire again, 80%, 95% and the crossing fire once each.
expect_ok watch-resume meter watch "$tmp/big.jsonl" --run r1=acme-f2 --models "$tmp/models.toml" \
  --regime eu-ai-act-gpai,ca-sb1047 --store "$S" --priced-at 2026-01-01 --format json
cp "$tmp/out" "$tmp/second.out"
check resumed python3 - "$tmp/second.out" "$tmp/err" <<'PY'
import json, sys
out = [json.loads(l) for l in open(sys.argv[1])]
alerts = [o["alert"] for o in out if "alert" in o]
eu = [(a["kind"], a["level"]) for a in alerts if a["regime"] == "eu-ai-act-gpai" and a["param"] == "systemic_flop"]
assert eu == [("fraction", 0.8), ("fraction", 0.95), ("crossed", 1.0)], eu
run = out[-1]["report"]["runs"][0]
assert abs(run["flop"] / 1.4e25 - 1) < 1e-12 and run["steps_counted"] == 1400, run
assert "resumes from ledger entry" in open(sys.argv[2]).read()
PY
expect_ok watch-again meter watch "$tmp/big.jsonl" --run r1=acme-f2 --models "$tmp/models.toml" \
  --regime eu-ai-act-gpai,ca-sb1047 --store "$S" --priced-at 2026-01-01 --format json --metrics "$tmp/meter.prom"
check prometheus python3 - "$tmp/meter.prom" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r'^flopline_run_flop_total\{run="r1",model="acme-f2"\} (\S+)$', text, re.M)
assert m and abs(float(m.group(1)) / 1.4e25 - 1) < 1e-12, text
assert re.search(r'flopline_line_fraction\{run="r1",regime="eu-ai-act-gpai",[^}]*param="systemic_flop"[^}]*\} 1\.4', text), text
assert "# TYPE flopline_run_flop_total counter" in text and "flopline_meter_bad_lines_total 0" in text
for line in text.splitlines():
    assert line.startswith("#") or re.match(r'^[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? \S+$', line), line
PY
check no-alert-twice python3 -c "import json,sys; sys.exit(1 if any('alert' in json.loads(l) for l in open('$tmp/out')) else 0)"
expect_ok ledger-checkpoint ledger checkpoint --store "$S"
expect_ok ledger-verify ledger verify --store "$S"
# The meter's kinds are internal: nobody appends a crossing by hand.
echo '{"run":"r1","regime":"x","line":"y","threshold_flop":1,"flop":2,"at":"2026-01-01T00:00:00Z"}' >"$tmp/forged.json"
expect_error forged-crossing 2 "kind" -- ledger append --store "$S" --kind threshold-crossed --model acme-f2 --file "$tmp/forged.json"

# 5. A webhook receives each alert's JSON; standard input is an input.
cat >"$tmp/hook.py" <<'PY'
import http.server, sys
out = open(sys.argv[1], "ab")
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        out.write(body + b"\n"); out.flush()
        self.send_response(204); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[2], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
python3 "$tmp/hook.py" "$tmp/hook.out" "$tmp/hook.port" &
hook=$!
for _ in $(seq 50); do [[ -s $tmp/hook.port ]] && break; sleep 0.1; done
"$bin" meter watch --run r1=acme-f2 --models "$tmp/models.toml" --regime eu-ai-act-gpai \
  --webhook "http://127.0.0.1:$(cat "$tmp/hook.port")/alerts" <"$tmp/big.jsonl" >"$tmp/out" 2>"$tmp/err"
check webhook-exit test $? -eq 0
kill "$hook"
wait "$hook" 2>/dev/null
check webhook-bodies python3 - "$tmp/hook.out" "$tmp/out" <<'PY'
import json, sys
bodies = [json.loads(l) for l in open(sys.argv[1])]
levels = [(b["param"], b["level"]) for b in bodies if b["param"] == "systemic_flop"]
assert levels == [("systemic_flop", 0.5), ("systemic_flop", 0.8), ("systemic_flop", 0.95), ("systemic_flop", 1.0)], levels
text = open(sys.argv[2]).read()
assert text.count("ALERT") == len(bodies) and "CROSSED" in text, text
PY
# A webhook that does not answer is reported (exit 1); the alerts still print.
"$bin" meter watch "$tmp/big.jsonl" --run r1=acme-f2 --models "$tmp/models.toml" --regime eu-ai-act-gpai \
  --webhook "http://127.0.0.1:1/none" >"$tmp/out" 2>"$tmp/err"
check webhook-down test $? -eq 1
check webhook-down-said grep -q "webhook http://127.0.0.1:1/none" "$tmp/err"

# 6. A file followed as it grows. The test waits until the watcher's read offset in the file (from
#    /proc) is at its end before it appends more, and stops it (SIGTERM: the report is still written)
#    once it has read everything, so a slow machine changes nothing.
read_to_end() {  # PID FILE: up to 60 s
  local fd pos size
  for _ in $(seq 600); do
    fd=$(find "/proc/$1/fd" -lname "$2" -printf '%f\n' 2>/dev/null | head -n 1)
    size=$(stat -c %s "$2")
    pos=$([[ -n $fd ]] && awk '/^pos:/ {print $2}' "/proc/$1/fdinfo/$fd" 2>/dev/null)
    [[ -n $pos && $pos -eq $size ]] && return 0
    sleep 0.1
  done
  return 1
}
: >"$tmp/grow.jsonl"
"$bin" meter watch --follow --idle-exit 120 "$tmp/grow.jsonl" --run r1=acme-f2 --format json >"$tmp/follow.out" 2>"$tmp/follow.err" &
watcher=$!
head -n 300 "$tmp/big.jsonl" >>"$tmp/grow.jsonl"
check follow-read-first read_to_end "$watcher" "$tmp/grow.jsonl"
tail -n +301 "$tmp/big.jsonl" | head -n 200 >>"$tmp/grow.jsonl"
check follow-read-more read_to_end "$watcher" "$tmp/grow.jsonl"
kill -TERM "$watcher"
wait "$watcher"
check follow-exit test $? -eq 0
check follow-counted python3 -c "
import json,sys
r=json.loads(open('$tmp/follow.out').read().splitlines()[-1])['report']['runs'][0]
sys.exit(0 if r['steps_counted'] == 500 else 1)"
# --idle-exit: a followed file that stays empty ends the watch after that long without lines.
: >"$tmp/idle.jsonl"
expect_ok follow-idle-exit meter watch --follow --idle-exit 1 "$tmp/idle.jsonl" --run r1=acme-f2 --format json
check follow-idle-report grep -q '"lines_read":0' "$tmp/out"

# 7. Megatron-LM's log (--log-throughput): iteration lines among the job's other output, each counted
#    with Megatron's own FLOP (throughput x GPUs x seconds per iteration x iterations); a checkpoint
#    reload's repeated iterations once; a malformed iteration line named by file, line and field.
python3 - "$tmp/megatron.log" <<'PY'
import sys
with open(sys.argv[1], "w") as log:
    log.write("using world size: 64, data-parallel size: 8, tensor-model-parallel size: 8\n")
    def iteration(i, minute):
        log.write(f" [2026-01-10 {4 + minute // 60:02d}:{minute % 60:02d}:00] iteration {i:8d}/  500000 | consumed samples: "
                  f"{i * 512:12d} | elapsed time per iteration (ms): 2000.0 | throughput per GPU (TFLOP/s/GPU): 300.0 | "
                  f"learning rate: 3.000000E-04 | global batch size:   512 | lm loss: 2.345678E+00 | loss scale: 1.0 | "
                  f"number of skipped iterations:   0 | number of nan iterations:   0 |\n")
    for k in range(1, 16):
        iteration(10 * k, k)
    log.write("saving checkpoint at iteration     100 to /ckpt in torch_dist format\n")
    for k in range(11, 21):  # the job failed after 150 and resumed from the checkpoint at 100
        iteration(10 * k, 30 + k)
PY
expect_ok megatron meter watch "$tmp/megatron.log" --input-format megatron --world-size 64 --log-interval 10 \
  --run r1=acme-f2 --format json
check megatron-counted python3 - "$tmp/out" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])["report"]
run = r["runs"][0]
assert run["steps_counted"] == 20 and run["steps_repeated"] == 5, run
assert abs(run["flop"] / (20 * 10 * 2.0 * 300e12 * 64) - 1) < 1e-12, run["flop"]
assert r["lines_read"] == 25 and r["bad_lines"] == 0 and run["world_size"] == 64, r
PY
sed 's/throughput per GPU (TFLOP\/s\/GPU): 300.0/throughput per GPU (TFLOP\/s\/GPU): n\/a/' "$tmp/megatron.log" | head -n 3 >"$tmp/megatron-bad.log"
"$bin" meter watch "$tmp/megatron-bad.log" --input-format megatron --world-size 64 --run r1=acme-f2 >"$tmp/out" 2>"$tmp/err"
check megatron-bad-exit test $? -eq 2
check megatron-bad-line grep -q "^flopline meter: $tmp/megatron-bad.log:2: field 'throughput per GPU (TFLOP/s/GPU)'" "$tmp/err"
expect_error megatron-no-count 2 "--world-size" -- meter watch "$tmp/megatron.log" --input-format megatron --run r1=acme-f2
expect_error megatron-one-run 2 "exactly one --run" -- meter watch "$tmp/megatron.log" --input-format megatron \
  --world-size 8 --run r1=acme-f2 --run r2=acme-f2
expect_error input-format 2 "--input-format" -- meter watch "$tmp/megatron.log" --input-format csv --run r1=acme-f2

# 8. Gate mode, with a real controller, agent and workload: the run is stopped before the SB 1047
#    line when its protocol is not recorded as published, and not when every duty before it is.
tag="8$$"
# A random port; another one when it is taken (the controller exits: bind failed).
for _ in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 20000))
  "$bin" killswitch controller --listen "127.0.0.1:$port" --key "$tmp/ks.key" --lease-ttl 5 2>"$tmp/controller.log" &
  controller=$!
  for _ in $(seq 600); do
    grep -q listening "$tmp/controller.log" 2>/dev/null && break
    kill -0 "$controller" 2>/dev/null || break
    sleep 0.05
  done
  grep -q listening "$tmp/controller.log" && break
  kill "$controller" 2>/dev/null
  wait "$controller" 2>/dev/null
done
check gate-controller-up grep -q listening "$tmp/controller.log"
"$bin" killswitch credential --key "$tmp/ks.key" --operator --out "$tmp/op.cred" 2>/dev/null
for a in unmet met; do
  "$bin" killswitch credential --key "$tmp/ks.key" --agent "train-$a" --out "$tmp/$a.cred" 2>/dev/null
done
agents=()
workloads() { pgrep -f "^sleep $tag$1\$" | wc -l; }
start_training() {  # NAME MODEL DIGIT
  "$bin" killswitch agent --controller "127.0.0.1:$port" --id "train-$1" --model "$2" --grace 2 \
    --credential "$tmp/$1.cred" -- sh -c "sleep $tag$3" 2>>"$tmp/agent-$1.log" &
  agents+=($!)
  for _ in $(seq 600); do [[ $(workloads "$3") -ge 1 ]] && break; sleep 0.05; done
}
cat >>"$tmp/models.toml" <<'TOML'

[[model]]
id = "acme-f3"
developer = "Acme AI"
developer_revenue_usd = 2.0e9
foundation_model = true
derivation = "pretrain"
TOML
# 1e23 FLOP a step: SB 1047's 1e26 line at step 1000 of 1100.
"$bin" meter simulate --run r1 --steps 1100 --tokens-per-step 1e10 --flop-per-token 1e13 --step-seconds 60 \
  --start 2026-01-10T00:00:00Z >"$tmp/gate.jsonl"
# acme-f3 records as done every duty the engine says is owed before the line (read from the meter's
# own report, not a list of ours: a duty the law adds is recorded too), each by the event kind it names.
expect_ok gate-duties meter watch "$tmp/gate.jsonl" --run r1=acme-f3 --models "$tmp/models.toml" \
  --regime ca-sb1047 --priced-at 2026-01-01 --format json
check gate-duties-recorded python3 - "$tmp/out" "$tmp/models.toml" <<'PY'
import json, sys
report = json.loads(open(sys.argv[1]).read().splitlines()[-1])["report"]
line = [l for l in report["runs"][0]["lines"] if l["regime"] == "ca-sb1047" and l["param"] == "covered_flop"][0]
owed = [d for d in line["duties"] if d["before_line"] or d["unmet"]]
ids = {d["id"] for d in owed}
# SB 1047's four duties before initial training (§22603(a)(1)-(4)) are among them, none yet met.
assert {"cybersecurity-before-training", "shutdown-capability-before-training", "ssp-before-training",
        "senior-personnel"} <= ids, ids
assert line["duties_unmet"] and not any(d["met"] for d in owed), owed
with open(sys.argv[2], "a") as models:
    for day, d in enumerate(owed, start=1):
        assert d["met_by"], d
        models.write(f'\n[[event]]\nmodel = "acme-f3"\nkind = "{d["met_by"]}"\nat = 2025-12-{day:02d}T12:00:00Z\n')
PY
G="sqlite:$tmp/gate.db"
"$bin" ledger init --store "$G" --origin example.com/meter-gate >/dev/null
start_training unmet acme-f2 1
check gate-workload-up test "$(workloads 1)" -ge 1
"$bin" meter watch "$tmp/gate.jsonl" --run r1=acme-f2 --models "$tmp/models.toml" --regime ca-sb1047 \
  --priced-at 2026-01-01 --store "$G" --gate-controller "127.0.0.1:$port" --gate-credential "$tmp/op.cred" \
  --gate-timeout 20 --format json >"$tmp/gate.out" 2>"$tmp/gate.err"
check gate-exit test $? -eq 0
check gate-stopped-workload test "$(workloads 1)" -eq 0
check gate-order python3 - "$tmp/gate.out" <<'PY'
import json, sys
out = [json.loads(l) for l in open(sys.argv[1])]
gates = [o["gate"] for o in out if "gate" in o]
assert len(gates) == 1, gates
g = gates[0]
assert g["complete"] and g["report"]["stopped"] == 1 and g["scope"] == "model:acme-f2", g
assert "ssp-before-training" in g["reason"] and "ca-sb1047" in g["reason"], g["reason"]
alerts = [o["alert"] for o in out if "alert" in o and o["alert"]["param"] == "covered_flop"]
assert alerts and alerts[0]["level"] == 0.5 and alerts[0]["duties_unmet"], alerts
PY
expect_ok gate-ledger-verify ledger verify --store "$G"
start_training met acme-f3 2
"$bin" meter watch "$tmp/gate.jsonl" --run r1=acme-f3 --models "$tmp/models.toml" --regime ca-sb1047 \
  --priced-at 2026-01-01 --gate-controller "127.0.0.1:$port" --gate-credential "$tmp/op.cred" --format json \
  >"$tmp/gate-met.out" 2>"$tmp/gate-met.err"
check gate-met-exit test $? -eq 0
check gate-met-not-stopped test "$(workloads 2)" -ge 1
check gate-met-no-order python3 - "$tmp/gate-met.out" <<'PY'
import json, sys
out = [json.loads(l) for l in open(sys.argv[1])]
assert not any("gate" in o for o in out), out
crossed = [o["alert"] for o in out if "alert" in o and o["alert"]["kind"] == "crossed" and o["alert"]["param"] == "covered_flop"]
assert crossed and not crossed[0]["duties_unmet"], crossed
PY
kill "${agents[@]}" "$controller" 2>/dev/null
wait 2>/dev/null
pkill -9 -f "^sleep $tag[12]\$" 2>/dev/null  # only this run's workloads, should an agent have left one
expect_error gate-no-credential 2 "--gate-credential" -- meter watch "$tmp/gate.jsonl" --run r1=acme-f2 \
  --models "$tmp/models.toml" --gate-controller "127.0.0.1:$port"
expect_error gate-no-models 2 "--models" -- meter watch "$tmp/gate.jsonl" --run r1=acme-f2 \
  --gate-controller "127.0.0.1:$port" --gate-credential "$tmp/op.cred"

# 9. Bad flags: one line naming the flag, exit 2, nothing on stdout.
expect_error no-run 2 "--run" -- meter watch "$tmp/steps.jsonl"
expect_error bad-run 2 "RUN=MODEL" -- meter watch "$tmp/steps.jsonl" --run r1
expect_error bad-fraction 2 "--alert-at" -- meter watch "$tmp/steps.jsonl" --run r1=m --alert-at 1.5
expect_error bad-within 2 "--alert-within" -- meter watch "$tmp/steps.jsonl" --run r1=m --alert-within soon
expect_error unknown-model 2 "model 'nobody'" -- meter watch "$tmp/steps.jsonl" --run r1=nobody --models "$tmp/models.toml"
expect_error config-no-run 2 "--config" -- meter watch "$tmp/steps.jsonl" --run r1=m --config "r2=$cfg"
expect_error missing-input 2 "cannot open" -- meter watch "$tmp/none.jsonl" --run r1=m
expect_error uninitialised-store 2 "ledger init" -- meter watch "$tmp/steps.jsonl" --run r1=m --store "sqlite:$tmp/fresh.db"
expect_error bad-restart 2 "--restart" -- meter simulate --steps 10 --restart 5:7

finish
