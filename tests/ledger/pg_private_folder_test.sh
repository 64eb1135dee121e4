#!/usr/bin/env bash
# Issue 10 item 17: a checkout in a private folder (mode 0700: root's home on Debian, any mktemp -d
# folder) must still get its PostgreSQL test cluster. The cluster runs as the `postgres` user, which
# cannot enter such a folder, so it must not live in the build tree. Run as root (as CI is) this
# failed before the fix: "initdb: could not access directory .../pg-test/data: Permission denied".
# Usage: pg_private_folder_test.sh PG_TEST_SERVER_SCRIPT PORT
set -euo pipefail
script=$1
port=$2
work=$(mktemp -d)
chmod 700 "$work"
state=$work/checkout/build/pg-test
trap 'bash "$script" stop "$state" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
conninfo=$(bash "$script" start "$state" "$port")
test "$(psql "$conninfo" -Atc 'SELECT 1')" = 1
cluster=$(cat "$state/cluster")
case "$cluster" in
  "$work"*) echo "FAIL: the cluster is inside the private folder: $cluster" >&2; exit 1 ;;
esac
bash "$script" stop "$state"
if [[ -e "$cluster" ]]; then echo "FAIL: stop left $cluster behind" >&2; exit 1; fi
echo "ok: a checkout in a 0700 folder got its cluster in $cluster (as uid $(id -u))"
