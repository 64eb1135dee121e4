#!/usr/bin/env bash
# `flopline meter watch`'s other inputs through the real binary: dcgm-exporter telemetry (Prometheus
# text and the Prometheus API's JSON) beside a run's step events, with the hardware bound and MFU;
# Hugging Face Trainer logs (the console's logs dicts and trainer_state.json); step events pushed over
# HTTP (curl); signed step events (meter keygen, meter sign, --run-key).
set -u
bin=$1
root=$2
cd "$root" || exit 2
source tests/cli/lib.sh

# A run of 100 steps of 10 s (1e15 FLOP each) from 2026-01-01T00:00:00Z, and its two H100s'
# tensor activity scraped every 100 s over the same 1000 s at 0.5: the bound is 0.5 x 989.4e12 x
# 1000 s x 2 GPUs.
expect_ok simulate meter simulate --run r1 --steps 100 --step-seconds 10 --jitter 0 --tokens-per-step 1000 \
  --flop-per-token 1e12 --start 2026-01-01T00:00:00Z
cp "$tmp/out" "$tmp/steps.jsonl"
python3 - "$tmp" <<'PY'
import json, sys
d = sys.argv[1]
t0 = 1767225600
labels = '{{gpu="{g}",UUID="GPU-{g}",pci_bus_id="00000000:10:1C.0",device="nvidia{g}",modelName="NVIDIA H100 80GB HBM3",Hostname="node-1",DCGM_FI_DRIVER_VERSION="550.54.15",container="",namespace="",pod=""}}'
with open(f"{d}/dcgm.prom", "w") as f:
    for k in range(11):
        f.write("# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).\n# TYPE DCGM_FI_DEV_GPU_UTIL gauge\n")
        for g in (0, 1):
            f.write("DCGM_FI_DEV_GPU_UTIL" + labels.format(g=g) + " 100\n")
        f.write("# HELP DCGM_FI_PROF_PIPE_TENSOR_ACTIVE Ratio of cycles the tensor (HMMA) pipe is active.\n")
        f.write("# TYPE DCGM_FI_PROF_PIPE_TENSOR_ACTIVE gauge\n")
        for g in (0, 1):
            f.write("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE" + labels.format(g=g) + f" 0.500000 {(t0 + 100 * k) * 1000}\n")
# The same as Prometheus API answers: a range query, then an instant query repeating its last point.
with open(f"{d}/dcgm.json", "w") as f:
    result = [{"metric": {"__name__": "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "UUID": f"GPU-{g}", "gpu": str(g),
                          "modelName": "NVIDIA H100 80GB HBM3", "Hostname": "node-1"},
               "values": [[t0 + 100 * k, "0.5"] for k in range(11)]} for g in (0, 1)]
    f.write(json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}}) + "\n")
    last = [{"metric": r["metric"], "value": r["values"][-1]} for r in result]
    f.write(json.dumps({"status": "success", "data": {"resultType": "vector", "result": last}}) + "\n")
PY

expect_ok steps-and-telemetry meter watch "$tmp/steps.jsonl" --telemetry "r1=$tmp/dcgm.prom" --run r1=m --format json
cp "$tmp/out" "$tmp/both.json"
check hardware-bound-and-mfu python3 - "$tmp/both.json" <<'PY'
import json, sys
report = json.loads(open(sys.argv[1]).read().splitlines()[-1])["report"]
run = report["runs"][0]
h = run["hardware"]
bound = 0.5 * 989.4e12 * 1000 * 2
assert abs(h["flop_bound"] / bound - 1) < 1e-12, h
assert abs(h["peak_flop"] / (2 * bound) - 1) < 1e-12, h
assert h["gpus"] == 2 and h["samples"] == 22 and h["gpu_seconds"] == 2000, h
assert h["accelerators"] == [{"model_name": "NVIDIA H100 80GB HBM3", "accelerator": "H100-SXM",
                              "precision": "bf16", "peak_flop_per_second": 989.4e12}], h
assert abs(run["flop"] / 1e17 - 1) < 1e-12, run["flop"]
assert abs(run["mfu"] / (1e17 / (2 * bound)) - 1) < 1e-12, run["mfu"]
assert abs(run["model_over_bound"] / (1e17 / bound) - 1) < 1e-12, run["model_over_bound"]
assert report["bad_lines"] == 0 and report["lines_read"] == 100 + 22, report
PY

# The run's precision from the step events (fp8 here) picks the peak: twice the bf16 bound.
sed 's/"bf16"/"fp8"/' "$tmp/steps.jsonl" >"$tmp/steps-fp8.jsonl"
expect_ok fp8 meter watch "$tmp/steps-fp8.jsonl" --telemetry "r1=$tmp/dcgm.prom" --run r1=m --format json
check fp8-peak python3 -c "
import json,sys
h = json.loads(open('$tmp/out').read().splitlines()[-1])['report']['runs'][0]['hardware']
assert h['accelerators'][0]['precision'] == 'fp8' and abs(h['flop_bound'] / (0.5 * 1978.9e12 * 2000) - 1) < 1e-12, h"

# --input-format dcgm: the Prometheus API's JSON (the repeated instant answer counts nothing);
# --precision names the run's; the table says the bound.
expect_ok dcgm-json meter watch --input-format dcgm "$tmp/dcgm.json" --run r1=m --precision r1=bf16 --format json
check dcgm-json-bound python3 -c "
import json,sys
r = json.loads(open('$tmp/out').read().splitlines()[-1])['report']
h = r['runs'][0]['hardware']
assert abs(h['flop_bound'] / (0.5 * 989.4e12 * 2000) - 1) < 1e-12 and h['samples_repeated'] == 2, h
assert r['runs'][0]['mfu'] is None and r['lines_read'] == 2, r"
expect_ok dcgm-table meter watch --input-format dcgm "$tmp/dcgm.prom" --run r1=m
check dcgm-table-says-bound grep -q "hardware bound (tensor-active x peak): 9.89e+17 FLOP over 2 GPUs" "$tmp/out"

# Metrics: the bound and MFU as Prometheus series.
expect_ok metrics meter watch "$tmp/steps.jsonl" --telemetry "r1=$tmp/dcgm.prom" --run r1=m --metrics "$tmp/m.prom"
check metrics-bound grep -qE '^flopline_run_hardware_flop_bound_total\{run="r1",model="m"\} 9\.894e\+17$' "$tmp/m.prom"
check metrics-mfu grep -qE '^flopline_run_model_flops_utilization\{run="r1",model="m"\} 0\.0505' "$tmp/m.prom"

# An unknown accelerator: a bad line naming the file, the line and the name; exit 2.
sed '7s/NVIDIA H100 80GB HBM3/Quantum Abacus 9000/' "$tmp/dcgm.prom" >"$tmp/unknown.prom"
"$bin" meter watch --input-format dcgm "$tmp/unknown.prom" --run r1=m --format json >"$tmp/out" 2>"$tmp/err"
check unknown-exit-2 test $? -eq 2
check unknown-names-it grep -qE "^flopline meter: $tmp/unknown.prom:7: field 'modelName': unknown accelerator 'Quantum Abacus 9000'" "$tmp/err"
check unknown-one-line test "$(wc -l <"$tmp/err")" -eq 1

# Samples without timestamps in a file read once: each a bad line naming 'timestamp'. Read live
# (standard input), they are as of their reading.
sed -E 's/ ([0-9]+)000$//' "$tmp/dcgm.prom" | head -n 16 >"$tmp/live.prom"
"$bin" meter watch --input-format dcgm "$tmp/live.prom" --run r1=m --format json >"$tmp/out" 2>"$tmp/err"
check untimed-exit-2 test $? -eq 2
check untimed-field grep -qE "^flopline meter: $tmp/live.prom:7: field 'timestamp': the sample has no timestamp" "$tmp/err"
"$bin" meter watch --input-format dcgm --run r1=m --format json <"$tmp/live.prom" >"$tmp/out" 2>"$tmp/err"
check live-stdin python3 -c "
import json,sys
r = json.loads(open('$tmp/out').read().splitlines()[-1])['report']
h = r['runs'][0]['hardware']
assert r['bad_lines'] == 0 and h['gpus'] == 2 and h['samples'] + h['samples_repeated'] == 4, r"

# Hugging Face Trainer logs. The console: tqdm's bar before a logs dict, an evaluation, the final
# metrics; no clock in it, so a file read once is as of its modification time.
cfg=examples/configs/llama-3.1-8b-instruct.json
{
  printf ' 10%%|#         | 10/100 [00:20<03:00,  2.00s/it]'
  echo "{'loss': 2.3456, 'grad_norm': 1.25, 'learning_rate': 4.9e-05, 'epoch': 0.1, 'num_input_tokens_seen': 40960}"
  echo "{'loss': 2.1, 'grad_norm': 1.1, 'learning_rate': 4.8e-05, 'epoch': 0.2, 'num_input_tokens_seen': 81920}"
  echo "{'eval_loss': 2.0, 'eval_runtime': 3.2, 'eval_samples_per_second': 31.2, 'epoch': 0.2}"
  echo "Saving model checkpoint to out/checkpoint-20"
  echo "{'train_runtime': 40.5, 'train_samples_per_second': 9.9, 'train_steps_per_second': 0.5, 'total_flos': 1.5e+15, 'train_loss': 2.2, 'epoch': 0.2}"
} >"$tmp/train.log"
touch -d 2026-01-05T00:00:00Z "$tmp/train.log"
expect_ok hf-flops flops --config "$cfg" --tokens 81920 --format json
cp "$tmp/out" "$tmp/hf-flops.json"
expect_ok hf-config meter watch --input-format hf "$tmp/train.log" --run r1=m --config "r1=$cfg" --log-interval 10 --format json
check hf-config-count python3 - "$tmp/out" "$tmp/hf-flops.json" <<'PY'
import json, sys
report = json.loads(open(sys.argv[1]).read().splitlines()[-1])["report"]
run = report["runs"][0]
want = json.load(open(sys.argv[2]))["training_flop"]
assert abs(run["flop"] / want - 1) < 1e-12, (run["flop"], want)
assert run["tokens"] == 81920 and run["steps_counted"] == 2 and run["flop_from_config"] == 2, run
assert run["first_event"] == "2026-01-05T00:00:00Z", run["first_event"]
assert report["lines_read"] == 2 and report["bad_lines"] == 0, report
PY
# Without a config, the Trainer's own total_flos counts, once.
expect_ok hf-total-flos meter watch --input-format hf "$tmp/train.log" --run r1=m --log-interval 10 --format json
check hf-total-flos-count python3 -c "
import json
run = json.loads(open('$tmp/out').read().splitlines()[-1])['report']['runs'][0]
assert run['flop'] == 1.5e15 and run['steps_counted'] == 1 and run['tokens'] == 81920, run"

# trainer_state.json of two checkpoints: the later total_flos adds what the earlier did not count.
mkdir -p "$tmp/ckpt-30" "$tmp/ckpt-40"
python3 - "$tmp" <<'PY'
import json, sys
d = sys.argv[1]
history = [{"epoch": 0.1 * k, "grad_norm": 1.0, "learning_rate": 5e-05, "loss": 2.0, "num_input_tokens_seen": 40960 * k,
            "step": 10 * k} for k in (1, 2, 3, 4)]
history.insert(2, {"epoch": 0.2, "eval_loss": 2.0, "eval_runtime": 3.2, "step": 20})
for steps, flos, name in ((30, 2.25e15, "ckpt-30"), (40, 3e15, "ckpt-40")):
    state = {"best_metric": None, "epoch": steps / 100, "global_step": steps, "log_history": [h for h in history if h["step"] <= steps],
             "logging_steps": 10, "max_steps": 100, "num_train_epochs": 1, "save_steps": 10, "total_flos": flos,
             "train_batch_size": 4, "trial_name": None, "trial_params": None}
    with open(f"{d}/{name}/trainer_state.json", "w") as f:
        f.write(json.dumps(state, indent=2, sort_keys=True) + "\n")
PY
expect_ok hf-state meter watch --input-format hf "$tmp/ckpt-30/trainer_state.json" "$tmp/ckpt-40/trainer_state.json" --run r1=m --format json
check hf-state-count python3 -c "
import json
run = json.loads(open('$tmp/out').read().splitlines()[-1])['report']['runs'][0]
assert run['flop'] == 3e15 and run['steps_counted'] == 2 and run['tokens'] == 163840, run"
expect_ok hf-state-config meter watch --input-format hf "$tmp/ckpt-40/trainer_state.json" --run r1=m --config "r1=$cfg" --format json
check hf-state-config-count python3 -c "
import json
run = json.loads(open('$tmp/out').read().splitlines()[-1])['report']['runs'][0]
assert run['steps_counted'] == 4 and run['tokens'] == 163840 and run['flop_from_config'] == 4, run"

# Bad lines name the file, the line and the key.
{
  echo "{'loss': 2.0, 'num_input_tokens_seen': 4096}"
  echo "{'loss': 2.0, 'num_input_tokens_seen': -5}"
  echo "{'loss': 2.0, 'epoch': 0.1"
} >"$tmp/bad-hf.log"
"$bin" meter watch --input-format hf "$tmp/bad-hf.log" --run r1=m --config "r1=$cfg" --format json >"$tmp/out" 2>"$tmp/err"
check hf-bad-exit-2 test $? -eq 2
check hf-bad-lines python3 - "$tmp/err" "$tmp/bad-hf.log" <<'PY'
import sys
err = open(sys.argv[1]).read().splitlines()
f = sys.argv[2]
assert len(err) == 2, err
assert err[0].startswith(f"flopline meter: {f}:2: field 'num_input_tokens_seen'"), err
assert err[1].startswith(f"flopline meter: {f}:3: field 'epoch'"), err
PY
sed -i 's/"global_step": 40/"global_step": "forty"/' "$tmp/ckpt-40/trainer_state.json"
"$bin" meter watch --input-format hf "$tmp/ckpt-40/trainer_state.json" --run r1=m --format json >"$tmp/out" 2>"$tmp/err"
check hf-state-bad-exit-2 test $? -eq 2
check hf-state-bad-field grep -q "trainer_state.json:1: field 'global_step'" "$tmp/err"
expect_error hf-one-run 2 "--run" -- meter watch --input-format hf "$tmp/train.log" --run r1=m --run r2=m

# Step events pushed over HTTP: POST /v1/steps with the API token; a 400 naming each bad line and
# field; 401 without the token; 413 for a body over 1 MiB; the report at SIGTERM counts what came.
echo "push-token-0123456789abcdef" >"$tmp/push.token"
# start_pusher ARGS...: a meter serving pushes in the background ($pusher); its port in $port.
start_pusher() {
  "$bin" meter watch --listen 127.0.0.1:0 --push-token-file "$tmp/push.token" "$@" >"$tmp/push.out" 2>"$tmp/push.err" &
  pusher=$!
  port=
  for _ in $(seq 1 300); do
    port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$tmp/push.err" | grep -oE '[0-9]+$')
    [[ -n $port ]] && break
    sleep 0.1
  done
}
start_pusher --run r1=m --format json
check push-listening test -n "$port"
url="http://127.0.0.1:$port/v1/steps"
auth="Authorization: Bearer push-token-0123456789abcdef"
push() {  # push NAME BODY_FILE [CURL_ARGS...]: the status in $tmp/push.code, the answer in $tmp/push.body
  local body=$2
  shift 2
  curl -s -o "$tmp/push.body" -w '%{http_code}' --data-binary @"$body" "$@" "$url" >"$tmp/push.code"
}
{
  echo '{"run":"r1","time":1767225600,"step":1,"tokens":1000,"flop":1e18}'
  echo '{"run":"r1","time":1767225610,"step":2,"tokens":1000,"flop":1e18}'
} >"$tmp/push1.jsonl"
push good "$tmp/push1.jsonl" -H "$auth" -H 'Content-Type: application/x-ndjson'
check push-200 test "$(cat "$tmp/push.code")" = 200
check push-200-body python3 -c "
import json; b = json.load(open('$tmp/push.body')); assert b == {'lines': 2, 'counted': 2, 'repeated': 0, 'bad': 0}, b"
{
  echo '{"run":"r1","time":1767225620,"step":2,"tokens":1000,"flop":1e18}'
  echo ''
  echo '{"run":"r1","time":1767225630,"step":3,"tokens":-1000,"flop":1e18}'
  echo '{"run":"r9","time":1767225640,"step":4,"tokens":1000,"flop":1e18}'
  echo '{"run":"r1","time":1767225650,"step":5,"tokens":1000,"flop":1e18}'
} >"$tmp/push2.jsonl"
push bad "$tmp/push2.jsonl" -H "$auth"
check push-400 test "$(cat "$tmp/push.code")" = 400
check push-400-names-lines python3 - "$tmp/push.body" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
assert b["title"] == "bad step events" and b["status"] == 400, b
assert [(e["line"], e["field"]) for e in b["errors"]] == [(3, "tokens"), (4, "run")], b["errors"]
assert b["counted"] == 1 and b["repeated"] == 1 and b["bad"] == 2, b
assert b["detail"].startswith("push:127.0.0.1:3: field 'tokens'"), b["detail"]
PY
push no-token "$tmp/push1.jsonl"
check push-401 test "$(cat "$tmp/push.code")" = 401
push wrong-token "$tmp/push1.jsonl" -H "Authorization: Bearer push-token-0123456789abcdeX"
check push-401-wrong test "$(cat "$tmp/push.code")" = 401
python3 -c "
import sys
line = '{\"run\":\"r1\",\"time\":1767225700,\"step\":9,\"tokens\":1000,\"flop\":1e18}\n'
sys.stdout.write(line * (2 * 1024 * 1024 // len(line)))" >"$tmp/push-big.jsonl"
push too-big "$tmp/push-big.jsonl" -H "$auth"
check push-413 test "$(cat "$tmp/push.code")" = 413
kill -TERM "$pusher"
wait "$pusher"
check push-exit-2 test $? -eq 2  # bad lines were pushed
check push-report python3 - "$tmp/push.out" <<'PY'
import json, sys
report = json.loads(open(sys.argv[1]).read().splitlines()[-1])["report"]
run = report["runs"][0]
assert run["steps_counted"] == 3 and run["steps_repeated"] == 1 and run["flop"] == 3e18, run
assert report["bad_lines"] == 2 and report["lines_read"] == 6, report
PY
check push-stderr grep -q "^flopline meter: push:127.0.0.1:4: field 'run': unknown run 'r9'" "$tmp/push.err"
# The documented rate limit (docs/meter.md: 50 requests a second from one address, bursts of 100):
# one client pushing as fast as it can over one connection is answered 429 (a problem document with
# Retry-After) once its burst is spent, never admitted more than the bucket holds for the time it
# took, and a refused push meters nothing: the run counts exactly the steps of the pushes answered 200.
start_pusher --run r1=m --format json
check push-limit-listening test -n "$port"
check push-429 python3 - "$port" "$tmp/limit.json" <<'PY'
import http.client, json, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
auth = {"Authorization": "Bearer push-token-0123456789abcdef"}
accepted, refused, first_429 = 0, 0, None
start = time.monotonic()
for i in range(5000):
    body = json.dumps({"run": "r1", "time": 1767226000 + i, "step": 1000 + i, "tokens": 1000, "flop": 1e18})
    conn.request("POST", "/v1/steps", body=body, headers=auth)
    r = conn.getresponse()
    answer = r.read()
    if r.status == 200:
        accepted += 1
    elif r.status == 429:
        refused += 1
        if first_429 is None:
            first_429 = (r.getheader("Content-Type", ""), r.getheader("Retry-After"), json.loads(answer))
        if refused >= 20:
            break
    else:
        raise SystemExit(f"push {i}: {r.status} {answer[:200]!r}")
elapsed = time.monotonic() - start
assert first_429, f"no 429 in {accepted} pushes over {elapsed:.1f} s"
ctype, retry, doc = first_429
assert ctype.startswith("application/problem+json") and retry == "1" and doc["status"] == 429, first_429
# The bucket: 100 at the start, 50 more each second; a little slack for the clocks' edges.
assert accepted <= 100 + 50 * elapsed + 2, (accepted, elapsed)
assert accepted >= 100, accepted  # the burst itself is admitted
json.dump({"accepted": accepted, "refused": refused}, open(out, "w"))
PY
kill -TERM "$pusher"
wait "$pusher"
check push-limit-exit-0 test $? -eq 0
check push-limit-refused-metered-nothing python3 - "$tmp/push.out" "$tmp/limit.json" <<'PY'
import json, sys
report = json.loads(open(sys.argv[1]).read().splitlines()[-1])["report"]
accepted = json.load(open(sys.argv[2]))["accepted"]
run = report["runs"][0]
assert run["steps_counted"] == accepted and report["lines_read"] == accepted and run["flop"] == accepted * 1e18, (run, accepted)
PY
expect_error push-no-token 2 "--push-token-file" -- meter watch --listen 127.0.0.1:0 --run r1=m
expect_error push-token-no-listen 2 "--listen" -- meter watch "$tmp/steps.jsonl" --run r1=m --push-token-file "$tmp/push.token"
expect_error push-bad-listen 2 "--listen" -- meter watch --listen nowhere --push-token-file "$tmp/push.token" --run r1=m
echo short >"$tmp/short.token"
expect_error push-short-token 2 "--push-token-file" -- meter watch --listen 127.0.0.1:0 --push-token-file "$tmp/short.token" --run r1=m

# Signed step events: a run with a key meters only the events its key signed.
expect_ok keygen meter keygen --secret "$tmp/run.key" --public "$tmp/run.pub"
check keygen-prints-public test "$(cat "$tmp/out")" = "$(cat "$tmp/run.pub")"
check keygen-secret-mode test "$(stat -c %a "$tmp/run.key")" = 600
expect_error keygen-no-overwrite 2 "cannot create" -- meter keygen --secret "$tmp/run.key" --public "$tmp/other.pub"
expect_ok keygen-other meter keygen --secret "$tmp/other.key" --public "$tmp/other.pub"
head -n 20 "$tmp/steps.jsonl" >"$tmp/twenty.jsonl"
expect_ok sign meter sign --key "$tmp/run.key" "$tmp/twenty.jsonl"
cp "$tmp/out" "$tmp/signed.jsonl"
check signed-lines python3 -c "
import json
lines = open('$tmp/signed.jsonl').read().splitlines()
assert len(lines) == 20 and all(l.endswith('\"}') and ',\"sig\":\"' in l for l in lines)
assert all(json.loads(l)['step'] == i + 1 for i, l in enumerate(lines))"
expect_ok signed-watch meter watch "$tmp/signed.jsonl" --run r1=m --run-key "r1=$tmp/run.pub" --format json
check signed-counted python3 -c "
import json
run = json.loads(open('$tmp/out').read().splitlines()[-1])['report']['runs'][0]
assert run['steps_counted'] == 20 and abs(run['flop'] / 2e16 - 1) < 1e-12, run
assert run['signatures']['verified'] == 20 and run['signatures']['refused'] == 0, run['signatures']
assert run['signatures']['public_key'] == open('$tmp/run.pub').read().strip()"
# Unsigned, tampered and another key's events: bad lines naming 'sig', never metered.
{
  sed -n 1,2p "$tmp/signed.jsonl"
  sed -n 3p "$tmp/twenty.jsonl"
  sed -n 4p "$tmp/signed.jsonl" | sed 's/"tokens":1000/"tokens":9000/'
  sed -n 5p "$tmp/twenty.jsonl" | "$bin" meter sign --key "$tmp/other.key"
  sed -n 6p "$tmp/signed.jsonl"
} >"$tmp/mixed.jsonl"
"$bin" meter watch "$tmp/mixed.jsonl" --run r1=m --run-key "r1=$tmp/run.pub" --format json >"$tmp/out" 2>"$tmp/err"
check mixed-exit-2 test $? -eq 2
check mixed-bad-lines python3 - "$tmp/err" "$tmp/mixed.jsonl" "$tmp/out" <<'PY'
import json, sys
err = open(sys.argv[1]).read().splitlines()
f = sys.argv[2]
assert [l.split(": field")[0] for l in err] == [f"flopline meter: {f}:{n}" for n in (3, 4, 5)], err
assert all("field 'sig'" in l for l in err), err
assert "must be signed" in err[0] and "does not verify" in err[1] and "does not verify" in err[2], err
run = json.loads(open(sys.argv[3]).read().splitlines()[-1])["report"]["runs"][0]
assert run["steps_counted"] == 3 and run["signatures"] == {"public_key": run["signatures"]["public_key"], "verified": 3, "refused": 3}, run
PY
# Checked with another key, every event is refused.
"$bin" meter watch "$tmp/signed.jsonl" --run r1=m --run-key "r1=$tmp/other.pub" --format json >"$tmp/out" 2>"$tmp/err"
check wrong-key-refuses-all python3 -c "
import json
r = json.loads(open('$tmp/out').read().splitlines()[-1])['report']
assert r['bad_lines'] == 20 and r['runs'][0]['steps_counted'] == 0, r"
# Pushed events of a keyed run are checked the same way.
start_pusher --run r1=m --run-key "r1=$tmp/run.pub" --format json
url="http://127.0.0.1:$port/v1/steps"
sed -n 1,2p "$tmp/signed.jsonl" >"$tmp/push-signed.jsonl"
push signed "$tmp/push-signed.jsonl" -H "$auth"
check push-signed-200 python3 -c "
import json; b = json.load(open('$tmp/push.body')); assert b['counted'] == 2 and b['bad'] == 0, b"
sed -n 3p "$tmp/twenty.jsonl" >"$tmp/push-unsigned.jsonl"
push unsigned "$tmp/push-unsigned.jsonl" -H "$auth"
check push-unsigned-400 python3 -c "
import json; b = json.load(open('$tmp/push.body'))
assert '$(cat "$tmp/push.code")' == '400' and [(e['line'], e['field']) for e in b['errors']] == [(1, 'sig')], b"
kill -TERM "$pusher"
wait "$pusher"
expect_error run-key-no-run 2 "--run-key" -- meter watch "$tmp/signed.jsonl" --run r1=m --run-key "r9=$tmp/run.pub"
expect_error run-key-not-a-key 2 "--run-key" -- meter watch "$tmp/signed.jsonl" --run r1=m --run-key "r1=$tmp/run.key"
{ sed -n 1p "$tmp/twenty.jsonl"; echo '{"run":"r1","step":2}'; } >"$tmp/nope.jsonl"
expect_error sign-not-an-event 2 "nope.jsonl:2" -- meter sign --key "$tmp/run.key" "$tmp/nope.jsonl"
chmod 644 "$tmp/other.key"
expect_error sign-key-mode 2 "--key" -- meter sign --key "$tmp/other.key" "$tmp/twenty.jsonl"
expect_error sign-public-as-secret 2 "--key" -- meter sign --key "$tmp/run.pub" "$tmp/twenty.jsonl"

# Flags.
expect_error telemetry-no-run 2 "--telemetry" -- meter watch "$tmp/steps.jsonl" --run r1=m --telemetry "r9=$tmp/dcgm.prom"
expect_error telemetry-shape 2 "RUN=FILE" -- meter watch "$tmp/steps.jsonl" --run r1=m --telemetry "$tmp/dcgm.prom"
expect_error telemetry-missing 2 "cannot open" -- meter watch "$tmp/steps.jsonl" --run r1=m --telemetry "r1=$tmp/none.prom"
expect_error dcgm-one-run 2 "--run" -- meter watch --input-format dcgm "$tmp/dcgm.prom" --run r1=m --run r2=m
expect_error precision-no-run 2 "--precision" -- meter watch "$tmp/steps.jsonl" --run r1=m --precision r9=fp8
expect_error bad-format 2 "--input-format" -- meter watch "$tmp/steps.jsonl" --run r1=m --input-format csv

finish
