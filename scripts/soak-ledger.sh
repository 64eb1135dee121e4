#!/usr/bin/env bash
# The ledger's long crash soak (issue 16 item 1; docs/reliability.md): 1,000 SIGKILL rounds of
# concurrent writer processes on SQLite and on PostgreSQL, 100 kills of the PostgreSQL server itself
# (immediate shutdown) under load, a disk that fills up and a file system that turns read-only under
# a running writer. Every round checks each acknowledged record byte for byte and runs
# `flopline ledger verify`. The default test run (ctest: ledger_soak_short) runs a few rounds of each.
#
#   scripts/soak-ledger.sh [BUILD_DIR]      # default build (the release preset, as `make soak`)
#
# Environment: SOAK_ROUNDS (1000), SOAK_SERVER_KILLS (100), SOAK_SEED (20261126), SOAK_PG_PORT
# (55498: the soak starts and stops its own PostgreSQL there, and kills it). Mounting the tmpfs and
# the loop image needs root; without it those two tests are skipped and say so.
set -euo pipefail
build_dir=${1:-build}
binary="$build_dir/tests/ledger_soak_test"
if [[ ! -x "$binary" ]]; then
  echo "soak-ledger: $binary is missing: build it first (cmake --build $build_dir --target ledger_soak_test)" >&2
  exit 2
fi
export FLOPLINE_SOAK_ROUNDS=${SOAK_ROUNDS:-1000}
export FLOPLINE_SOAK_SERVER_KILLS=${SOAK_SERVER_KILLS:-100}
export FLOPLINE_SOAK_SEED=${SOAK_SEED:-20261126}
export FLOPLINE_SOAK_PG_PORT=${SOAK_PG_PORT:-55498}
echo "soak-ledger: $FLOPLINE_SOAK_ROUNDS SIGKILL rounds per backend, $FLOPLINE_SOAK_SERVER_KILLS server kills," \
  "seed $FLOPLINE_SOAK_SEED, PostgreSQL on port $FLOPLINE_SOAK_PG_PORT"
start=$(date +%s)
status=0
"$binary" --gtest_brief=0 || status=$?
echo "soak-ledger: $(( $(date +%s) - start )) s, exit $status"
exit $status
