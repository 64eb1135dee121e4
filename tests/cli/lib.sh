# Shared by the CLI tests. Source after setting `bin`. Provides expect_error, expect_ok, check, finish.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

# expect_error NAME EXPECTED_EXIT PATTERN -- ARGS...: the command fails with that code, prints one
# line on stderr matching PATTERN, and nothing on stdout.
expect_error() {
  local name=$1 code=$2 pattern=$3
  shift 4
  "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  local lines
  lines=$(wc -l <"$tmp/err")
  if [[ $got -eq $code && $lines -eq 1 && ! -s $tmp/out ]] && grep -qE -- "$pattern" "$tmp/err"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $name: exit $got (want $code), $lines stderr lines; stderr:"; cat "$tmp/err"
  fi
}

# expect_ok NAME ARGS...: the command succeeds; its stdout is left in $tmp/out.
expect_ok() {
  local name=$1
  shift
  if "$bin" "$@" >"$tmp/out" 2>"$tmp/err"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); echo "FAIL $name:"; cat "$tmp/err"
  fi
}

# check NAME COMMAND...: a command of the test's own (e.g. a python3 assertion) succeeds.
check() {
  local name=$1
  shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $name"; fi
}

finish() {
  echo "$passed passed, $failed failed"
  [[ $failed -eq 0 ]]
}
