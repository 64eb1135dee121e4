#!/usr/bin/env bash
# `flopline ledger` and `flopline import` from the outside: the JSON contracts, exit codes, one-line
# errors, tamper detection, offline export, and proofs and checkpoints accepted by verifiers not
# written against our code: Go's golang.org/x/mod/sumdb/{note,tlog} (Debian's
# golang-golang-x-mod-dev) and a Python transcription of RFC 9162's verification algorithms.
# Usage: ledger_cli_test.sh FLOPLINE_BINARY SOURCE_DIR [POSTGRES_CONNINFO]
set -uo pipefail
bin=$1
src=$2
pg=${3:-}
source "$(dirname "$0")/lib.sh"

db=$tmp/evidence.db
S=sqlite:$db

# --- init, key file -------------------------------------------------------------------------
expect_ok init ledger init --store "$S" --origin example.com/acme-evidence --format json
check key-file-0600 test "$(stat -c %a "$db.key")" = 600
check key-file-signer grep -q '^PRIVATE+KEY+example.com/acme-evidence+' "$db.key"
expect_ok init-again ledger init --store "$S" --origin example.com/acme-evidence
expect_error init-other-origin 2 "already initialised" -- ledger init --store "$S" --origin example.com/other --key "$tmp/other.key"
expect_ok key ledger key --store "$S"
check verifier-key grep -qE '^example.com/acme-evidence\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$' "$tmp/out"
cp "$tmp/out" "$tmp/vkey"

# --- append ----------------------------------------------------------------------------------
printf 'Safety and security protocol v1\n' >"$tmp/ssp.txt"
cat >"$tmp/statement.json" <<'JSON'
{"signer": "Jane Roe", "role": "Chief Technology Officer", "year": 2026, "board_note": "ask counsel"}
JSON
expect_ok append-ssp ledger append --store "$S" --kind ssp --file "$tmp/ssp.txt" --model acme-f1 --format json
check append-json python3 -c 'import json,sys,base64; d=json.load(open(sys.argv[1])); assert set(d)=={"index","leaf_hash"} and d["index"]==0 and len(base64.b64decode(d["leaf_hash"]))==32' "$tmp/out"
expect_ok append-statement ledger append --store "$S" --kind statement-of-compliance --file "$tmp/statement.json" --model acme-f1 --redact board_note=confidential-information --format json
for i in $(seq 2 20); do
  printf '{"test": "cyber-uplift-%d", "passed": true}\n' "$i" >"$tmp/t$i.json"
  "$bin" ledger append --store "$S" --kind test-results --file "$tmp/t$i.json" --model acme-f1 >/dev/null || echo "FAIL append $i"
done
cat >"$tmp/late.json" <<'JSON'
{"discovered_at": "2026-05-01T00:00:00Z", "reported_at": "2026-05-05T00:00:00Z", "summary": "weights copied"}
JSON
expect_ok append-late-incident ledger append --store "$S" --kind incident-report --file "$tmp/late.json" --model acme-f1
check late-notice grep -q "96 hours after discovery.*§22603(g)" "$tmp/err"

expect_error unknown-kind 2 "field 'kind': unknown record kind 'diary'" -- ledger append --store "$S" --kind diary --file "$tmp/ssp.txt"
printf '{"signer": "Jane Roe"}\n' >"$tmp/unsigned.json"
expect_error missing-role 2 "unsigned.json.*field 'role'.*§22603\(f\)\(1\)" -- ledger append --store "$S" --kind statement-of-compliance --file "$tmp/unsigned.json" --model acme-f1
expect_error no-model 2 "field 'model'" -- ledger append --store "$S" --kind ssp --file "$tmp/ssp.txt"
expect_error bad-ground 2 "field 'redact'.*not a ground" -- ledger append --store "$S" --kind statement-of-compliance --file "$tmp/statement.json" --model m --redact board_note=embarrassing
expect_error missing-file 2 "nope.json: field '--file'" -- ledger append --store "$S" --kind ssp --file "$tmp/nope.json" --model m
expect_error bad-store 2 "names no store" -- ledger append --store mysql:x --kind ssp --file "$tmp/ssp.txt" --model m
expect_ok still-22 ledger prove --store "$S" --index 21 --format json

# --- checkpoint ------------------------------------------------------------------------------
expect_ok checkpoint ledger checkpoint --store "$S"
cp "$tmp/out" "$tmp/checkpoint"
check checkpoint-format python3 - "$tmp/checkpoint" <<'PY'
import sys, base64, re
text = open(sys.argv[1], encoding="utf-8").read()
body, sigs = text.split("\n\n")
origin, size, root = body.split("\n")
assert origin == "example.com/acme-evidence" and size == "22", (origin, size)
assert len(base64.b64decode(root)) == 32
assert re.fullmatch(r"\u2014 example\.com/acme-evidence [A-Za-z0-9+/]{91}=\n", sigs), sigs
PY
chmod 644 "$db.key"
expect_error key-mode 2 "readable by others.*chmod 600" -- ledger checkpoint --store "$S"
chmod 600 "$db.key"
"$bin" ledger init --store "sqlite:$tmp/other.db" --origin example.com/acme-evidence >/dev/null  # same name, other key
expect_error wrong-key 2 "not the log's key" -- ledger checkpoint --store "$S" --key "$tmp/other.db.key"

# --- proofs: a Python transcription of RFC 9162 2.1.3.2 and 2.1.4.2 ---------------------------
: >"$tmp/proofs.jsonl"
for i in $(seq 0 21); do
  "$bin" ledger prove --store "$S" --index "$i" --format json | tr -d '\n' >>"$tmp/proofs.jsonl"; echo >>"$tmp/proofs.jsonl"
  "$bin" ledger prove --store "$S" --index 0 --tree-size "$((i + 1))" --format json | tr -d '\n' >>"$tmp/proofs.jsonl"; echo >>"$tmp/proofs.jsonl"
  "$bin" ledger consistency --store "$S" --from "$((i + 1))" --to 22 --format json | tr -d '\n' >>"$tmp/proofs.jsonl"; echo >>"$tmp/proofs.jsonl"
done
check python-rfc9162 python3 - "$tmp/proofs.jsonl" <<'PY'
import sys, json, base64, hashlib
H = lambda b: hashlib.sha256(b).digest()
def inclusion(leaf, index, size, path, root):
    if index >= size: return False
    fn, sn, r = index, size - 1, H(b"\x00" + leaf)
    for p in path:
        if sn == 0: return False
        if fn & 1 or fn == sn:
            r = H(b"\x01" + p + r)
            while not fn & 1 and fn != 0: fn >>= 1; sn >>= 1
        else:
            r = H(b"\x01" + r + p)
        fn >>= 1; sn >>= 1
    return sn == 0 and r == root
def consistency(m, n, old, new, path):
    if m == n: return not path and old == new
    if m & (m - 1) == 0: path = [old] + path
    fn, sn = m - 1, n - 1
    while fn & 1: fn >>= 1; sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0: return False
        if fn & 1 or fn == sn:
            fr = H(b"\x01" + c + fr); sr = H(b"\x01" + c + sr)
            while not fn & 1 and fn != 0: fn >>= 1; sn >>= 1
        else:
            sr = H(b"\x01" + sr + c)
        fn >>= 1; sn >>= 1
    return fr == old and sr == new and sn == 0
b = base64.b64decode
count = 0
for line in open(sys.argv[1]):
    d = json.loads(line)
    if "index" in d:
        assert set(d) == {"index", "tree_size", "leaf", "hashes", "root"}
        ok = inclusion(b(d["leaf"]), d["index"], d["tree_size"], [b(h) for h in d["hashes"]], b(d["root"]))
        assert ok, d
        bad = [b(h) for h in d["hashes"]]
        if bad:
            bad[0] = bytes([bad[0][0] ^ 1]) + bad[0][1:]
            assert not inclusion(b(d["leaf"]), d["index"], d["tree_size"], bad, b(d["root"]))
    else:
        assert set(d) == {"from", "to", "hashes", "old_root", "new_root"}
        assert consistency(d["from"], d["to"], b(d["old_root"]), b(d["new_root"]), [b(h) for h in d["hashes"]]), d
    count += 1
assert count == 66, count
PY

# --- the same proofs and the checkpoint through Go's sumdb verifier ----------------------------
gobuild() {
  GOCACHE=$tmp/gocache GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= \
    go build -o "$tmp/sumdb_verify" "$src/tests/interop/sumdb_verify.go"
}
check go-verifier-builds gobuild
check go-accepts "$tmp/sumdb_verify" "$tmp/vkey" "$tmp/checkpoint" "$tmp/proofs.jsonl"
python3 - "$tmp/proofs.jsonl" "$tmp/forged.jsonl" <<'PY'
import sys, json, base64
lines = [json.loads(l) for l in open(sys.argv[1])]
d = lines[5]
h = bytearray(base64.b64decode(d["hashes"][1])); h[7] ^= 0x10
d["hashes"][1] = base64.b64encode(bytes(h)).decode()
open(sys.argv[2], "w").write(json.dumps(d) + "\n")
PY
check go-rejects-forged-proof bash -c "! '$tmp/sumdb_verify' '$tmp/vkey' '$tmp/checkpoint' '$tmp/forged.jsonl' 2>/dev/null"
sed 's/^22$/23/' "$tmp/checkpoint" >"$tmp/forged-checkpoint"
check go-rejects-forged-checkpoint bash -c "! '$tmp/sumdb_verify' '$tmp/vkey' '$tmp/forged-checkpoint' '$tmp/proofs.jsonl' 2>/dev/null"

# --- verify, tamper ----------------------------------------------------------------------------
expect_ok verify ledger verify --store "$S" --format json
check verify-json python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] and d["size"]==22 and d["checkpoints"]==2 and d["documents"]==22 and d["first_bad_index"] is None' "$tmp/out"
python3 - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
leaf = bytearray(c.execute("SELECT leaf FROM entries WHERE idx = 13").fetchone()[0]); leaf[40] ^= 1
c.execute("UPDATE entries SET leaf = ? WHERE idx = 13", (bytes(leaf),)); c.commit()
PY
expect_error verify-tampered 1 "FAILED at index 13: entry 13" -- ledger verify --store "$S"
python3 - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
leaf = bytearray(c.execute("SELECT leaf FROM entries WHERE idx = 13").fetchone()[0]); leaf[40] ^= 1
c.execute("UPDATE entries SET leaf = ? WHERE idx = 13", (bytes(leaf),)); c.commit()
PY
expect_ok verify-restored ledger verify --store "$S"

# --- show: a record produced as filed --------------------------------------------------------
expect_ok show ledger show --store "$S" --index 1 --document-out "$tmp/produced.json" --format json
check show-json python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["kind"]=="statement-of-compliance" and d["document_matches_leaf"] and d["leaf"]["serves"]=="SB 1047 §22603(f)(1)"' "$tmp/out"
check show-document cmp "$tmp/produced.json" "$tmp/statement.json"
expect_error show-missing 2 "no entry 99" -- ledger show --store "$S" --index 99

# --- export and offline verification ------------------------------------------------------------
expect_ok export ledger export --store "$S" --out "$tmp/audit"
expect_ok export-public ledger export --store "$S" --out "$tmp/public" --public
expect_ok verify-dir ledger verify --dir "$tmp/audit" --key "$tmp/vkey"
expect_ok verify-public ledger verify --dir "$tmp/public" --key "$(cat "$tmp/vkey")" --format json
check public-withholds bash -c "! grep -q 'ask counsel' '$tmp/public/openings.jsonl' && grep -q 'Jane Roe' '$tmp/public/openings.jsonl'"
check full-keeps grep -q 'ask counsel' "$tmp/audit/documents/"*
"$bin" ledger verify --dir "$tmp/audit" >/dev/null 2>"$tmp/err"
check unpinned-warning grep -q "pin it with --key" "$tmp/err"
doc=$(ls "$tmp/audit/documents" | head -1)
chmod u+w "$tmp/audit/documents/$doc"; printf 'x' >>"$tmp/audit/documents/$doc"
expect_error verify-dir-tampered 1 "FAILED at index" -- ledger verify --dir "$tmp/audit" --key "$tmp/vkey"
expect_error export-exists 2 "not empty" -- ledger export --store "$S" --out "$tmp/audit"
# Review finding 5: a full copy holds every salt and redacted field: owner-only.
check export-full-dir-0700 test "$(stat -c %a "$tmp/audit")" = 700
check export-full-files-0600 bash -c "test -z \"\$(find '$tmp/audit' -mindepth 1 ! -perm 600 ! -perm 700)\""
check export-public-readable test "$(stat -c %a "$tmp/public/manifest.json")" = 644

# --- issue 10: hostile input and a hostile store ------------------------------------------------
# expect_fail NAME CODE PATTERN -- ARGS...: exits CODE with PATTERN on stderr (warnings may precede).
expect_fail() {
  local name=$1 code=$2 pattern=$3
  shift 4
  "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [[ $got -eq $code ]] && grep -qE -- "$pattern" "$tmp/err"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); echo "FAIL $name: exit $got (want $code); stderr:"; cat "$tmp/err"
  fi
}
# copy_store SRC DST: a consistent copy of a SQLite store (WAL included) and its key.
copy_store() {
  python3 -c 'import sqlite3,sys; s=sqlite3.connect(sys.argv[1]); d=sqlite3.connect(sys.argv[2]); s.backup(d); d.close()' "$1" "$2"
  cp "$1.key" "$2.key"
}
sql() { python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()' "$@"; }
size_of() { "$bin" ledger verify --store "$1" --format json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])'; }

# Item 13: bad input is refused before anything is written, naming the file, exit 2.
n=$(size_of "$S")
mkdir -p "$tmp/adir"
expect_error append-dir 2 "adir: field '--file': is a directory" -- ledger append --store "$S" --kind ssp --file "$tmp/adir" --model m
check append-devzero-refused bash -c "timeout 20 '$bin' ledger append --store '$S' --kind ssp --file /dev/zero --model m 2>'$tmp/err'; test \$? -eq 2 && grep -q 'not a regular file' '$tmp/err'"
expect_error append-dir-new-store 2 "is a directory" -- ledger append --store "sqlite:$tmp/never.db" --kind ssp --file "$tmp/adir" --model m
check append-dir-created-nothing test ! -e "$tmp/never.db"
: >"$tmp/empty.toml"
expect_error import-dir 2 "adir: field 'files': is a directory" -- import "$tmp/adir" --store "$S"
expect_error import-empty 2 "empty.toml: field 'files': is empty" -- import "$tmp/empty.toml" --store "$S"
printf '[model]\nid = "typo"\n' >"$tmp/typo.toml"
expect_fail import-mistyped-header 2 "typo.toml" -- import "$tmp/typo.toml" --store "$S"
check bad-input-wrote-nothing test "$(size_of "$S")" = "$n"

# Item 12: recorded times never go backwards, never lie in the future.
expect_error recorded-1970 2 "field '--recorded-at'.*never go backwards" -- ledger append --store "$S" --kind ssp --file "$tmp/ssp.txt" --model acme-f1 --recorded-at 1970-01-01T00:00:00Z
expect_error recorded-9999 2 "field '--recorded-at'.*in the future" -- ledger append --store "$S" --kind ssp --file "$tmp/ssp.txt" --model acme-f1 --recorded-at 9999-12-31T00:00:00Z
expect_error append-purge-kind 2 "field 'kind'.*written by the log itself" -- ledger append --store "$S" --kind purge --file "$tmp/ssp.txt"
check bad-times-wrote-nothing test "$(size_of "$S")" = "$n"

# Item 9: an edited kind column fails verify, purge and show; the SSP is never purged by it.
copy_store "$db" "$tmp/kind.db"
sql "$tmp/kind.db" "UPDATE entries SET kind = 'shutdown-drill' WHERE idx = 0"
expect_fail kind-edited-verify 1 "FAILED at index 0: entry 0: the stored kind column says 'shutdown-drill'" -- ledger verify --store "sqlite:$tmp/kind.db"
expect_fail kind-edited-purge 2 "refused: the log does not verify" -- ledger purge --store "sqlite:$tmp/kind.db" --index 0
expect_fail kind-edited-show 1 "kind column" -- ledger show --store "sqlite:$tmp/kind.db" --index 0
check kind-edited-kept python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); assert c.execute("SELECT purged_at IS NULL FROM entries WHERE idx = 0").fetchone()[0]' "$tmp/kind.db"

# Item 10: a purge done by editing rows fails both verifies; a logged purge passes them.
copy_store "$db" "$tmp/purge.db"
sql "$tmp/purge.db" "UPDATE entries SET purged_at = '2026-11-24T00:00:00Z', openings = '' WHERE idx = 21;
  DELETE FROM documents WHERE entry = 21"
expect_fail hand-purge-verify 1 "FAILED at index 21: .*no purge of it is logged" -- ledger verify --store "sqlite:$tmp/purge.db"
expect_ok hand-purge-export ledger export --store "sqlite:$tmp/purge.db" --out "$tmp/purge-audit"
expect_fail hand-purge-verify-dir 1 "FAILED at index 21" -- ledger verify --dir "$tmp/purge-audit" --key "$tmp/vkey"
copy_store "$db" "$tmp/lpurge.db"
expect_ok logged-purge ledger purge --store "sqlite:$tmp/lpurge.db" --index 21
expect_ok logged-purge-checkpoint ledger checkpoint --store "sqlite:$tmp/lpurge.db"
expect_ok logged-purge-verify ledger verify --store "sqlite:$tmp/lpurge.db"
expect_ok logged-purge-export ledger export --store "sqlite:$tmp/lpurge.db" --out "$tmp/lpurge-audit"
expect_ok logged-purge-verify-dir ledger verify --dir "$tmp/lpurge-audit" --key "$tmp/vkey"
expect_ok logged-purge-show ledger show --store "sqlite:$tmp/lpurge.db" --index 21
check logged-purge-show-says grep -q "purge is logged" "$tmp/out"

# Item 12: rollback against a pinned checkpoint; every checkpoint deleted.
expect_ok since-intact ledger verify --store "$S" --since "$tmp/checkpoint"
copy_store "$db" "$tmp/rollback.db"
sql "$tmp/rollback.db" "DELETE FROM entries WHERE idx >= 10; DELETE FROM nodes WHERE (id % 281474976710656 + 1) * (CAST(1 AS BIGINT) << CAST(id / 281474976710656 AS INTEGER)) > 10;
  DELETE FROM checkpoints WHERE size > 10"
expect_ok rollback-invisible-alone ledger verify --store "sqlite:$tmp/rollback.db"
expect_fail rollback-since 1 "rolled back: the pinned checkpoint signed 22 entries, the log holds 10" -- ledger verify --store "sqlite:$tmp/rollback.db" --since "$tmp/checkpoint"
expect_ok rollback-export ledger export --store "sqlite:$tmp/rollback.db" --out "$tmp/rollback-audit"
expect_fail rollback-since-dir 1 "rolled back" -- ledger verify --dir "$tmp/rollback-audit" --key "$tmp/vkey" --since "$tmp/checkpoint"
expect_error since-missing 2 "nope.note: field '--since'" -- ledger verify --store "$S" --since "$tmp/nope.note"
sql "$tmp/rollback.db" "DELETE FROM checkpoints"
expect_fail no-checkpoints 1 "no signed checkpoint" -- ledger verify --store "sqlite:$tmp/rollback.db"

# --- import, retention ---------------------------------------------------------------------------
expect_ok import import "$src/examples/models/frontier-lab.toml" --store "$S" --format json
check import-json python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["models"]>=2 and d["entries"][0]["index"]==22' "$tmp/out"
expect_error purge-refused 2 "must be kept.*§22603\(a\)\(5\)" -- ledger purge --store "$S" --index 0
expect_error import-bad 2 "nope.toml" -- import "$tmp/nope.toml" --store "$S"
expect_ok verify-after-import ledger verify --store "$S"

# --- security review of issue 10 ------------------------------------------------------------------
# Finding 1: the verifier key in the store was trusted. The attacker installs their own key, drops
# the checkpoints and signs the log with their key.
copy_store "$db" "$tmp/swap.db"
rm "$tmp/swap.db.key"
attacker_vkey=$("$bin" ledger key --store "sqlite:$tmp/other.db")
sql "$tmp/swap.db" "UPDATE meta SET value = '$attacker_vkey' WHERE key = 'verifier_key'; DELETE FROM checkpoints"
expect_ok swap-resigned ledger checkpoint --store "sqlite:$tmp/swap.db" --key "$tmp/other.db.key"
expect_ok swap-unpinned-verify ledger verify --store "sqlite:$tmp/swap.db"
check swap-unpinned-warns grep -q "warning: the verifier key came from the store itself" "$tmp/err"
expect_fail swap-pinned-verify 1 "FAILED: the store's verifier key is not the pinned key" -- ledger verify --store "sqlite:$tmp/swap.db" --key "$tmp/vkey"
expect_error swap-purge-unpinned 2 "needs the log's verifier key" -- ledger purge --store "sqlite:$tmp/swap.db" --index 2
expect_error swap-show-pinned 1 "not the pinned key" -- ledger show --store "sqlite:$tmp/swap.db" --key "$(cat "$tmp/vkey")" --index 0
cp "$db.key" "$tmp/swap.db.key"  # the signing key beside the database pins the key by default
expect_fail swap-beside-verify 1 "not the pinned key" -- ledger verify --store "sqlite:$tmp/swap.db"
expect_fail swap-beside-purge 2 "does not verify" -- ledger purge --store "sqlite:$tmp/swap.db" --index 2
# Finding 3: the first record of an empty log cannot be back-dated.
expect_ok fresh-init ledger init --store "sqlite:$tmp/fresh.db" --origin example.com/fresh
expect_error fresh-1970 2 "field '--recorded-at'.*before the log was initialised" -- ledger append --store "sqlite:$tmp/fresh.db" --kind whistleblower-record --file "$tmp/ssp.txt" --recorded-at 1970-01-01T00:00:00Z
# Finding 4: key and checkpoint files are opened once, never through a symlink, never a FIFO that
# blocks, never read past 64 KiB.
ln -s "$db.key" "$tmp/link.key"
expect_error key-symlink 2 "link.key: field '--key': is a symbolic link" -- ledger checkpoint --store "$S" --key "$tmp/link.key"
mkfifo -m 600 "$tmp/fifo.key"
check key-fifo bash -c "timeout 20 '$bin' ledger checkpoint --store '$S' --key '$tmp/fifo.key' 2>'$tmp/err'; test \$? -eq 2 && grep -q 'not a regular file' '$tmp/err'"
check vkey-fifo bash -c "timeout 20 '$bin' ledger verify --dir '$tmp/public' --key '$tmp/fifo.key' 2>'$tmp/err'; test \$? -eq 2 && grep -q 'not a regular file' '$tmp/err'"
check since-fifo bash -c "timeout 20 '$bin' ledger verify --store '$S' --since '$tmp/fifo.key' 2>'$tmp/err'; test \$? -eq 2 && grep -q 'not a regular file' '$tmp/err'"
head -c 70000 /dev/zero >"$tmp/big.key"; chmod 600 "$tmp/big.key"
expect_error key-too-big 2 "big.key: field '--key': is 70000 bytes" -- ledger checkpoint --store "$S" --key "$tmp/big.key"
# Item 11: the inventory tables are checked against the logged imports (the kill switch reads them).
copy_store "$db" "$tmp/lineage.db"
check lineage-row-exists python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); assert c.execute("SELECT COUNT(*) FROM lineage").fetchone()[0] > 0' "$tmp/lineage.db"
sql "$tmp/lineage.db" "DELETE FROM lineage"
expect_fail lineage-deleted 1 "inventory: the lineage table lacks the logged lineage edge" -- ledger verify --store "sqlite:$tmp/lineage.db"

# --- the same flow on PostgreSQL ----------------------------------------------------------------
if [[ -n "$pg" ]]; then
  dbname=flopline_cli_$$
  psql "$pg" -qc "DROP DATABASE IF EXISTS $dbname" -c "CREATE DATABASE $dbname" >/dev/null 2>&1
  P="postgres:$pg dbname=$dbname"
  expect_error pg-needs-key 2 "field '--key'" -- ledger init --store "$P" --origin example.com/pg
  expect_ok pg-init ledger init --store "$P" --origin example.com/pg --key "$tmp/pg.key"
  expect_ok pg-append ledger append --store "$P" --kind ssp --file "$tmp/ssp.txt" --model acme-f1 --format json
  expect_ok pg-append2 ledger append --store "$P" --kind statement-of-compliance --file "$tmp/statement.json" --model acme-f1
  expect_ok pg-checkpoint ledger checkpoint --store "$P" --key "$tmp/pg.key"
  cp "$tmp/out" "$tmp/pg-checkpoint"
  "$bin" ledger key --store "$P" >"$tmp/pg-vkey"
  { "$bin" ledger prove --store "$P" --index 1 --format json | tr -d '\n'; echo; } >"$tmp/pg-proofs.jsonl"
  check pg-go-accepts "$tmp/sumdb_verify" "$tmp/pg-vkey" "$tmp/pg-checkpoint" "$tmp/pg-proofs.jsonl"
  expect_ok pg-verify ledger verify --store "$P"
  psql "$pg dbname=$dbname" -qc "UPDATE entries SET kind = 'shutdown-drill' WHERE idx = 0" >/dev/null
  expect_fail pg-kind-edited 1 "stored kind column" -- ledger verify --store "$P"
  expect_error pg-purge-needs-key 2 "needs the log's verifier key" -- ledger purge --store "$P" --index 0
  expect_fail pg-kind-edited-purge 2 "does not verify" -- ledger purge --store "$P" --index 0 --key "$tmp/pg-vkey"
  psql "$pg dbname=$dbname" -qc "UPDATE entries SET kind = 'ssp' WHERE idx = 0" >/dev/null
  psql "$pg dbname=$dbname" -qc "DELETE FROM checkpoints" >/dev/null
  expect_fail pg-no-checkpoints 1 "no signed checkpoint" -- ledger verify --store "$P"
  psql "$pg dbname=$dbname" -qc "UPDATE entries SET purged_at = '2026-11-24T00:00:00Z', openings = '' WHERE idx = 1" >/dev/null
  expect_fail pg-hand-purge 1 "FAILED at index 1: .*no purge of it is logged" -- ledger verify --store "$P"
  psql "$pg dbname=$dbname" -qc "UPDATE documents SET bytes = bytes || '\\x00'::bytea" >/dev/null
  expect_error pg-verify-tampered 1 "FAILED at index 0" -- ledger verify --store "$P" --key "$tmp/pg-vkey"
fi

# Issue 16 soak finding: libpq's "Connection refused" message spans two lines (a hint on the second),
# and was printed as it came. A server that is not there is one line, like every error.
expect_error pg-unreachable-one-line 2 "postgres: cannot connect: .*Connection refused" -- ledger verify --store "postgres:host=127.0.0.1 port=1 user=postgres connect_timeout=5"

finish
