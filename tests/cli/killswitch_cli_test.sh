#!/usr/bin/env bash
# `flopline killswitch` with real processes: orders by each scope stop exactly the targeted
# workloads and their children; a killed or frozen controller makes agents fail closed within TTL
# plus one renewal; forged, expired and replayed orders are refused and logged; exempt workloads
# drain; a killed agent takes its workload with it; orders and drills are recorded in the ledger;
# with etcd, killing one of two controllers loses nothing.
# Usage: killswitch_cli_test.sh FLOPLINE_BINARY SOURCE_DIR
set -uo pipefail
bin=$1
src=$2
source "$(dirname "$0")/lib.sh"
relay="python3 $src/tests/killswitch/order_relay.py"
tag="7$$"                                    # marks this run's workload processes (digits: sleep's argument)
declare -A num                               # agent name -> its workload's sleep duration suffix
next=10
base=$((20000 + RANDOM % 20000))
pids=()
cleanup_all() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  pkill -9 -f "^sleep $tag" 2>/dev/null
  ip netns del "flks$$" 2>/dev/null; ip link del "vh$$" 2>/dev/null
  [[ -n ${KEEP_TMP:-} ]] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup_all EXIT

alive() { pgrep -f "^sleep $tag${num[$1]}\$" 2>/dev/null | wc -l; }
# wait_until MS COMMAND...: polls every 20 ms until the command succeeds or MS pass.
wait_until() {
  local deadline=$(($(date +%s%3N) + $1)); shift
  until "$@"; do
    (($(date +%s%3N) > deadline)) && return 1
    sleep 0.02
  done
}
gone() { [[ $(alive "$1") -eq 0 ]]; }
running() { [[ $(alive "$1") -ge 2 ]]; }   # the workload's shell child and its grandchild
# A workload that is a small tree: a shell, a background sleep, a foreground sleep.
workload() {
  [[ -n ${num[$1]:-} ]] || { num[$1]=$next; next=$((next + 1)); }
  echo "sleep $tag${num[$1]} & sleep $tag${num[$1]}; wait"
}

start_controller() {  # PORT ARGS... -> sets $ctl
  local port=$1; shift
  "$bin" killswitch controller --listen "127.0.0.1:$port" --key "$tmp/ks.key" "$@" 2>>"$tmp/controller-$port.log" &
  ctl=$!; pids+=("$ctl")
  wait_until 3000 grep -q "listening" "$tmp/controller-$port.log"
}
start_agent() {  # NAME CONTROLLERS MODEL LINEAGE [ARGS...] -> sets $agent
  local name=$1 controllers=$2 model=$3 lineage=$4; shift 4
  local lin=(); [[ -n $lineage ]] && lin=(--lineage "$lineage")
  workload "$name" >/dev/null
  "$bin" killswitch agent --controller "$controllers" --id "$name" --model "$model" "${lin[@]}" --grace 2 "$@" \
    -- sh -c "$(workload "$name")" 2>>"$tmp/agent-$name.log" &
  agent=$!; pids+=("$agent")
  wait_until 3000 running "$name"
}

# --- scopes ----------------------------------------------------------------------------------
P1=$((base + 1))
"$bin" ledger init --store "sqlite:$tmp/ev.db" --origin example.com/ks >/dev/null
# The store's inventory says m1-ft-chat derives from m1-ft, which derives from m1.
cat >"$tmp/models.toml" <<'TOML'
[[model]]
id = "m1"
developer = "Acme AI"
[[model.training]]
kind = "pretrain"
start = 2026-01-01
flop = 1e25
cost_usd = 1e7
[[model]]
id = "m1-ft"
developer = "Acme AI"
base = "m1"
derivation = "fine-tune"
[[model]]
id = "m1-ft-chat"
developer = "Acme AI"
base = "m1-ft"
derivation = "fine-tune"
TOML
check import-models "$bin" import "$tmp/models.toml" --store "sqlite:$tmp/ev.db"
start_controller $P1 --lease-ttl 1 --store "sqlite:$tmp/ev.db"
check key-0600 test "$(stat -c %a "$tmp/ks.key")" = 600
start_agent root 127.0.0.1:$P1 m1 ""
start_agent tuned 127.0.0.1:$P1 m1-ft m1
start_agent chat 127.0.0.1:$P1 m1-ft-chat ""  # its lineage comes from the store's inventory
start_agent other 127.0.0.1:$P1 m2 "" --deployment api-eu
check four-running bash -c "$(declare -p num tag); $(declare -f alive running); for a in root tuned chat other; do running \$a || exit 1; done"

expect_ok status killswitch status --controller 127.0.0.1:$P1 --format json
check status-json python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); a={x["id"]:x for x in d["agents"]}; assert set(a)=={"root","tuned","chat","other"} and a["chat"]["lineage"]==[] and a["other"]["deployment"]=="api-eu" and all(x["state"]=="live" and x["connected"] for x in a.values())' "$tmp/out"

expect_ok shutdown-agent killswitch shutdown --controller 127.0.0.1:$P1 --scope agent:other --reason "scope test" --format json
check shutdown-json python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["targeted"]==1 and d["stopped"]==1 and d["not_stopped"]==[] and d["elapsed_ms"]>=0 and d["stopped_agents"]==["other"]' "$tmp/out"
check agent-scope-exact bash -c "$(declare -p num tag); $(declare -f alive running gone); gone other && running root && running chat && running tuned"

expect_ok shutdown-model killswitch shutdown --controller 127.0.0.1:$P1 --scope model:m1-ft --reason "model test" --format json
check model-scope-exact bash -c "$(declare -p num tag); $(declare -f alive running gone); gone tuned && running chat && running root"

expect_ok shutdown-lineage killswitch shutdown --controller 127.0.0.1:$P1 --scope lineage:m1 --reason "lineage test"
check lineage-text grep -q "2 of 2 targeted workloads confirmed stopped" "$tmp/out"
check lineage-all-gone bash -c "[[ \$(pgrep -f '^sleep $tag' | wc -l) -eq 0 ]]"
check agent-log grep -q "order .* (agent:other): scope test; stopping" "$tmp/agent-other.log"

expect_ok drill killswitch drill --controller 127.0.0.1:$P1 --scope model:nobody --format json
check drill-json python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["drill"] is True and d["targeted"]==0' "$tmp/out"
expect_error bad-scope 2 "field 'scope'.*not a scope" -- killswitch shutdown --controller 127.0.0.1:$P1 --scope planet:x --reason r
expect_error no-controller 1 "cannot connect" -- killswitch status --controller 127.0.0.1:$((base + 9))

# Every order and the drill are in the evidence log.
kill $ctl; wait $ctl 2>/dev/null
expect_ok ledger-verify ledger verify --store "sqlite:$tmp/ev.db" --format json
check ledger-records python3 - "$tmp/ev.db" <<'PY'
import sqlite3, sys
kinds = [k for (k,) in sqlite3.connect(sys.argv[1]).execute("SELECT kind FROM entries ORDER BY idx")]
assert kinds.count("shutdown-order") == 3 and kinds.count("shutdown-drill") == 1, kinds
PY

# --- a killed controller: every agent fails closed within TTL + one renewal ----------------------
P2=$((base + 2))
start_controller $P2 --lease-ttl 1
start_agent k1 127.0.0.1:$P2 m1 ""; a1=$agent
start_agent k2 127.0.0.1:$P2 m2 ""; a2=$agent
t0=$(date +%s%3N)
kill -9 $ctl
check fail-closed-in-time wait_until 1500 bash -c "$(declare -p num tag); $(declare -f alive gone); gone k1 && gone k2"
t1=$(date +%s%3N)
echo "controller killed: workloads gone after $((t1 - t0)) ms (TTL 1000 ms + one renewal 333 ms)"
wait $a1; check agent-exit-3 test $? -eq 3
check fail-closed-log grep -q "lease not renewed within 1000 ms: workload stopped (fail closed)" "$tmp/agent-k1.log"

# --- a frozen (cut-off) controller: the connection stays open, nothing answers ---------------------
P3=$((base + 3))
start_controller $P3 --lease-ttl 1
start_agent cut 127.0.0.1:$P3 m1 ""
kill -STOP $ctl
check cut-off-fails-closed wait_until 1500 gone cut
kill -CONT $ctl
# The agent's last word, written before it exited, reaches the thawed controller: confirmed stopped.
check cut-off-confirmed wait_until 3000 bash -c "'$bin' killswitch status --controller 127.0.0.1:$P3 | grep -q 'cut .* fail-closed'"
kill $ctl

# --- a real network cut: the agent in its own network namespace, the link taken down -------------
if [[ $(id -u) -eq 0 ]] && command -v ip >/dev/null && ip netns add "flks$$" 2>/dev/null; then
  ns=flks$$; host=vh$$; peer=vn$$; net="10.$((RANDOM % 200 + 20)).$((RANDOM % 250))"
  ip link add "$host" type veth peer name "$peer" && ip link set "$peer" netns "$ns"
  ip addr add "$net.1/30" dev "$host" && ip link set "$host" up
  ip netns exec "$ns" ip addr add "$net.2/30" dev "$peer"
  ip netns exec "$ns" ip link set "$peer" up && ip netns exec "$ns" ip link set lo up
  P7=$((base + 12))
  "$bin" killswitch controller --listen "$net.1:$P7" --key "$tmp/ks.key" --lease-ttl 1 2>>"$tmp/controller-$P7.log" &
  ctl=$!; pids+=("$ctl")
  wait_until 3000 grep -q "listening" "$tmp/controller-$P7.log"
  workload netcut >/dev/null
  ip netns exec "$ns" "$bin" killswitch agent --controller "$net.1:$P7" --id netcut --model m1 --grace 2 \
    -- sh -c "$(workload netcut)" 2>>"$tmp/agent-netcut.log" & pids+=($!)
  check netns-agent-runs wait_until 3000 running netcut
  ip link set "$host" down                       # the cable is cut; both ends still up
  check netns-cut-fails-closed wait_until 1500 gone netcut
  check netns-cut-log grep -q "fail closed" "$tmp/agent-netcut.log"
  kill "$ctl"
  ip netns del "$ns"; ip link del "$host" 2>/dev/null
else
  echo "note: not root or no network namespaces: the network-cut case is covered by the frozen controller only"
fi

# --- forged, expired and replayed orders ---------------------------------------------------------
P4=$((base + 4)); P5=$((base + 5))
start_controller $P4 --lease-ttl 5
key=$(grep -o 'verifier key .*' "$tmp/controller-$P4.log" | head -1 | cut -d' ' -f3)
$relay spy $P4 "$tmp/orders.jsonl" & pids+=($!)
wait_until 3000 bash -c "'$bin' killswitch status --controller 127.0.0.1:$P4 | grep -q spy"
expect_ok relay-old killswitch shutdown --controller 127.0.0.1:$P4 --scope model:spy-model --reason old --timeout 1 --format json
check relay-old-reached-spy python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["targeted"]==1' "$tmp/out"
check spy-enrolled-again wait_until 3000 bash -c "'$bin' killswitch status --controller 127.0.0.1:$P4 | grep -q 'spy .* live'"
expect_ok relay-fresh killswitch shutdown --controller 127.0.0.1:$P4 --scope all --reason fresh --timeout 60 --format json
check relay-fresh-reached-spy python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["targeted"]==1' "$tmp/out"
check two-orders-captured wait_until 3000 bash -c "[[ \$(wc -l < '$tmp/orders.jsonl') -ge 2 ]]"
sleep 1.1   # the first order (1 s validity) is now expired
python3 - "$tmp/orders.jsonl" "$tmp/hostile.jsonl" "$tmp/floor" <<'PY'
import json, sys
old, fresh = [json.loads(l)["note"] for l in open(sys.argv[1])][:2]
body = json.loads(fresh.split("\n")[0])
forged = fresh.replace('"scope":"all"', '"scope":"agent:victim"')      # text changed, signature kept
with open(sys.argv[2], "w") as f:
    for note in (forged, old, fresh):                                  # forged, expired, then replayed
        f.write(json.dumps({"note": note}) + "\n")
open(sys.argv[3], "w").write(str(body["fence"]))                        # the agent enrolled after it
PY
$relay fake $P5 "$key" "$tmp/hostile.jsonl" "$(cat "$tmp/floor")" >"$tmp/fake.out" & fake=$!; pids+=($fake)
wait_until 2000 grep -q listening "$tmp/fake.out"
start_agent victim 127.0.0.1:$P5 victim-model "" --pubkey "$key"
wait $fake
check refusals-reported python3 - "$tmp/fake.out" <<'PY'
import json, sys
acks = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
assert [a["refusal"] for a in acks] == ["forged", "expired", "replayed"], acks
assert all(a["result"] == "refused" for a in acks)
PY
check refusals-logged bash -c "grep -q 'refused a forged order' '$tmp/agent-victim.log' && grep -q 'refused a expired order' '$tmp/agent-victim.log' && grep -q 'refused a replayed order' '$tmp/agent-victim.log'"
check victim-still-running running victim
kill -9 $agent 2>/dev/null

# --- a killed agent takes its workload with it; an exempt workload drains -----------------------
P6=$((base + 6))
start_controller $P6 --lease-ttl 5 --exempt grid --drain-seconds 3
start_agent doomed 127.0.0.1:$P6 m1 ""
kill -9 $agent
check agent-death-kills-workload wait_until 1000 gone doomed
"$bin" killswitch agent --controller 127.0.0.1:$P6 --id grid --model m-grid --grace 0.1 \
  -- sh -c "trap 'sleep 0.5; exit 0' TERM; sleep ${tag}99 & wait" 2>>"$tmp/agent-grid.log" & pids+=($!)
wait_until 3000 bash -c "[[ \$(pgrep -f '^sleep ${tag}99\$' | wc -l) -ge 1 ]]"
expect_ok drain killswitch shutdown --controller 127.0.0.1:$P6 --scope agent:grid --reason "grid test" --format json
check drained python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["drained_agents"]==["grid"] and d["stopped"]==1 and d["elapsed_ms"]>=400, d' "$tmp/out"
check drain-logged grep -q "draining gracefully (exempt workload)" "$tmp/agent-grid.log"

# --- etcd: two controllers, kill one, nothing lost -----------------------------------------------
E=$((base + 7)); EP=$((base + 8)); PA=$((base + 10)); PB=$((base + 11))
etcd --data-dir "$tmp/etcd" --listen-client-urls "http://127.0.0.1:$E" --advertise-client-urls "http://127.0.0.1:$E" \
  --listen-peer-urls "http://127.0.0.1:$EP" --initial-advertise-peer-urls "http://127.0.0.1:$EP" \
  --initial-cluster "default=http://127.0.0.1:$EP" >"$tmp/etcd.log" 2>&1 & pids+=($!)
check etcd-up wait_until 10000 bash -c "ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:$E endpoint health >/dev/null 2>&1"
start_controller $PA --lease-ttl 2 --etcd "http://127.0.0.1:$E"; ca=$ctl
start_controller $PB --lease-ttl 2 --etcd "http://127.0.0.1:$E"; cb=$ctl
for i in 1 2 3; do start_agent "ha$i" "127.0.0.1:$PA,127.0.0.1:$PB" m-ha ""; done
for i in 4 5 6; do start_agent "ha$i" "127.0.0.1:$PB,127.0.0.1:$PA" m-ha ""; done
expect_ok ha-status-b killswitch status --controller 127.0.0.1:$PB --format json
check ha-b-sees-all python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert {a["id"] for a in d["agents"]} == {"ha1","ha2","ha3","ha4","ha5","ha6"}, d' "$tmp/out"
kill -9 $ca
sleep 3   # longer than the 2 s lease: agents of the dead controller must have moved, not stopped
check ha-nothing-stopped bash -c "$(declare -p num tag); $(declare -f alive running); for i in 1 2 3 4 5 6; do running ha\$i || exit 1; done"
check ha-reenrolled grep -q "re-enrolled" "$tmp/agent-ha1.log"
expect_ok ha-shutdown killswitch shutdown --controller 127.0.0.1:$PB --scope model:m-ha --reason "ha test" --format json
check ha-all-stopped python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["targeted"]==6 and d["stopped"]==6 and d["not_stopped"]==[], d' "$tmp/out"
check ha-all-gone bash -c "[[ \$(pgrep -f '^sleep $tag' | wc -l) -eq 0 ]]"

finish
