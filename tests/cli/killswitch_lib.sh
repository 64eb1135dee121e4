# Shared by the kill switch's etcd CLI tests (chaos, stall). Source after lib.sh, with `tag` set
# (the digits that mark this run's workloads: `sleep TAG...`).
now_ms() { date +%s%3N; }
wait_until() {  # MS COMMAND...: polls every 20 ms until the command succeeds or MS pass
  local deadline=$(($(now_ms) + $1)); shift
  until "$@"; do
    (($(now_ms) > deadline)) && return 1
    sleep 0.02
  done
}
alive() { pgrep -f "^sleep $tag$1\$" >/dev/null 2>&1; }  # DIGITS: that workload runs
gone() { ! alive "$1"; }
