#!/usr/bin/env bash
# `flopline forecast`: the debate's figures through the front door, JSON shape, SVG, bad flags.
# Usage: forecast_cli_test.sh FLOPLINE_BINARY SOURCE_DIR
set -uo pipefail
bin=$1
src=$2
source "$(dirname "$0")/lib.sh"

expect_ok capability-json forecast capability --base-year 2024 --base-cost-usd 1e8 --years 2029,2034 \
  --hardware-halving-years 2.5 --combined-factor 50 --per-years 5 --samples 0 --format json
check debate-figures python3 - "$tmp/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
y = {row["year"]: row for row in d["years"]}
assert round(y[2029]["hardware_only"]["cost_usd"]) == 25_000_000
assert round(y[2034]["hardware_only"]["cost_usd"]) == 6_250_000
assert round(y[2029]["combined"]) == 2_000_000
assert round(y[2034]["combined"]) == 40_000
PY

expect_ok cost-json forecast cost --flop 1e26 --years 2024..2034 --budget 2e6 --samples 2000 --format json \
  --svg "$tmp/cost.svg"
check cost-contract python3 - "$tmp/out" "$tmp/cost.svg" <<'PY'
import json, sys, xml.dom.minidom
d = json.load(open(sys.argv[1]))
assert [r["year"] for r in d["years"]] == list(range(2024, 2035))
for r in d["years"]:
    assert r["p5"] <= r["p50"] <= r["p95"]
assert d["budgets"][0]["budget_usd"] == 2e6 and d["budgets"][0]["first_year_below"] > 2034
xml.dom.minidom.parse(sys.argv[2])  # the chart is well-formed XML
PY

expect_ok threshold-table forecast threshold --regime ca-sb1047 --samples 1000
check threshold-says-vetoed grep -q "vetoed on 2024-09-29" "$tmp/out"

expect_error negative-halving 2 "hardware-halving-years.*positive" -- forecast cost --flop 1e26 --years 2024..2030 --hardware-halving-years -2.5
expect_error empty-range 2 "--years.*empty" -- forecast cost --flop 1e26 --years 2034..2024
expect_error year-before-base 2 "before the base year 2024" -- forecast capability --base-year 2024 --base-cost-usd 1e8 --years 2020
expect_error not-a-year 2 "--years" -- forecast cost --flop 1e26 --years soon
expect_error no-flop 2 "--flop.*required" -- forecast cost --years 2024..2030
expect_error combined-alone 2 "--per-years" -- forecast capability --base-year 2024 --base-cost-usd 1e8 --years 2029 --combined-factor 50
expect_error unknown-regime 2 "known: ca-sb1047" -- forecast threshold --regime xx
expect_error no-price-year 2 "no price for H100-SXM.*--usd-per-flop" -- forecast cost --flop 1e26 --years 2020..2030

finish
