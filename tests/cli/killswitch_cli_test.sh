#!/usr/bin/env bash
# `flopline killswitch` with real processes: orders by each scope stop exactly the targeted
# workloads and their children; a killed or frozen controller makes agents fail closed when their
# lease ends (the time is printed, not asserted); forged, expired and replayed orders are refused and logged; exempt workloads
# drain; a killed agent takes its workload with it; orders and drills are recorded in the ledger;
# with etcd, killing one of two controllers loses nothing. And issue 10's hostile inputs, each
# marked "issue 10 item N": malformed lines, unauthenticated or forged senders, idle sockets, an
# endless line, a mismatched --pubkey, bad flag values, setsid children, mistyped scopes, orders in
# force for late agents, and a captured order replayed to a fresh agent.
# Usage: killswitch_cli_test.sh FLOPLINE_BINARY SOURCE_DIR
set -uo pipefail
bin=$1
src=$2
source "$(dirname "$0")/lib.sh"
relay="python3 $src/tests/killswitch/order_relay.py"
tag="7$$"                                    # marks this run's workload processes (digits: sleep's argument)
declare -A num                               # agent name -> its workload's sleep duration suffix
next=10
# Below the ephemeral range (32768 on): a port of ours taken by some outgoing connection made a
# controller fail to start (the forged-orders steps failed together once, connection refused).
base=$((20000 + RANDOM % 12000))
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
  wait_until 10000 grep -q "listening" "$tmp/controller-$port.log"
  [[ -f $tmp/op.cred ]] || "$bin" killswitch credential --key "$tmp/ks.key" --operator --out "$tmp/op.cred" 2>/dev/null
}
cred() {  # NAME -> the agent's credential file, issued on first use
  [[ -f $tmp/cred-$1 ]] || "$bin" killswitch credential --key "$tmp/ks.key" --agent "$1" --out "$tmp/cred-$1" 2>/dev/null
  echo "$tmp/cred-$1"
}
start_agent() {  # NAME CONTROLLERS MODEL LINEAGE [ARGS...] -> sets $agent
  local name=$1 controllers=$2 model=$3 lineage=$4; shift 4
  local lin=(); [[ -n $lineage ]] && lin=(--lineage "$lineage")
  workload "$name" >/dev/null
  "$bin" killswitch agent --controller "$controllers" --id "$name" --model "$model" "${lin[@]}" --grace 2 \
    --credential "$(cred "$name")" "$@" -- sh -c "$(workload "$name")" 2>>"$tmp/agent-$name.log" &
  agent=$!; pids+=("$agent")
  wait_until 10000 running "$name"
}
op=(--credential "$tmp/op.cred")

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

expect_ok status killswitch status --controller 127.0.0.1:$P1 --format json "${op[@]}"
check status-json python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); a={x["id"]:x for x in d["agents"]}; assert set(a)=={"root","tuned","chat","other"} and a["chat"]["lineage"]==[] and a["other"]["deployment"]=="api-eu" and all(x["state"]=="live" and x["connected"] for x in a.values())' "$tmp/out"

expect_ok shutdown-agent killswitch shutdown --controller 127.0.0.1:$P1 --scope agent:other --reason "scope test" --format json "${op[@]}"
check shutdown-json python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["targeted"]==1 and d["stopped"]==1 and d["not_stopped"]==[] and d["elapsed_ms"]>=0 and d["stopped_agents"]==["other"]' "$tmp/out"
check agent-scope-exact bash -c "$(declare -p num tag); $(declare -f alive running gone); gone other && running root && running chat && running tuned"

expect_ok shutdown-model killswitch shutdown --controller 127.0.0.1:$P1 --scope model:m1-ft --reason "model test" --format json "${op[@]}"
check model-scope-exact bash -c "$(declare -p num tag); $(declare -f alive running gone); gone tuned && running chat && running root"

expect_ok shutdown-lineage killswitch shutdown --controller 127.0.0.1:$P1 --scope lineage:m1 --reason "lineage test" "${op[@]}"
check lineage-text grep -q "2 of 2 targeted workloads confirmed stopped" "$tmp/out"
check lineage-all-gone bash -c "[[ \$(pgrep -f '^sleep $tag' | wc -l) -eq 0 ]]"
check agent-log grep -q "order .* (agent:other): scope test; stopping" "$tmp/agent-other.log"

# issue 10 item 7: an order (or drill) that reaches no agent is a failure, said so, exit 1.
"$bin" killswitch drill --controller 127.0.0.1:$P1 --scope model:nobody --format json "${op[@]}" >"$tmp/out" 2>"$tmp/err"
check drill-no-agent-exit-1 test $? -eq 1
check drill-json python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["drill"] is True and d["targeted"]==0 and d["complete"] is False' "$tmp/out"
check drill-no-agent-said grep -q "reached no agent" "$tmp/err"
expect_error bad-scope 2 "field 'scope'.*not a scope" -- killswitch shutdown --controller 127.0.0.1:$P1 --scope planet:x --reason r "${op[@]}"
expect_error no-controller 1 "cannot connect" -- killswitch status --controller 127.0.0.1:$((base + 9)) "${op[@]}"

# Every order and the drill are in the evidence log.
kill $ctl; wait $ctl 2>/dev/null
expect_ok ledger-verify ledger verify --store "sqlite:$tmp/ev.db" --format json
check ledger-records python3 - "$tmp/ev.db" <<'PY'
import sqlite3, sys
kinds = [k for (k,) in sqlite3.connect(sys.argv[1]).execute("SELECT kind FROM entries ORDER BY idx")]
assert kinds.count("shutdown-order") == 3 and kinds.count("shutdown-drill") == 1, kinds
PY

# Review finding 2: a tampered inventory (its lineage rows deleted) was read as "no lineage", and a
# lineage order quietly reached fewer workloads. Now the inventory must verify against the logged
# imports: the order still stops the agents whose declared lineage matches, and says loudly, exit 1,
# that the store's lineage could not be used.
python3 -c 'import sqlite3,sys; s=sqlite3.connect(sys.argv[1]); d=sqlite3.connect(sys.argv[2]); s.backup(d); d.close()' "$tmp/ev.db" "$tmp/tampered.db"
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("DELETE FROM lineage"); c.commit()' "$tmp/tampered.db"
PT=$((base + 17))
start_controller $PT --lease-ttl 1 --store "sqlite:$tmp/tampered.db"
start_agent tuned-t 127.0.0.1:$PT m1-ft m1
start_agent chat-t 127.0.0.1:$PT m1-ft-chat ""; chat_t=$agent  # derived according to the store only
"$bin" killswitch shutdown --controller 127.0.0.1:$PT --scope lineage:m1 --reason "tampered" --format json "${op[@]}" >"$tmp/out" 2>"$tmp/err"
check tampered-inventory-exit-1 test $? -eq 1
check tampered-inventory-said grep -q "ERROR: order .* could not use the evidence store's inventory, which does not verify" "$tmp/err"
check tampered-inventory-report python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["inventory_error"] and d["complete"] is False and d["stopped_agents"]==["tuned-t"], d' "$tmp/out"
check tampered-inventory-logged grep -q "WARNING: lineage order .* without the evidence store's inventory" "$tmp/controller-$PT.log"
check tampered-declared-stopped wait_until 30000 bash -c "$(declare -p num tag); $(declare -f alive gone); gone tuned-t"
kill $chat_t $ctl; wait $chat_t $ctl 2>/dev/null

# --- a killed controller: every agent fails closed within TTL + one renewal ----------------------
P2=$((base + 2))
start_controller $P2 --lease-ttl 1
start_agent k1 127.0.0.1:$P2 m1 ""; a1=$agent
start_agent k2 127.0.0.1:$P2 m2 ""; a2=$agent
t0=$(date +%s%3N)
kill -9 $ctl
# No timing assertion (a loaded machine is slow): the workloads must be gone, stopped by the agents'
# lease (the log says so); how long it took is printed for information.
check fail-closed-gone wait_until 30000 bash -c "$(declare -p num tag); $(declare -f alive gone); gone k1 && gone k2"
t1=$(date +%s%3N)
echo "controller killed: workloads gone after $((t1 - t0)) ms (information only; expected about TTL 1000 ms + one renewal 333 ms)"
wait $a1; check agent-exit-3 test $? -eq 3
check fail-closed-log grep -q "lease not renewed within 1000 ms: workload stopped (fail closed)" "$tmp/agent-k1.log"

# --- a frozen (cut-off) controller: the connection stays open, nothing answers ---------------------
P3=$((base + 3))
start_controller $P3 --lease-ttl 1
start_agent cut 127.0.0.1:$P3 m1 ""
kill -STOP $ctl
t0=$(date +%s%3N)
check cut-off-fails-closed wait_until 30000 gone cut
echo "controller frozen: workload gone after $(($(date +%s%3N) - t0)) ms (information only)"
check cut-off-log grep -q "fail closed" "$tmp/agent-cut.log"
kill -CONT $ctl
# The agent's last word, written before it exited, reaches the thawed controller: confirmed stopped.
check cut-off-confirmed wait_until 10000 bash -c "'$bin' killswitch status --controller 127.0.0.1:$P3 --credential '$tmp/op.cred' | grep -q 'cut .* fail-closed'"
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
  wait_until 10000 grep -q "listening" "$tmp/controller-$P7.log"
  workload netcut >/dev/null
  ip netns exec "$ns" "$bin" killswitch agent --controller "$net.1:$P7" --id netcut --model m1 --grace 2 \
    --credential "$(cred netcut)" -- sh -c "$(workload netcut)" 2>>"$tmp/agent-netcut.log" & pids+=($!)
  check netns-agent-runs wait_until 10000 running netcut
  ip link set "$host" down                       # the cable is cut; both ends still up
  t0=$(date +%s%3N)
  check netns-cut-fails-closed wait_until 30000 gone netcut
  echo "network cut: workload gone after $(($(date +%s%3N) - t0)) ms (information only)"
  check netns-cut-log grep -q "fail closed" "$tmp/agent-netcut.log"
  kill "$ctl"
  ip netns del "$ns"; ip link del "$host" 2>/dev/null
else
  echo "note: not root or no network namespaces: the network-cut case is covered by the frozen controller only"
fi

# --- forged, expired and replayed orders (issue 10 item 8: a captured order replayed to a fresh agent)
# A spy agent of controller P4 captures two orders; later a hostile network in front of controller
# P5 (same key) injects them, one altered, into the stream of an agent that enrolled after both.
P4=$((base + 4)); P5=$((base + 5)); P5M=$((base + 13))
start_controller $P4 --lease-ttl 5; c4=$ctl
key=$(grep -o 'verifier key .*' "$tmp/controller-$P4.log" | head -1 | cut -d' ' -f3)
$relay spy $P4 "$(cred spy)" "$tmp/orders.jsonl" & pids+=($!)
wait_until 10000 bash -c "'$bin' killswitch status --controller 127.0.0.1:$P4 --credential '$tmp/op.cred' | grep -q spy"
expect_ok relay-old killswitch shutdown --controller 127.0.0.1:$P4 --scope model:spy-model --reason old --timeout 1 --format json "${op[@]}"
check relay-old-reached-spy python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["targeted"]==1' "$tmp/out"
check spy-enrolled-again wait_until 10000 bash -c "'$bin' killswitch status --controller 127.0.0.1:$P4 --credential '$tmp/op.cred' | grep -q 'spy .* live'"
expect_ok relay-fresh killswitch shutdown --controller 127.0.0.1:$P4 --scope all --reason fresh --timeout 300 --format json "${op[@]}"
check relay-fresh-reached-spy python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["targeted"]==1' "$tmp/out"
check two-orders-captured wait_until 10000 bash -c "[[ \$(wc -l < '$tmp/orders.jsonl') -ge 2 ]]"
kill $c4
sleep 1.1   # the first order (1 s validity) is now expired; the second (scope all) has minutes left
python3 - "$tmp/orders.jsonl" "$tmp/hostile.jsonl" <<'PY'
import json, sys
old, fresh = [json.loads(l)["note"] for l in open(sys.argv[1])][:2]
forged = fresh.replace('"scope":"all"', '"scope":"agent:victim"')      # text changed, signature kept
with open(sys.argv[2], "w") as f:
    for note in (forged, old, fresh):                                  # forged, expired, then replayed
        f.write(json.dumps({"note": note}) + "\n")
PY
start_controller $P5 --lease-ttl 5
$relay mitm $P5M $P5 "$tmp/hostile.jsonl" >"$tmp/mitm.out" & mitm=$!; pids+=($mitm)
wait_until 10000 grep -q listening "$tmp/mitm.out"
start_agent victim 127.0.0.1:$P5M victim-model "" --pubkey "$key"
wait $mitm
check refusals-reported python3 - "$tmp/mitm.out" <<'PY'
import json, sys
acks = [m for m in (json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")) if m.get("type") == "ack"]
assert [a["refusal"] for a in acks] == ["forged", "expired", "replayed"], acks
assert all(a["result"] == "refused" for a in acks)
PY
check refusals-logged bash -c "grep -q 'refused a forged order' '$tmp/agent-victim.log' && grep -q 'refused a expired order' '$tmp/agent-victim.log' && grep -q 'refused a replayed order' '$tmp/agent-victim.log'"
check refusals-logged-by-controller grep -q "agent victim refused order" "$tmp/controller-$P5.log"
check victim-still-running running victim
kill -9 $agent 2>/dev/null

# --- issue 10 item 5: an agent whose --pubkey is not the controller's key never starts --------------
other_key=$(python3 - <<'PY'
import base64, hashlib, os
pub = b"\x01" + os.urandom(32)
name = "flopline-killswitch"
kid = hashlib.sha256(name.encode() + b"\n" + pub).digest()[:4].hex()
print(f"{name}+{kid}+{base64.b64encode(pub).decode()}")
PY
)
workload mismatch >/dev/null
"$bin" killswitch agent --controller 127.0.0.1:$P5 --id mismatch --model m1 --credential "$(cred mismatch)" \
  --pubkey "$other_key" -- sh -c "$(workload mismatch)" 2>>"$tmp/agent-mismatch.log"
check pubkey-mismatch-exit-2 test $? -eq 2
check pubkey-mismatch-never-ran gone mismatch
check pubkey-mismatch-logged grep -q "did not prove the pinned key" "$tmp/agent-mismatch.log"

# --- issue 10 items 1 and 2: malformed and unauthenticated lines cost their connection only ---------
start_agent guarded 127.0.0.1:$P5 m-guarded ""
for line in '{"type":5}' '{"type":"renew","id":5}' '{"type":"shutdown","scope":5}' \
    '{"type":"shutdown","scope":"all","reason":"x","timeout_ms":1000}' '{"type":"exited","id":"guarded"}' \
    '{"type":"status"}' '[' '{"from":"operator","msg":"{}","mac":"00"}'; do
  python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1",int(sys.argv[1]))); s.sendall(sys.argv[2].encode()+b"\n"); s.settimeout(30); [None for _ in iter(lambda: s.recv(4096), b"")]' $P5 "$line"
done
check hostile-lines-controller-alive kill -0 $ctl
check hostile-lines-logged bash -c "[[ \$(grep -c 'closed the connection from' '$tmp/controller-$P5.log') -ge 8 ]]"
check hostile-lines-workload-runs running guarded
other_op=$tmp/other-op.cred
"$bin" killswitch controller --listen 127.0.0.1:$((base + 15)) --key "$tmp/other.key" --lease-ttl 1 2>/dev/null & o=$!
wait_until 10000 test -s "$tmp/other.key"; kill $o
"$bin" killswitch credential --key "$tmp/other.key" --operator --out "$other_op" 2>/dev/null
expect_error wrong-operator-credential 1 "authentication failed" -- killswitch shutdown --controller 127.0.0.1:$P5 --scope all --reason x --credential "$other_op"
check wrong-credential-logged grep -q "authentication failed for operator" "$tmp/controller-$P5.log"
expect_error agent-credential-as-operator 2 "needs an operator one" -- killswitch status --controller 127.0.0.1:$P5 --credential "$(cred guarded)"
check guarded-still-running running guarded
"$bin" killswitch shutdown --controller 127.0.0.1:$P5 --scope agent:nobody --reason $'not UTF-8: \xff\xfe' "${op[@]}" >/dev/null 2>&1
check non-utf8-reason-no-crash test $? -eq 1
expect_ok guarded-stop killswitch shutdown --controller 127.0.0.1:$P5 --scope agent:guarded --reason r "${op[@]}"
check guarded-gone wait_until 10000 gone guarded

# --- issue 10 item 6: flag values that are not sane numbers of seconds ------------------------------
for v in inf nan 1e400 0.001 -1 0; do
  expect_error "timeout-$v" 2 "field '--timeout'" -- killswitch shutdown --controller 127.0.0.1:$P5 --scope all --reason r --timeout "$v" "${op[@]}"
done
for v in nan inf 1e300 1e-9 -1; do
  expect_error "lease-ttl-$v" 2 "field '--lease-ttl'" -- killswitch controller --listen 127.0.0.1:$((base + 16)) --key "$tmp/ks.key" --lease-ttl "$v"
done
for v in -1 nan inf 1e9; do
  expect_error "grace-$v" 2 "field '--grace'" -- killswitch agent --controller 127.0.0.1:$P5 --id g --model m --credential "$(cred g)" --grace "$v" -- true
done

# --- issue 10 item 7: setsid children, mistyped scopes, orders in force for late agents -------------
workload escaper >/dev/null
"$bin" killswitch agent --controller 127.0.0.1:$P5 --id escaper --model m-esc --grace 1 --credential "$(cred escaper)" \
  -- sh -c "setsid sleep $tag${num[escaper]} & sleep $tag${num[escaper]}; wait" 2>>"$tmp/agent-escaper.log" & pids+=($!)
wait_until 10000 running escaper
expect_ok setsid-shutdown killswitch shutdown --controller 127.0.0.1:$P5 --scope agent:escaper --reason r --format json "${op[@]}"
check setsid-confirmed python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["stopped"]==1, d' "$tmp/out"
check setsid-child-gone-when-confirmed gone escaper
"$bin" killswitch shutdown --controller 127.0.0.1:$P5 --scope model:m-late-chta --reason typo "${op[@]}" >"$tmp/out" 2>"$tmp/err"
check mistyped-scope-exit-1 test $? -eq 1
check mistyped-scope-said grep -q "reached no agent" "$tmp/err"
"$bin" killswitch shutdown --controller 127.0.0.1:$P5 --scope model:m-late --reason "stop m-late" --timeout 300 "${op[@]}" >/dev/null 2>&1
workload late >/dev/null
"$bin" killswitch agent --controller 127.0.0.1:$P5 --id late --model m-late --credential "$(cred late)" \
  -- sh -c "$(workload late)" 2>>"$tmp/agent-late.log"
check late-agent-exit-0 test $? -eq 0
check late-agent-never-ran gone late
check late-agent-told grep -q "is in force: .*stop m-late; the workload is not started" "$tmp/agent-late.log"

# --- issue 10 item 3: idle sockets under a small descriptor limit never starve an order -------------
P8=$((base + 14))
(ulimit -n 128; exec "$bin" killswitch controller --listen "127.0.0.1:$P8" --key "$tmp/ks.key" --lease-ttl 5 \
  2>>"$tmp/controller-$P8.log") & c8=$!; pids+=($c8)
wait_until 10000 grep -q "listening" "$tmp/controller-$P8.log"
start_agent crowded 127.0.0.1:$P8 m-crowd ""
$relay idle $P8 200 600 >"$tmp/idle.out" & idlers=$!; pids+=($idlers)
wait_until 30000 grep -q "open 200" "$tmp/idle.out"
expect_ok crowded-shutdown killswitch shutdown --controller 127.0.0.1:$P8 --scope agent:crowded --reason r "${op[@]}"
check crowded-gone gone crowded
kill $idlers

# --- issue 10 item 4: an endless line is cut off at 64 KiB, the controller stays small --------------
# The bound is on what the flood adds (its 300 MiB must not be held), measured from the controller's
# own size before it: that base is mostly the sanitizer's (about 280 MB under ASan at this commit, 165 MB
# a day before; 15 MB in the release build) and grows with the binary, not with what peers send.
rss_before=$(awk '/VmRSS/ {print $2}' /proc/$c8/status)
check flood-closed bash -c "$relay flood $P8 300 | grep -q closed"
check flood-logged grep -q "a line longer than 65536 bytes" "$tmp/controller-$P8.log"
check flood-rss-small bash -c "(( \$(awk '/VmRSS/ {print \$2}' /proc/$c8/status) - $rss_before < 50000 ))"
expect_ok flood-then-status killswitch status --controller 127.0.0.1:$P8 "${op[@]}"
kill $c8

# --- a killed agent takes its workload with it; an exempt workload drains -----------------------
P6=$((base + 6))
start_controller $P6 --lease-ttl 5 --exempt grid --drain-seconds 3
start_agent doomed 127.0.0.1:$P6 m1 ""
kill -9 $agent
check agent-death-kills-workload wait_until 10000 gone doomed
"$bin" killswitch agent --controller 127.0.0.1:$P6 --id grid --model m-grid --grace 0.1 --credential "$(cred grid)" \
  -- sh -c "trap 'sleep 0.5; exit 0' TERM; sleep ${tag}99 & wait" 2>>"$tmp/agent-grid.log" & pids+=($!)
wait_until 10000 bash -c "[[ \$(pgrep -f '^sleep ${tag}99\$' | wc -l) -ge 1 ]]"
expect_ok drain killswitch shutdown --controller 127.0.0.1:$P6 --scope agent:grid --reason "grid test" --format json "${op[@]}"
check drained python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["drained_agents"]==["grid"] and d["stopped"]==1 and d["elapsed_ms"]>=400, d' "$tmp/out"
check drain-logged grep -q "draining gracefully (exempt workload)" "$tmp/agent-grid.log"

# --- issue 16 item 2: containment. The workload runs in a cgroup of its own, so a double-forked
# setsid process dies with it, even when the agent itself is SIGKILLed. Where cgroups are
# unavailable (here hidden by a tmpfs in a private mount namespace) the agent says so in one
# warning line and falls back to the process group, whose descendant walk still stops the escapee
# on an order.
PC=$((base + 20))
start_controller $PC --lease-ttl 5
escape() {  # FILE: a subshell starts a setsid sleep and exits (a double fork); its pid goes to FILE
  echo "(setsid sh -c 'echo \$\$ >$1.tmp && mv $1.tmp $1; exec sleep ${tag}98' &); exec sleep ${tag}98"
}
pid_alive() { [[ -e /proc/$1 ]] && ! grep -qE '^[0-9]+ \(.*\) [ZX]' "/proc/$1/stat" 2>/dev/null; }
cg2=$(awk '/ - cgroup2 / {print $5; exit}' /proc/self/mountinfo)
own=$(sed -n 's/^0:://p' /proc/self/cgroup)
if [[ -n $cg2 && -w $cg2${own%/}/cgroup.procs ]]; then
  "$bin" killswitch agent --controller 127.0.0.1:$PC --id contained --model m-cg --containment cgroup \
    --credential "$(cred contained)" -- sh -c "$(escape "$tmp/escaped-cg")" 2>>"$tmp/agent-contained.log" &
  contained=$!; pids+=("$contained")
  check cgroup-escapee-started wait_until 10000 test -s "$tmp/escaped-cg"
  escaped=$(cat "$tmp/escaped-cg" 2>/dev/null)
  check cgroup-logged grep -q "in cgroup .*/flopline-ks-" "$tmp/agent-contained.log"
  check cgroup-escapee-left-the-group bash -c "[[ \$(ps -o pgid= -p $escaped) -ne \$(ps -o pgid= -p $contained) ]]"
  kill -9 "$contained"
  check cgroup-agent-death-kills-escapee wait_until 10000 bash -c "$(declare -f pid_alive); ! pid_alive $escaped"
  check cgroup-removed wait_until 10000 bash -c "! ls -d '$cg2${own%/}'/flopline-ks-$contained-* 2>/dev/null"
else
  echo "SKIP cgroup containment: no writable cgroup v2 hierarchy here (the fallback is still tested)"
fi
if [[ $(id -u) -eq 0 && -n $cg2 ]] && unshare -m true 2>/dev/null; then
  unshare -m --propagation private sh -c 'mount -t tmpfs none "$0" && exec "$@"' "$cg2" \
    "$bin" killswitch agent --controller 127.0.0.1:$PC --id uncontained --model m-pg \
    --credential "$(cred uncontained)" -- sh -c "$(escape "$tmp/escaped-pg")" 2>>"$tmp/agent-uncontained.log" &
  pids+=($!)
  check fallback-escapee-started wait_until 10000 test -s "$tmp/escaped-pg"
  escaped=$(cat "$tmp/escaped-pg" 2>/dev/null)
  check fallback-warned grep -q "WARNING: cgroup v2 containment unavailable (.*): the workload is contained by its process group only" "$tmp/agent-uncontained.log"
  check fallback-warned-once test "$(grep -c WARNING "$tmp/agent-uncontained.log")" -eq 1
  check fallback-no-cgroup bash -c "! grep -q 'in cgroup' '$tmp/agent-uncontained.log'"
  expect_ok fallback-shutdown killswitch shutdown --controller 127.0.0.1:$PC --scope agent:uncontained --reason r --format json "${op[@]}"
  check fallback-confirmed python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["stopped"]==1, d' "$tmp/out"
  check fallback-escapee-gone-when-confirmed bash -c "$(declare -f pid_alive); ! pid_alive $escaped"
else
  echo "SKIP containment fallback: needs root and unshare -m"
fi
expect_error containment-bad-value 2 "containment" -- killswitch agent --controller 127.0.0.1:$PC --id x --model m \
  --containment sometimes --credential "$(cred x)" -- true
kill $ctl; wait $ctl 2>/dev/null

# --- review finding 6: replies that grow with the fleet; a shutdown is never sent twice -----------
PF=$((base + 18)); PM=$((base + 19))
start_controller $PF --lease-ttl 30
$relay fat $PF "$(cred fat1)" "$(cred fat2)" >"$tmp/fat.out" 2>&1 & pids+=($!)
check fat-enrolled wait_until 30000 grep -q "enrolled 2" "$tmp/fat.out"
expect_ok big-status killswitch status --controller 127.0.0.1:$PF --format json "${op[@]}"
check big-status-complete python3 -c 'import json,os,sys; d=json.load(open(sys.argv[1])); assert os.path.getsize(sys.argv[1]) > 65536 and {a["id"] for a in d["agents"]} == {"fat1","fat2"}, d["agents"][0]["id"]' "$tmp/out"
$relay mute $PM >"$tmp/mute.out" 2>&1 & pids+=($!)
wait_until 10000 grep -q listening "$tmp/mute.out"
"$bin" killswitch shutdown --controller 127.0.0.1:$PM,127.0.0.1:$PF --scope agent:fat1 --reason "never twice" --timeout 2 "${op[@]}" >"$tmp/out" 2>"$tmp/err"
check no-second-order-exit-1 test $? -eq 1
check no-second-order-said grep -q "the order may have been issued; not retried on another controller" "$tmp/err"
check no-second-order-not-sent bash -c "! grep -q 'never twice' '$tmp/controller-$PF.log'"
expect_error reason-too-long 2 "field '--reason'" -- killswitch shutdown --controller 127.0.0.1:$PF --scope agent:fat1 --reason "$(head -c 1025 /dev/zero | tr '\0' r)" "${op[@]}"
kill $ctl; wait $ctl 2>/dev/null

# --- etcd: two controllers, kill one, nothing lost -----------------------------------------------
E=$((base + 7)); EP=$((base + 8)); PA=$((base + 10)); PB=$((base + 11))
etcd --data-dir "$tmp/etcd" --listen-client-urls "http://127.0.0.1:$E" --advertise-client-urls "http://127.0.0.1:$E" \
  --listen-peer-urls "http://127.0.0.1:$EP" --initial-advertise-peer-urls "http://127.0.0.1:$EP" \
  --initial-cluster "default=http://127.0.0.1:$EP" >"$tmp/etcd.log" 2>&1 & pids+=($!)
check etcd-up wait_until 10000 bash -c "ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:$E endpoint health >/dev/null 2>&1"
# PA's first endpoint is dead (nothing listens on base+9): its watch must move on to the live one,
# or the hostile values below are never seen by it (the chaos test found a watch that retried a
# SIGKILLed leader alone, and relayed an order only after it had expired).
start_controller $PA --lease-ttl 2 --etcd "http://127.0.0.1:$((base + 9)),http://127.0.0.1:$E"; ca=$ctl
start_controller $PB --lease-ttl 2 --etcd "http://127.0.0.1:$E"; cb=$ctl
for i in 1 2 3; do start_agent "ha$i" "127.0.0.1:$PA,127.0.0.1:$PB" m-ha ""; done
for i in 4 5 6; do start_agent "ha$i" "127.0.0.1:$PB,127.0.0.1:$PA" m-ha ""; done
expect_ok ha-status-b killswitch status --controller 127.0.0.1:$PB --format json "${op[@]}"
check ha-b-sees-all python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert {a["id"] for a in d["agents"]} == {"ha1","ha2","ha3","ha4","ha5","ha6"}, d' "$tmp/out"
# Review finding 3: a value of the wrong type under orders/ threw inside the watcher thread and ended
# every controller; one under agents/ made every status and shutdown fail. Values must be sealed by
# a controller: anything else is skipped and logged.
etcdput() { ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:$E put "$1" "$2" >/dev/null; }
etcdput /flopline/ks/orders/00000000000000000001 '{"controller":1}'
etcdput /flopline/ks/orders/00000000000000000002 '{"controller":"x","note":"n","targets":[1]}'
etcdput /flopline/ks/agents/evil '{"controller":1,"id":"evil","model":"m-ha","lineage":[]}'
etcdput /flopline/ks/acks/00000000000000000003/ha1 '{"id":"ha1","fence":3,"result":"stopped"}'
check etcd-hostile-logged wait_until 30000 grep -q "etcd: ignored /flopline/ks/orders/00000000000000000001" "$tmp/controller-$PA.log"
check etcd-hostile-controllers-alive bash -c "kill -0 $ca && kill -0 $cb"
expect_ok etcd-hostile-status killswitch status --controller 127.0.0.1:$PB --format json "${op[@]}"
check etcd-hostile-agent-skipped python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert {a["id"] for a in d["agents"]} == {"ha1","ha2","ha3","ha4","ha5","ha6"}, d' "$tmp/out"
# The chaos test found a controller whose etcd lease had expired during a partition: its agents'
# entries went with it (the other controller no longer saw them) and every later enrolment there
# failed ("requested lease not found"), for good. PB's lease revoked: PB takes a new one and puts
# its agents back, PA sees all six again, and the agents that move to PB below can enrol there.
etcdctl_e() { ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:$E "$@"; }
pb_lease=$(for l in $(etcdctl_e lease list | tail -n +2); do
  etcdctl_e lease timetolive "$l" --keys | grep -q "/flopline/ks/controllers/$cb-" && echo "$l"; done)
check etcd-lease-found test -n "$pb_lease"
etcdctl_e lease revoke "$pb_lease" >/dev/null
check etcd-lease-regranted wait_until 15000 grep -q "lease had expired: a new one, and its 3 agents registered again" "$tmp/controller-$PB.log"
expect_ok etcd-lease-status-a killswitch status --controller 127.0.0.1:$PA --format json "${op[@]}"
check etcd-lease-a-sees-all python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert {a["id"] for a in d["agents"]} == {"ha1","ha2","ha3","ha4","ha5","ha6"}, d' "$tmp/out"
kill -9 $ca
sleep 3   # longer than the 2 s lease: agents of the dead controller must have moved, not stopped
check ha-nothing-stopped bash -c "$(declare -p num tag); $(declare -f alive running); for i in 1 2 3 4 5 6; do running ha\$i || exit 1; done"
check ha-reenrolled grep -q "re-enrolled" "$tmp/agent-ha1.log"
expect_ok ha-shutdown killswitch shutdown --controller 127.0.0.1:$PB --scope model:m-ha --reason "ha test" --format json "${op[@]}"
check ha-all-stopped python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["targeted"]==6 and d["stopped"]==6 and d["not_stopped"]==[], d' "$tmp/out"
check ha-all-gone bash -c "[[ \$(pgrep -f '^sleep $tag' | wc -l) -eq 0 ]]"

finish
