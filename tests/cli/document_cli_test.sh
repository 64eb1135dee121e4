#!/usr/bin/env bash
# `flopline document` from the outside (issue 14): every kind built from an evidence store made as
# `make run` makes it, each element present by id and each filled fact equal to the record it cites;
# completeness (missing, stale, --fail-if-incomplete); the PDF read back with poppler; filing a
# redacted public copy and the unredacted original, both verified against the log and a changed byte
# in either caught; signing; bad input as one line with exit 2 and nothing recorded.
# Usage: document_cli_test.sh FLOPLINE_BINARY SOURCE_DIR
set -uo pipefail
bin=$1
src=$2
source "$(dirname "$0")/lib.sh"
export FLOPLINE_DOCUMENTS_DIR=$src/documents FLOPLINE_REGIMES_DIR=$src/regimes FLOPLINE_DATA_DIR=$src/data
py="python3 $src/tests/cli/document_check.py"

db=$tmp/evidence.db
S=sqlite:$db
today=$(date -u +%F)

# --- the example evidence store, as `make run` builds it, plus the evidence documents cite --------
"$bin" ledger init --store "$S" --origin example.com/flopline-demo >/dev/null || echo "FAIL init"
"$bin" import "$src"/examples/models/*.toml --store "$S" >/dev/null || echo "FAIL import"
"$bin" ledger append --store "$S" --kind statement-of-compliance --file "$src/examples/evidence/statement-of-compliance.json" \
  --model acme-f1 --redact board_minutes=confidential-information >/dev/null || echo "FAIL append statement"
for kind in capability-assessment test-results incident-report; do
  "$bin" ledger append --store "$S" --kind $kind --file "$src/examples/evidence/$kind.json" --model acme-f1 >/dev/null 2>&1 \
    || echo "FAIL append $kind"
done
"$bin" ledger append --store "$S" --kind shutdown-drill --file "$src/examples/evidence/shutdown-drill.json" >/dev/null \
  || echo "FAIL append drill"
"$bin" ledger checkpoint --store "$S" >/dev/null || echo "FAIL checkpoint"
"$bin" assess "$src"/examples/models/*.toml --as-of "$today" --format json >"$tmp/assess.json" || true
size() { "$bin" ledger verify --store "$S" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])'; }

# --- list ---------------------------------------------------------------------------------------
expect_ok list document list
check list-table grep -q '^sb1047-statement-of-compliance ' "$tmp/out"
expect_ok list-json document list --format json
cp "$tmp/out" "$tmp/kinds.json"
kinds=$(python3 -c 'import json,sys; print(" ".join(k["id"] for k in json.load(open(sys.argv[1]))))' "$tmp/kinds.json")
check list-eleven test "$(wc -w <<<"$kinds")" -eq 11

# --- every kind, built from the store: elements by id, facts against their records ------------
before=$(size)
for kind in $kinds; do
  model=acme-f1
  $py fill "$tmp/kinds.json" "$kind" "$tmp/$kind.fill.toml"
  expect_ok "build-$kind" document "$kind" --model $model --store "$S" --as-of "$today" --fill "$tmp/$kind.fill.toml" \
    --out "$tmp/doc/$kind" --no-pdf
  check "elements-$kind" $py elements "$tmp/kinds.json" "$kind" "$tmp/doc/$kind/document.json" "$tmp/doc/$kind/$kind.html"
  check "facts-$kind" $py facts "$bin" "$S" "$tmp/doc/$kind/document.json" "$tmp/doc/$kind/$kind.html" "$tmp/assess.json"
done
check drafts-record-nothing test "$(size)" = "$before"
# The statement cites the capability assessment and the drill; SB 1047's status and a record's leaf hash.
check soc-complete python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["completeness"]["complete"], d["completeness"]' \
  "$tmp/doc/sb1047-statement-of-compliance/document.json"
check soc-cites-assessment grep -q 'data-fact="record.capability-assessment"' "$tmp/doc/sb1047-statement-of-compliance/sb1047-statement-of-compliance.html"
check soc-cites-drill grep -q 'data-fact="drill.latest"' "$tmp/doc/sb1047-statement-of-compliance/sb1047-statement-of-compliance.html"
check notification-2sf grep -q '1.2 x 10^26 FLOP' "$tmp/doc/eu-art52-notification/eu-art52-notification.html"

# --- completeness ------------------------------------------------------------------------------
expect_ok incomplete document sb1047-ssp --model acme-f1 --store "$S" --as-of "$today" --out "$tmp/ssp" --no-pdf
check incomplete-listed grep -q 'missing  a3A' "$tmp/out"
"$bin" document sb1047-ssp --model acme-f1 --store "$S" --as-of "$today" --out "$tmp/ssp" --no-pdf --fail-if-incomplete >/dev/null 2>&1
check fail-if-incomplete test $? -eq 1
expect_ok complete-passes document sb1047-statement-of-compliance --model acme-f1 --store "$S" --as-of "$today" \
  --fill "$tmp/sb1047-statement-of-compliance.fill.toml" --out "$tmp/soc" --no-pdf --fail-if-incomplete
later=$(date -u -d "$today + 800 days" +%F)
expect_ok stale document sb1047-statement-of-compliance --model acme-f1 --store "$S" --as-of "$later" \
  --fill "$tmp/sb1047-statement-of-compliance.fill.toml" --out "$tmp/stale" --no-pdf --format json
check stale-listed python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [i for i in d["incomplete"] if i["element"]=="f2A" and i["state"]=="stale"], d' "$tmp/out"

# --- the PDF: headings, facts, running header and page numbers, a page rendered ----------------
expect_ok pdf document sb1047-statement-of-compliance --model acme-f1 --store "$S" --as-of "$today" \
  --fill "$src/examples/documents/sb1047-statement-of-compliance.toml" --out "$tmp/pdf"
pdf=$tmp/pdf/sb1047-statement-of-compliance.pdf
check pdf-magic test "$(head -c 5 "$pdf")" = "%PDF-"
pdftotext -layout "$pdf" "$tmp/pdf.txt" 2>/dev/null
for text in "Statement of compliance" "Nature and magnitude of possible critical harms" "signing officer's verification process" \
            "acme-f1 · Statement of compliance · version 1" "DRAFT · not filed" "Page 1 of" "Dana Reyes" "Not reasonably capable"; do
  check "pdf-text-$text" grep -qF "$text" "$tmp/pdf.txt"
done
pdftoppm -png -r 50 -f 1 -l 1 "$pdf" "$tmp/page" 2>/dev/null
check pdf-page-rendered test -s "$tmp/page-1.png"

# --- filing: public copy and original into the log, both verified, a changed byte caught --------
before=$(size)
expect_ok file document sb1047-statement-of-compliance --model acme-f1 --store "$S" --as-of "$today" \
  --fill "$src/examples/documents/sb1047-statement-of-compliance.toml" --out "$tmp/filed" --file --format json
check filed-one-record test "$(size)" -eq $((before + 1))
index=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["filed"]["index"])' "$tmp/out")
check filed-pdfs test -s "$tmp/filed/public/sb1047-statement-of-compliance.pdf" -a -s "$tmp/filed/original/sb1047-statement-of-compliance.pdf"
pdftotext -layout "$tmp/filed/public/sb1047-statement-of-compliance.pdf" "$tmp/public.txt" 2>/dev/null
leaf=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["leaf_hash"])' "$tmp/filed/filing.json")
check pdf-header-leaf-hash grep -qF "leaf hash $leaf" "$tmp/public.txt"
check public-withholds-f2B python3 -c '
import sys; sys.path.insert(0, sys.argv[3]); import document_check as d
p = d.page(sys.argv[1]); o = d.page(sys.argv[2])
assert p.redacted == {"f2B": "trade-secret"}, p.redacted
assert "residual risk" not in open(sys.argv[1]).read() and "residual risk" in open(sys.argv[2]).read()
assert "names the evaluation margins" in open(sys.argv[1]).read()' \
  "$tmp/filed/public/sb1047-statement-of-compliance.html" "$tmp/filed/original/sb1047-statement-of-compliance.html" "$src/tests/cli"
expect_error verify-before-checkpoint 1 "not yet in a signed checkpoint" -- document verify "$tmp/filed" --store "$S"
"$bin" ledger checkpoint --store "$S" >/dev/null || echo "FAIL checkpoint"
expect_ok verify document verify "$tmp/filed" --store "$S"
check verify-both grep -q '^ok: public copy and unredacted original of entry' "$tmp/out"
expect_ok ledger-verify ledger verify --store "$S"

tamper() {  # tamper NAME FILE PYTHON-EXPR-ON-BYTES
  rm -rf "$tmp/t"; cp -r "$tmp/filed" "$tmp/t"
  python3 -c 'import sys; p=sys.argv[1]; b=open(p,"rb").read(); b=eval(sys.argv[2]); open(p,"wb").write(b)' "$tmp/t/$2" "$3"
  expect_error "tamper-$1" 1 "FAILED" -- document verify "$tmp/t" --store "$S"
}
tamper public-html public/sb1047-statement-of-compliance.html 'b.replace(b"Dana Reyes", b"Dana Reyez", 1)'
tamper public-disclosure public/disclosure.json 'b.replace(b"Not reasonably capable", b"Not reasonably Capable", 1)'
tamper original-document original/document.json 'b.replace(b"residual risk", b"residual Risk", 1)'
tamper original-html original/sb1047-statement-of-compliance.html 'b.replace(b"residual risk", b"residual Risk", 1)'
tamper original-openings original/openings.json 'b[:40] + bytes([b[40] ^ 1]) + b[41:]'

# --- signing --------------------------------------------------------------------------------------
expect_error sign-other-signer 2 "field '--signer'.*names 'Dana Reyes'" -- document sign --store "$S" --index "$index" --signer "Sam Smith" --role CEO
expect_error sign-not-a-document 2 "not a document filed" -- document sign --store "$S" --index 0 --signer "Dana Reyes" --role CTO
expect_ok sign document sign --store "$S" --index "$index" --signer "Dana Reyes" --role "Chief Technology Officer" --at 2026-11-24T10:00:00Z
"$bin" ledger checkpoint --store "$S" >/dev/null || echo "FAIL checkpoint"
expect_ok verify-signed document verify "$tmp/filed" --store "$S"
check verify-lists-signature grep -q 'signed by Dana Reyes (Chief Technology Officer) at 2026-11-24T10:00:00Z' "$tmp/out"

# --- bad input: one line naming file, line and field; exit 2; nothing recorded --------------------
before=$(size)
F=(--store "$S" --as-of "$today" --out "$tmp/bad" --no-pdf)
expect_error unknown-kind 2 "field 'KIND': unknown document kind 'sb1047-nope'" -- document sb1047-nope --model acme-f1 "${F[@]}"
expect_error unknown-model 2 "evidence.db.*field '--model': no model 'nope'" -- document sb1047-ssp --model nope "${F[@]}" --file
printf 'kind = "sb1047-statement-of-compliance"\n[elements]\nf2A = "x"\nf9Z = "y"\n' >"$tmp/unknown.toml"
expect_error fill-unknown-element 2 "unknown.toml:4:7: field 'elements.f9Z'" -- document sb1047-statement-of-compliance --model acme-f1 "${F[@]}" --fill "$tmp/unknown.toml" --file
printf '[elements]\nf2A = 42\n' >"$tmp/type.toml"
expect_error fill-wrong-type 2 "type.toml:2:7: field 'elements.f2A': expected text" -- document sb1047-statement-of-compliance --model acme-f1 "${F[@]}" --fill "$tmp/type.toml" --file
printf '[elements]\nf2C = "one string"\n' >"$tmp/list.toml"
expect_error fill-wants-list 2 "field 'elements.f2C': expected a list" -- document sb1047-statement-of-compliance --model acme-f1 "${F[@]}" --fill "$tmp/list.toml" --file
printf '[redact.a3I]\nground = "trade-secret"\n' >"$tmp/redact.toml"
expect_error fill-redaction-not-allowed 2 "field 'redact.a3I': element 'a3I' may not be withheld" -- document sb1047-ssp --model acme-f1 "${F[@]}" --fill "$tmp/redact.toml" --file
printf '[elements]\nf2A = "x"\n' >"$tmp/nosigner.toml"
expect_error file-needs-signatory 2 "nosigner.toml: field 'signatory'" -- document sb1047-statement-of-compliance --model acme-f1 "${F[@]}" --fill "$tmp/nosigner.toml" --file
expect_error no-store 2 "field '--store'" -- document sb1047-ssp --model acme-f1 --store "sqlite:$tmp/none.db" --out "$tmp/bad"
check no-store-not-created test ! -e "$tmp/none.db"
expect_error bad-as-of 2 "field '--as-of'" -- document sb1047-ssp --model acme-f1 --store "$S" --as-of 2026-13-01 --out "$tmp/bad"
check bad-input-records-nothing test "$(size)" = "$before"
check bad-input-writes-nothing test ! -e "$tmp/bad"

finish
