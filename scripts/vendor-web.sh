#!/usr/bin/env bash
# Refreshes web/vendor/ from the pinned packages of web/package-lock.json: `npm ci` (which checks
# every tarball against the lock's sha512 integrity), then copies the files named in web/package.json's
# "flopline_vendor" map (package path -> vendor path), byte for byte. Run it after changing a version
# in web/package.json (then `npm install --package-lock-only` there) and commit web/vendor/ with the lock.
# tests/web/check-vendor.mjs (ctest web_vendor) checks that the committed copies are these files.
set -euo pipefail
web=$(cd "$(dirname "$0")/../web" && pwd)
cd "$web"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
rm -rf vendor
node -e '
const fs = require("fs"), path = require("path");
const map = JSON.parse(fs.readFileSync("package.json", "utf8")).flopline_vendor;
for (const [from, to] of Object.entries(map)) {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(path.join("node_modules", from), to);
  console.log(`${to} <- ${from}`);
}'
