#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL on loopback for the tests and benchmarks of the PostgreSQL
# backend (Debian's postgresql package). PostgreSQL refuses to run as root, so as root the cluster
# belongs to the `postgres` user (ARCHITECTURE.md "verified on this machine").
#
#   scripts/pg-test-server.sh start DIR PORT   # prints the libpq connection string
#   scripts/pg-test-server.sh stop DIR
#   scripts/pg-test-server.sh crash DIR        # immediate shutdown (no checkpoint: a crash)
#   scripts/pg-test-server.sh restart DIR PORT # starts the crashed cluster again (crash recovery)
#
# DIR (in the build tree) only records where the cluster is. The cluster itself lives in a fresh
# `mktemp -d` folder under /tmp: the `postgres` user must reach it, and a checkout in a private
# folder (root's home, any mktemp -d folder: mode 0700) is out of its reach (issue 10 item 17).
set -euo pipefail

usage="usage: pg-test-server.sh start DIR PORT | stop DIR | crash DIR | restart DIR PORT"
action=${1:?$usage}
dir=${2:?$usage}
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

# Stops the cluster DIR records, keeps its server log in DIR, and removes it. Only a folder this
# script made (/tmp/flopline-pg.*) is ever removed.
stop_recorded() {
  local state="$dir/cluster" cluster
  [[ -f "$state" ]] || return 0
  cluster=$(cat "$state")
  if [[ "$cluster" == /tmp/flopline-pg.* && -d "$cluster" ]]; then
    as_owner "$bin/pg_ctl -D '$cluster/data' stop -m fast" >/dev/null 2>&1 || true
    cp "$cluster/server.log" "$dir/server.log" 2>/dev/null || true
    rm -rf "$cluster"
  fi
  rm -f "$state"
}

# Starts the server of cluster $1 on port $2 (loopback only), waiting until it accepts connections.
start_server() {
  # fsync and synchronous_commit stay at their defaults (on): the tests measure durable commits.
  as_owner "$bin/pg_ctl -D '$1/data' -l '$1/server.log' -w -t 60 \
    -o \"-p $2 -k '$1' -c listen_addresses=127.0.0.1 -c max_connections=200\" start" >/dev/null || {
    cat "$1/server.log" >&2; exit 1; }
}

recorded_cluster() {
  local cluster
  cluster=$(cat "$dir/cluster" 2>/dev/null) || { echo "pg-test-server: no cluster recorded in $dir" >&2; exit 1; }
  [[ "$cluster" == /tmp/flopline-pg.* && -d "$cluster" ]] || { echo "pg-test-server: $cluster is gone" >&2; exit 1; }
  echo "$cluster"
}

case "$action" in
  start)
    port=${3:?$usage}
    mkdir -p "$dir"
    stop_recorded
    # The cluster from a build tree of an earlier version (inside DIR itself), if one still runs.
    as_owner "$bin/pg_ctl -D '$dir/data' stop -m immediate" >/dev/null 2>&1 || true
    cluster=$(mktemp -d /tmp/flopline-pg.XXXXXX)
    echo "$cluster" >"$dir/cluster"
    [[ $(id -u) -eq 0 ]] && chown postgres "$cluster"
    as_owner "$bin/initdb -D '$cluster/data' -A trust -U postgres" >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2; exit 1; }
    start_server "$cluster" "$port"
    echo "host=127.0.0.1 port=$port user=postgres dbname=postgres"
    ;;
  crash)
    cluster=$(recorded_cluster)
    as_owner "$bin/pg_ctl -D '$cluster/data' stop -m immediate" >/dev/null
    ;;
  restart)
    port=${3:?$usage}
    cluster=$(recorded_cluster)
    start_server "$cluster" "$port"
    ;;
  stop)
    stop_recorded
    ;;
  *)
    echo "$usage" >&2
    exit 2
    ;;
esac
