#!/usr/bin/env bash
# Installs the browser tests' packages (tests/web/package-lock.json) with `npm ci`: exactly the locked
# versions, each tarball checked against the lock's sha512. Skipped when node_modules was installed
# from this very lock (a stamp holds the lock's SHA-256). The ctest fixture `web_npm` runs it.
set -euo pipefail
cd "$(dirname "$0")"
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -f node_modules/.flopline-lock-sha256 && $(cat node_modules/.flopline-lock-sha256) == "$want" ]]; then
  echo "tests/web: node_modules already installed from this lock"
  exit 0
fi
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
echo "$want" > node_modules/.flopline-lock-sha256
echo "tests/web: installed from package-lock.json"
