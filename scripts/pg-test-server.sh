#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL on loopback for the tests and benchmarks of the PostgreSQL
# backend (Debian's postgresql package). PostgreSQL refuses to run as root, so as root the cluster
# belongs to the `postgres` user (ARCHITECTURE.md "verified on this machine").
#
#   scripts/pg-test-server.sh start DIR PORT   # prints the libpq connection string
#   scripts/pg-test-server.sh stop DIR
set -euo pipefail

action=${1:?usage: pg-test-server.sh start DIR PORT | stop DIR}
dir=${2:?usage: pg-test-server.sh start DIR PORT | stop DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [[ -z "$bin" ]]; then
  echo "pg-test-server: PostgreSQL is not installed (scripts/install-deps.sh installs it)" >&2
  exit 1
fi

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    su postgres -s /bin/sh -c "$*"
  else
    sh -c "$*"
  fi
}

case "$action" in
  start)
    port=${3:?usage: pg-test-server.sh start DIR PORT}
    as_owner "$bin/pg_ctl -D '$dir/data' stop -m immediate" >/dev/null 2>&1 || true
    rm -rf "$dir"
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres "$dir"
    as_owner "$bin/initdb -D '$dir/data' -A trust -U postgres" >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2; exit 1; }
    # fsync and synchronous_commit stay at their defaults (on): the tests measure durable commits.
    as_owner "$bin/pg_ctl -D '$dir/data' -l '$dir/server.log' -w -t 60 \
      -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c max_connections=200\" start" >/dev/null || {
      cat "$dir/server.log" >&2; exit 1; }
    echo "host=127.0.0.1 port=$port user=postgres dbname=postgres"
    ;;
  stop)
    as_owner "$bin/pg_ctl -D '$dir/data' stop -m fast" >/dev/null 2>&1 || true
    ;;
  *)
    echo "usage: pg-test-server.sh start DIR PORT | stop DIR" >&2
    exit 2
    ;;
esac
