#!/usr/bin/env bash
# Issue 16: two etcd faults a controller must ride out, each made deterministic on a 3-member
# cluster on loopback, with two controllers (A, B) sharing it and a lease of 2 s.
#
# 1. cutoff: the member both controllers talk to stops answering (SIGSTOP: the kernel accepts its
#    connections, nothing answers, as behind a partition that drops packets) while an order is
#    issued at A for one agent on each controller. Each controller must move to a healthy member
#    within about a lease: the order's own 8 s timeout is the bound. Before the fix the chaos test's
#    partition rounds took 5-13.6 s (curl's 5 s per member for the fence and the ack, then the
#    watch's 4 s silence bound before it left the member): here the report came back incomplete.
# 2. all-down: every member SIGKILLed while controller B has an agent's acknowledgement (and its
#    removal) to write, then restarted. The write must be kept and sent once a member is back: A's
#    report complete, and the agent gone from what A sees. Before the fix a batched write that no
#    member accepted was dropped after one try: A's report said the agent was not stopped (it was),
#    and A kept it among the agents enrolled elsewhere.
# Usage: killswitch_etcd_faults_test.sh FLOPLINE_BINARY
set -uo pipefail
bin=$1
source "$(dirname "$0")/lib.sh"
export tag="6$$"                 # marks this run's workloads (digits: sleep's argument)
base=$((24000 + RANDOM % 8000))  # below the ephemeral range (32768-)
pids=()
declare -A member                # etcd member index -> pid
cleanup_all() {
  for p in "${member[@]}"; do kill -CONT "$p" 2>/dev/null; done
  for p in "${pids[@]}" "${member[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  pkill -9 -f "^sleep $tag" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup_all EXIT
source "$(dirname "$0")/killswitch_lib.sh"

client=("" $((base + 1)) $((base + 2)) $((base + 3)))
peer=("" $((base + 11)) $((base + 12)) $((base + 13)))
cluster="e1=http://127.0.0.1:${peer[1]},e2=http://127.0.0.1:${peer[2]},e3=http://127.0.0.1:${peer[3]}"
all="http://127.0.0.1:${client[1]},http://127.0.0.1:${client[2]},http://127.0.0.1:${client[3]}"
start_member() {  # I
  local i=$1
  etcd --name "e$i" --data-dir "$tmp/e$i" \
    --listen-client-urls "http://127.0.0.1:${client[i]}" --advertise-client-urls "http://127.0.0.1:${client[i]}" \
    --listen-peer-urls "http://127.0.0.1:${peer[i]}" --initial-advertise-peer-urls "http://127.0.0.1:${peer[i]}" \
    --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token "flef$$" \
    --heartbeat-interval 50 --election-timeout 500 >>"$tmp/e$i.log" 2>&1 &
  member[$i]=$!
}
etcdctl_() { ETCDCTL_API=3 etcdctl --dial-timeout=1s --command-timeout=2s --endpoints="$all" "$@"; }
healthy() { [[ $(etcdctl_ endpoint health 2>&1 | grep -c "is healthy") -eq 3 ]]; }
for i in 1 2 3; do start_member $i; done
check cluster-healthy wait_until 60000 healthy
lead=$(etcdctl_ endpoint status -w json 2>/dev/null | python3 -c '
import json, sys
for s in json.load(sys.stdin):
    if s["Status"]["header"]["member_id"] == s["Status"]["leader"]:
        print({e: i for i, e in enumerate(sys.argv[1].split(","), 1)}[s["Endpoint"]]); break' "$all")
f=$(( ${lead:-1} % 3 + 1 ))  # a follower: stopping it needs no election
others=""
for i in 1 2 3; do [[ $i -ne $f ]] && others+=",http://127.0.0.1:${client[i]}"; done
endpoints="http://127.0.0.1:${client[f]}$others"  # the follower first: every client starts there

PA=$((base + 21)); PB=$((base + 22))
start_controller() {  # PORT
  "$bin" killswitch controller --listen "127.0.0.1:$1" --key "$tmp/ks.key" --lease-ttl 2 \
    --etcd "$endpoints" 2>>"$tmp/controller-$1.log" &
  pids+=($!)
  wait_until 30000 grep -q "listening" "$tmp/controller-$1.log"
}
check controller-a-up start_controller $PA
check controller-b-up start_controller $PB
"$bin" killswitch credential --key "$tmp/ks.key" --operator --out "$tmp/op.cred" 2>/dev/null
start_agent() {  # NAME MODEL PORT DIGITS [WORKLOAD...]
  local name=$1 model=$2 port=$3 digits=$4
  shift 4
  "$bin" killswitch credential --key "$tmp/ks.key" --agent "$name" --out "$tmp/cred-$name" 2>/dev/null
  local workload=("$@")
  ((${#workload[@]})) || workload=(sleep "$tag$digits")
  "$bin" killswitch agent --controller "127.0.0.1:$port" --id "$name" --model "$model" --grace 2 \
    --credential "$tmp/cred-$name" -- "${workload[@]}" 2>>"$tmp/agent-$name.log" &
  pids+=($!)
}
report_ok() {  # FILE TARGETED: complete, every target stopped
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
assert d["targeted"] == n and d["stopped"] == n and d["complete"] is True, d' "$1" "$2"
}
elapsed() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("elapsed_ms", "?"))' "$1" 2>/dev/null; }

# --- 1. cutoff ---------------------------------------------------------------------------------
start_agent a1 m-cut $PA 11
start_agent b1 m-cut $PB 12
check cutoff-agents-run wait_until 30000 bash -c "$(declare -f alive); alive 11 && alive 12"
kill -STOP "${member[$f]}"
t0=$(now_ms)
"$bin" killswitch shutdown --controller "127.0.0.1:$PA" --scope model:m-cut --reason "member cut off" \
  --timeout 8 --format json --credential "$tmp/op.cred" >"$tmp/cut.json" 2>"$tmp/cut.err"
code=$?
t1=$(now_ms)
check cutoff-order-complete-within-its-8s report_ok "$tmp/cut.json" 2 || cat "$tmp/cut.err" "$tmp/cut.json"
check cutoff-exit-0 test "$code" -eq 0
echo "cutoff: member $f stopped; order to last confirmation $(elapsed "$tmp/cut.json") ms (client: $((t1 - t0)) ms)"
check cutoff-workloads-gone wait_until 10000 bash -c "$(declare -f alive gone); gone 11 && gone 12"
kill -CONT "${member[$f]}"
check cutoff-healed wait_until 30000 healthy

# --- 2. all-down -------------------------------------------------------------------------------
start_agent a2 m-down $PA 21
# b2's workload ignores SIGTERM: it stops only at the end of its 2 s grace, when the agent kills
# it, and its acknowledgement reaches B after the members are gone.
start_agent b2 m-down $PB 22 bash -c "trap '' TERM; exec sleep ${tag}22"
check down-agents-run wait_until 30000 bash -c "$(declare -f alive); alive 21 && alive 22"
check down-b2-seen-at-a wait_until 10000 bash -c "'$bin' killswitch status --controller 127.0.0.1:$PA --format json --credential '$tmp/op.cred' 2>/dev/null | grep -q '\"b2\"'"
txn_errors() { grep -c "v3/kv/txn" "$tmp/controller-$PB.log"; }
before=$(txn_errors)
"$bin" killswitch shutdown --controller "127.0.0.1:$PA" --scope model:m-down --reason "every member down" \
  --timeout 25 --format json --credential "$tmp/op.cred" >"$tmp/down.json" 2>"$tmp/down.err" &
order=$!
check down-b2-ordered wait_until 10000 grep -q "stopping" "$tmp/agent-b2.log"
for i in 1 2 3; do kill -9 "${member[$i]}"; wait "${member[$i]}" 2>/dev/null; done
check down-b2-stopped wait_until 10000 bash -c "$(declare -f alive gone); gone 22"
# B has tried its write on every member and failed.
check down-b-write-failed wait_until 10000 bash -c "[[ \$(grep -c 'v3/kv/txn' '$tmp/controller-$PB.log') -gt $before ]]"
for i in 1 2 3; do start_member $i; done
check down-healed wait_until 30000 healthy
wait "$order"
code=$?
check down-order-complete report_ok "$tmp/down.json" 2 || cat "$tmp/down.err" "$tmp/down.json"
check down-exit-0 test "$code" -eq 0
echo "all-down: order to last confirmation $(elapsed "$tmp/down.json") ms"
# B's removal of b2 was kept too: A no longer counts it among the agents enrolled elsewhere.
check down-b2-gone-at-a wait_until 10000 bash -c "! '$bin' killswitch status --controller 127.0.0.1:$PA --format json --credential '$tmp/op.cred' 2>/dev/null | grep -q '\"b2\"'"
check down-b-said-so grep -q "no etcd member accepts" "$tmp/controller-$PB.log"
check down-b-accepted-again grep -q "etcd accepted the writes that waited" "$tmp/controller-$PB.log"
[[ $failed -gt 0 ]] && for l in "$tmp"/controller-*.log "$tmp"/agent-*.log; do echo "--- $l"; cat "$l"; done
finish
