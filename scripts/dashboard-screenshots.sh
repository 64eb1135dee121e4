#!/usr/bin/env bash
# Refreshes docs/screenshots/: the browser tests (tests/web/dashboard.test.mjs) run against a fresh
# workspace of the example models, and save each page they check as PNG at 1366x768 (a laptop
# screen), in the America/Los_Angeles time zone.
#   scripts/dashboard-screenshots.sh [FLOPLINE_BINARY]   (default build/flopline)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
binary=${1:-$root/build/flopline}
bash "$root/tests/web/npm-ci.sh" >/dev/null
mkdir -p "$root/docs/screenshots"
FLOPLINE_SCREENSHOTS="$root/docs/screenshots" node --test-reporter=spec "$root/tests/web/dashboard.test.mjs" "$binary" "$root"
FLOPLINE_SCREENSHOTS="$root/docs/screenshots" node --test-reporter=spec "$root/tests/web/meter.test.mjs" "$binary" "$root"
ls -l "$root/docs/screenshots"
