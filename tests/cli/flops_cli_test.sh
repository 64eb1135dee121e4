#!/usr/bin/env bash
# The `flopline flops` front door: exit codes, one-line errors naming file/line/field, JSON keys.
# Usage: flops_cli_test.sh FLOPLINE_BINARY SOURCE_DIR
set -uo pipefail
bin=$1
src=$2
source "$(dirname "$0")/lib.sh"

cfg=$src/examples/configs/llama-2-7b-chat.json
printf '{\n  "model_type": "llama",\n  "hidden_size": 4096,,\n}\n' >"$tmp/malformed.json"
printf '{\n  "model_type": "llama",\n  "hidden_size": "big",\n  "vocab_size": 3\n}\n' >"$tmp/wrongtype.json"
printf '{"model_type": "bert", "hidden_size": 768}\n' >"$tmp/bert.json"

expect_error missing-file 2 "does not exist|not found|No such" -- flops --config "$tmp/none.json" --tokens 1e12
expect_error malformed-json 2 "malformed.json:3:[0-9]+: malformed JSON" -- flops --config "$tmp/malformed.json" --tokens 1e12
expect_error wrong-type 2 "wrongtype.json:3:3: field 'hidden_size': expected an integer" -- flops --config "$tmp/wrongtype.json" --tokens 1e12
expect_error unknown-model-type 2 "field 'model_type': unsupported model_type 'bert'; supported: .*llama.*--params" -- flops --config "$tmp/bert.json" --tokens 1e12
expect_error negative-tokens 2 "field 'tokens': must be a positive number" -- flops --config "$cfg" --tokens -5
expect_error zero-tokens 2 "field 'tokens': must be a positive number" -- flops --config "$cfg" --tokens 0
expect_error text-tokens 2 "tokens" -- flops --config "$cfg" --tokens lots
expect_error no-tokens 2 "field 'tokens': is required" -- flops --config "$cfg"
expect_error unknown-accelerator 2 "unknown accelerator 'Z9000'; known: .*H100-SXM" -- flops --accelerator Z9000 --count 8 --hours 10
expect_error bad-utilization 2 "utilization" -- flops --accelerator H100 --count 8 --hours 10 --utilization 1.5
expect_error bad-start 2 "--start.*YYYY-MM-DD" -- flops --params 1e9 --tokens 1e12 --start 2024-13-01
expect_error nothing 2 "nothing to estimate" -- flops
# Issue 10 item 15: a result beyond a double printed "inf FLOP" and exited 0. Non-finite or
# overflowing inputs and results are refused, naming the flag.
expect_error huge-tokens 2 "field 'tokens'.*1e\\+300.*beyond" -- flops --config "$cfg" --tokens 1e300
expect_error inf-tokens 2 "tokens" -- flops --config "$cfg" --tokens inf
expect_error nan-tokens 2 "tokens" -- flops --config "$cfg" --tokens nan
expect_error overflow-tokens 2 "tokens" -- flops --params 1e9 --tokens 1e400
expect_error huge-params 2 "field 'params'.*beyond" -- flops --params 1e300 --tokens 1e12
expect_error huge-hours 2 "field 'hours'.*beyond" -- flops --accelerator H100 --count 1e200 --hours 1e200
expect_error nan-cost 2 "cost" -- flops --params 1e9 --tokens 1e12 --cost-usd nan
expect_error huge-cost 2 "field 'cost_usd'.*beyond" -- flops --params 1e9 --tokens 1e12 --cost-usd 1.7e308
expect_error huge-price 2 "field 'price_per_hour'.*beyond" -- flops --accelerator H100 --count 1e6 --hours 1e6 \
  --start 2025-01-01 --price-per-hour 1e10
# Encoder-decoder models: --tokens counts encoder tokens, --decoder-ratio the decoder's per encoder token.
t5=$src/tests/fixtures/configs/t5-base.json
expect_error t5-no-ratio 2 "field 'decoder_ratio': is required" -- flops --config "$t5" --tokens 34e9
expect_error ratio-decoder-only 2 "field 'decoder_ratio': applies to encoder-decoder" -- flops --config "$cfg" --tokens 1e12 --decoder-ratio 0.2
expect_ok t5 flops --config "$t5" --tokens 34e9 --decoder-ratio 0.22 --format json
check t5-json python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['params_total'] == 222903552 and d['decoder_seq_len'] == 113 and d['decoder_tokens_per_encoder_token'] == 0.22" "$tmp/out"
# An unknown key that may change the count is refused by name; a new family names the closest.
printf '{"model_type": "llama", "hidden_size": 64, "vocab_size": 10, "num_hidden_layers": 1,\n "num_attention_heads": 4, "intermediate_size": 128, "num_experts": 8}\n' >"$tmp/extra.json"
expect_error unknown-key 2 "extra.json:2:[0-9]+: field 'num_experts': is not described by .*llama.toml" -- flops --config "$tmp/extra.json" --tokens 1e12
printf '{"model_type": "qwen3_vl"}\n' >"$tmp/vl.json"
expect_error closest 2 "Closest known: qwen3.*data/architectures" -- flops --config "$tmp/vl.json" --tokens 1e12
# Vision-language models: the tower's FLOP per image, with images per sample and their size.
vl=$src/tests/fixtures/configs/qwen2.5-vl-7b-instruct.json
expect_error vl-no-size 2 "field 'image_size': is required" -- flops --config "$vl" --tokens 1e12 --seq-len 4096 --images-per-sample 2
expect_ok vl flops --config "$vl" --tokens 1e12 --seq-len 4096 --images-per-sample 2 --image-size 448 --format json
check vl-json python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['params_total'] == 8292166656 and d['image_tokens_per_image'] == 256 and d['breakdown']['vision_tower'] > 0" "$tmp/out"
expect_error no-price 2 "no price for MI300X.*--price-per-hour" -- flops --accelerator MI300X --count 8 --hours 10 --start 2025-01-01

# Successful runs and the JSON contract.
expect_ok table flops --config "$cfg" --tokens 2e12
expect_ok json flops --config "$cfg" --tokens 2e12 --accelerator A100-SXM4-80GB --count 1 --hours 184320 \
  --start 2023-01-01 --format json
check json-contract python3 - "$tmp/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for key in ["params_total", "params_active", "flop_per_token_forward", "training_flop", "training_flop_6nd",
            "training_flop_low", "training_flop_high", "cost_usd"]:
    assert isinstance(d[key], (int, float)) and not isinstance(d[key], bool), key
assert d["params_total"] == 6738415616
assert d["method"] == "architecture+hardware-time"
assert d["cost_source"] == "cloud-price-table"
assert isinstance(d["breakdown"], dict) and d["breakdown"]["mlp"] > 0
assert abs(sum(d["breakdown"].values()) / d["training_flop"] - 1) < 1e-9
assert d["training_flop_low"] <= d["training_flop"] <= d["training_flop_high"]
PY

expect_ok runs-table flops --runs "$src/examples/runs.toml"
expect_ok runs-json flops --runs "$src/examples/runs.toml" --format json
check runs-json-contract python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert len(r) >= 5 and all('name' in x for x in r)" "$tmp/out"

finish
