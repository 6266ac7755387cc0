#!/usr/bin/env bash
# Tests of the smmap command-line tool: exit codes, byte-exact cat, scan
# checksums across manager kinds, bad flags.
set -uo pipefail

smmap=$1
tmp=${TEST_TMPDIR:-$(mktemp -d)}
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_exit CODE CMD...: runs CMD, checks its exit code.
expect_exit() {
  local want=$1; shift
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  [ "$got" -eq "$want" ] || fail "exit $got, want $want: $* ($(head -c 300 "$tmp/err"))"
}

# Files: 3 pages + 5 bytes of random data, an empty file, 8 known bytes.
head -c $((3 * 4096 + 5)) /dev/urandom >"$tmp/data"
: >"$tmp/empty"
printf '\x01\x02\x03\x04\x05\x06\x07\x08' >"$tmp/eight"
size=$(stat -c %s "$tmp/data")

# --- usage ---
expect_exit 0 "$smmap" --help
grep -q "Usage: smmap" "$tmp/out" || fail "--help prints no usage"
expect_exit 2 "$smmap"
expect_exit 2 "$smmap" frobnicate
grep -q "unknown command: frobnicate" "$tmp/err" || fail "unknown command message"
expect_exit 2 "$smmap" scan --window=abc "$tmp/data"
grep -q 'not a size' "$tmp/err" || fail "bad size message: $(cat "$tmp/err")"
expect_exit 2 "$smmap" scan --mode=lazy "$tmp/data"
expect_exit 2 "$smmap" scan --no-such-flag "$tmp/data"
expect_exit 2 "$smmap" cat "$tmp/data" x
expect_exit 2 "$smmap" cat "$tmp/data" 1 2 3
expect_exit 2 "$smmap" scan
expect_exit 2 "$smmap" scan --window=$((1 << 62 + 1)) "$tmp/data"

# --- errors name the file and the reason, in one line ---
expect_exit 1 "$smmap" scan "$tmp/missing"
grep -q "$tmp/missing" "$tmp/err" && grep -q "No such file" "$tmp/err" \
  || fail "missing-file message: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "error is not one line"
expect_exit 1 "$smmap" cat "$tmp"
grep -q "Not a regular file (directory)" "$tmp/err" || fail "directory message"
expect_exit 1 "$smmap" cat --mode=greedy --window=4K "$tmp/data"
grep -q "File-size exceeds window-size limit" "$tmp/err" || fail "greedy limit message"

# --- cat is byte-exact: tail -c +OFFSET+1 FILE | head -c LENGTH ---
check_cat() {  # offset [length] [options...]
  local offset=$1 length=${2:-}
  shift; [ $# -gt 0 ] && shift
  if [ -n "$length" ]; then
    tail -c +$((offset + 1)) "$tmp/data" | head -c "$length" >"$tmp/want"
    "$smmap" cat "$@" "$tmp/data" "$offset" "$length" >"$tmp/got" || fail "cat $offset $length $*"
  else
    tail -c +$((offset + 1)) "$tmp/data" >"$tmp/want"
    "$smmap" cat "$@" "$tmp/data" "$offset" >"$tmp/got" || fail "cat $offset $*"
  fi
  cmp -s "$tmp/want" "$tmp/got" || fail "cat $offset $length $* differs"
}
"$smmap" cat "$tmp/data" >"$tmp/got" && cmp -s "$tmp/data" "$tmp/got" || fail "cat whole file"
for opts in "" "--window=8K" "--window=8K --budget=8K --hard" "--mode=greedy" "--max-files=0"; do
  for offset in 0 1 4095 4096 4097 8191 12000 $((size - 1)) $size $((size + 7)); do
    # shellcheck disable=SC2086
    check_cat "$offset" "" $opts
    for length in 0 1 5 4096 9000 100000; do
      # shellcheck disable=SC2086
      check_cat "$offset" "$length" $opts
    done
  done
done
"$smmap" cat "$tmp/empty" >"$tmp/got" && [ ! -s "$tmp/got" ] || fail "cat of an empty file"

# --- scan: the same checksum whatever the manager ---
expect_exit 0 "$smmap" scan "$tmp/eight"
grep -q "checksum:   0807060504030201" "$tmp/out" || fail "checksum of 01..08: $(cat "$tmp/out")"
"$smmap" scan "$tmp/data" | grep checksum >"$tmp/sum1"
for opts in "--mode=greedy" "--window=8K --budget=8K" "--window=8K --budget=0 --max-files=0" "--window=8K --budget=8K --hard"; do
  # shellcheck disable=SC2086
  "$smmap" scan $opts "$tmp/data" | grep checksum >"$tmp/sum2"
  cmp -s "$tmp/sum1" "$tmp/sum2" || fail "scan $opts checksum differs"
done
expect_exit 0 "$smmap" scan "$tmp/empty"
grep -q "size:       0 bytes" "$tmp/out" || fail "empty scan"
grep -q "regions:" "$tmp/out" || fail "scan prints no statistics"

if [ "$failures" -eq 0 ]; then echo "tool_test: all passed"; exit 0; fi
echo "tool_test: $failures failures"
exit 1
