#!/usr/bin/env bash
# Meters two synthetic runs into a workspace's store, as a lab would: the models imported into the
# workspace, `flopline meter simulate` streams, and `flopline meter watch --store` fed each stream in
# chunks (a meter that stops and resumes from the ledger), so each run has several meter-state
# records (a history). Used by tests/cli/meter_serve_test.sh and tests/web/meter.test.mjs.
#   r1 trains acme-f2: 820 steps of 1e22 FLOP, 82% of the EU's 1e25 line, not crossed; the SB 1047
#      protocol before training is not recorded (duties unmet); the cybersecurity attestation is.
#   r2 trains acme-f3: 1100 steps, crosses the EU line (a threshold-crossed record).
# Usage: meter_seed.sh FLOPLINE_BINARY SOURCE_DIR STORE OUT_DIR
# Leaves OUT_DIR/report-r1.json and report-r2.json: the meter's own last report of each run.
set -euo pipefail
bin=$1
src=$2
store=$3
out=$4
mkdir -p "$out"
cd "$src"  # the law (regimes/) and the tables (data/) are found from here
cat >"$out/models.toml" <<'TOML'
[[model]]
id = "acme-f2"
developer = "Acme AI"
developer_revenue_usd = 2.0e9
foundation_model = true
derivation = "pretrain"

[[model]]
id = "acme-f3"
developer = "Acme AI"
developer_revenue_usd = 2.0e9
foundation_model = true
derivation = "pretrain"

[[event]]
model = "acme-f2"
kind = "cybersecurity-attested"
at = 2025-12-15T12:00:00Z
TOML
"$bin" import --store "$store" "$out/models.toml" >/dev/null
# meter RUN MODEL STEPS CHUNK: the run simulated, then watched CHUNK lines at a time.
meter() {
  local run=$1 model=$2 steps=$3 chunk=$4
  "$bin" meter simulate --run "$run" --steps "$steps" --tokens-per-step 1e9 --flop-per-token 1e13 \
    --step-seconds 60 --jitter 0.2 --seed 11 --start 2026-01-10T00:00:00Z >"$out/$run.jsonl"
  local first=1
  while ((first <= steps)); do
    sed -n "${first},$((first + chunk - 1))p" "$out/$run.jsonl" >"$out/$run.chunk.jsonl"
    "$bin" meter watch "$out/$run.chunk.jsonl" --run "$run=$model" --models "$out/models.toml" \
      --regime eu-ai-act-gpai,ca-sb1047 --store "$store" --priced-at 2026-01-01 --format json \
      >"$out/$run.out" 2>"$out/$run.err"
    first=$((first + chunk))
  done
  tail -n 1 "$out/$run.out" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["report"]["runs"][0]))' \
    >"$out/report-$run.json"
}
meter r1 acme-f2 820 205
meter r2 acme-f3 1100 550
