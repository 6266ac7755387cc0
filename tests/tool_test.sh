#!/usr/bin/env bash
# Tests of the smmap command-line tool: exit codes, byte-exact cat, scan
# checksums across manager kinds, bad flags, the benchmark's report, JSON
# and pictures; the miss-counting loop (tools/bench/miss_loop); and the
# comparison of two builds' runs (tools/bench/compare.py).
#
#   tool_test.sh SMMAP PLOT_PY MISS_LOOP COMPARE_PY
#
# Every check is one case. The script ends with the line
# "tool_test: N passed, M failed" and, under Bazel (which sets
# XML_OUTPUT_FILE), writes a GoogleTest-style report with those counts,
# <testsuites tests="N+M" failures="M">, which Bazel keeps as test.xml.
set -uo pipefail

smmap=$1
plot=$2
miss_loop=$3
compare=$4
tmp=${TEST_TMPDIR:-$(mktemp -d)}
passes=0
failures=0
cases=()     # one line per case: "ok DESCRIPTION" or "FAIL DESCRIPTION"
pass() { passes=$((passes + 1)); cases+=("ok $*"); }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); cases+=("FAIL $*"); }
# check DESCRIPTION CMD...: one case, passed when CMD succeeds.
check() {
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

# expect_exit CODE CMD...: runs CMD, checks its exit code.
expect_exit() {
  local want=$1; shift
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -eq "$want" ]; then pass "exit $want: $*"; else
    fail "exit $got, want $want: $* ($(head -c 300 "$tmp/err"))"
  fi
}

# The checksum `scan` prints, computed here independently: the XOR of the
# file's 64-bit little-endian words, the last one padded with zeros.
xor64() {
  local x=0 w
  for w in $(od -An -v -tx8 "$1"); do x=$((x ^ 0x$w)); done
  printf 'checksum:   %016x\n' "$x"
}

# Files: 3 pages + 5 bytes of random data, an empty file, 8 known bytes.
head -c $((3 * 4096 + 5)) /dev/urandom >"$tmp/data"
: >"$tmp/empty"
printf '\x01\x02\x03\x04\x05\x06\x07\x08' >"$tmp/eight"
size=$(stat -c %s "$tmp/data")

# --- usage ---
expect_exit 0 "$smmap" --help
check "--help prints no usage" grep -q "Usage: smmap" "$tmp/out"
expect_exit 2 "$smmap"
expect_exit 2 "$smmap" frobnicate
check "unknown command message" grep -q "unknown command: frobnicate" "$tmp/err"
expect_exit 2 "$smmap" scan --window=abc "$tmp/data"
check "bad size message: $(cat "$tmp/err")" grep -q 'not a size' "$tmp/err"
expect_exit 2 "$smmap" scan --mode=lazy "$tmp/data"
expect_exit 2 "$smmap" scan --no-such-flag "$tmp/data"
expect_exit 2 "$smmap" cat "$tmp/data" x
expect_exit 2 "$smmap" cat "$tmp/data" 1 2 3
expect_exit 2 "$smmap" scan
# A window beyond 2^62 is refused by the options, not by the flag parser
# (in bash, 1 << 62 + 1 would be 1 << 63, which is negative: a non-size).
expect_exit 2 "$smmap" scan --window=$(((1 << 62) + 1)) "$tmp/data"
check "window beyond 2^62 message: $(cat "$tmp/err")" \
  grep -q 'window_size(4611686018427387905) is larger than 2^62' "$tmp/err"
expect_exit 0 "$smmap" scan --window=$((1 << 62)) "$tmp/data"

# --- errors name the file and the reason, in one line ---
expect_exit 1 "$smmap" scan "$tmp/missing"
check "missing-file message: $(cat "$tmp/err")" \
  grep -q "($tmp/missing): No such file or directory" "$tmp/err"
check "error is not one line" [ "$(wc -l <"$tmp/err")" -eq 1 ]
expect_exit 1 "$smmap" cat "$tmp"
check "directory message" grep -q "Not a regular file (directory)" "$tmp/err"
expect_exit 1 "$smmap" cat --mode=greedy --window=4K "$tmp/data"
check "greedy limit message" grep -q "File-size exceeds window-size limit" "$tmp/err"

# --- cat is byte-exact: tail -c +OFFSET+1 FILE | head -c LENGTH ---
check_cat() {  # offset [length] [options...]
  local offset=$1 length=${2:-} rc
  shift; [ $# -gt 0 ] && shift
  if [ -n "$length" ]; then
    tail -c +$((offset + 1)) "$tmp/data" | head -c "$length" >"$tmp/want"
    "$smmap" cat "$@" "$tmp/data" "$offset" "$length" >"$tmp/got"
  else
    tail -c +$((offset + 1)) "$tmp/data" >"$tmp/want"
    "$smmap" cat "$@" "$tmp/data" "$offset" >"$tmp/got"
  fi
  rc=$?
  if [ "$rc" -eq 0 ] && cmp -s "$tmp/want" "$tmp/got"; then pass "cat $offset $length $*"
  else fail "cat $offset $length $*: exit $rc or bytes differ"; fi
}
check "cat whole file" eval '"$smmap" cat "$tmp/data" >"$tmp/got" && cmp -s "$tmp/data" "$tmp/got"'
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
check "cat of an empty file" eval '"$smmap" cat "$tmp/empty" >"$tmp/got" && [ ! -s "$tmp/got" ]'

# --- scan: the file's checksum, whatever the manager ---
expect_exit 0 "$smmap" scan "$tmp/eight"
check "checksum of 01..08: $(cat "$tmp/out")" \
  grep -qx "checksum:   0807060504030201" "$tmp/out"
xor64 "$tmp/eight" >"$tmp/want"
check "xor64 disagrees with the known checksum of 01..08" \
  grep -qx "checksum:   0807060504030201" "$tmp/want"
xor64 "$tmp/data" >"$tmp/want"
for opts in "" "--mode=greedy" "--window=8K --budget=8K" "--window=8K --budget=0 --max-files=0" "--window=8K --budget=8K --hard"; do
  # shellcheck disable=SC2086
  "$smmap" scan $opts "$tmp/data" >"$tmp/out" 2>"$tmp/err"
  grep '^checksum:' "$tmp/out" >"$tmp/got"
  # Exactly one checksum line, and the right one (an empty output fails).
  check "scan $opts: checksum $(cat "$tmp/got"), want $(cat "$tmp/want")" \
    cmp -s "$tmp/want" "$tmp/got"
done
expect_exit 0 "$smmap" scan "$tmp/empty"
check "empty scan" grep -q "size:       0 bytes" "$tmp/out"
check "checksum of an empty file" grep -qx "checksum:   0000000000000000" "$tmp/out"
check "scan prints no statistics" grep -q "regions:" "$tmp/out"

# --- one flag parser: --flag VALUE as --flag=VALUE, bench flags checked ---
expect_exit 0 "$smmap" scan --window 8K --budget 16K "$tmp/data"
check "scan --window 8K: $(grep manager: "$tmp/out")" \
  grep -q "window 8 KiB, budget 16 KiB" "$tmp/out"
expect_exit 2 "$smmap" scan --json=x.json "$tmp/data"
check "bench flag on scan: $(cat "$tmp/err")" grep -q -- "--json applies to bench only" "$tmp/err"
expect_exit 2 "$smmap" scan --help=x "$tmp/data"
check "--help=VALUE: $(cat "$tmp/err")" grep -q -- "--help: takes no value" "$tmp/err"
expect_exit 2 "$smmap" bench --json
check "missing value: $(cat "$tmp/err")" grep -q -- "--json: takes a value (FILE)" "$tmp/err"
expect_exit 2 "$smmap" bench --cache=huge
expect_exit 2 "$smmap" bench --cache=large,large
expect_exit 2 "$smmap" bench --json=
expect_exit 2 "$smmap" bench --json --sweeps
check "a flag is not a value: $(cat "$tmp/err")" grep -q -- "--json: takes a value" "$tmp/err"
expect_exit 2 "$smmap" scan --size=1M "$tmp/data"
check "bench flag on scan before its value: $(cat "$tmp/err")" grep -q -- "--size applies to bench only" "$tmp/err"
expect_exit 0 "$smmap" --help --no-such-flag
expect_exit 2 "$smmap" bench --min-time=inf
expect_exit 2 "$smmap" bench --skip=t7
expect_exit 2 "$smmap" bench --hard=yes
expect_exit 2 "$smmap" bench --size=1M
expect_exit 2 "$smmap" bench --repetitions=0
expect_exit 2 "$smmap" bench --filter='('
check "bad regex: $(cat "$tmp/err")" grep -q -- "--filter: is not a regular expression" "$tmp/err"
expect_exit 1 "$smmap" bench "$tmp/data"
check "bench on a small file: $(cat "$tmp/err")" grep -q "at least 16 MiB" "$tmp/err"

# --- bench: the short report, rows in a file, every figure in JSON ---
head -c $((16 << 20)) /dev/urandom >"$tmp/big"
bench=(--repetitions=1 --min-time=0.01 --cache=large --skip=t6,t9,t10)
expect_exit 0 "$smmap" bench --list "$tmp/big"
check "bench --list names the benchmarks" grep -qx "random4k/paired" "$tmp/out"
check "bench --list names threaded ones" grep -qx "threads/random4k_fixed/threads:2" "$tmp/out"
expect_exit 0 "$smmap" bench --list --filter='threads:1$' "$tmp/big"
check "bench --list --filter: $(tr '\n' ' ' <"$tmp/out")" \
  [ "$(grep -c . "$tmp/out")" -eq 3 ]
expect_exit 0 "$smmap" bench "${bench[@]}" --filter='^random4k/' \
  --rows="$tmp/rows.txt" --json="$tmp/run.json" "$tmp/big"
check "bench prints the machine" grep -q "^Machine: nproc=" "$tmp/out"
check "bench prints the targets" grep -q "^Targets, large-folio page cache" "$tmp/out"
check "bench prints T4 with a verdict: $(grep 'pread time' "$tmp/out")" \
  grep -Eq "^T4 +random 4 KiB: pread time / fixed cursor time, paired +[0-9.]+x +>= 1.30x +(ok|MISSED)" "$tmp/out"
check "bench keeps the rows out of the report" bash -c "! grep -q 'Iterations' '$tmp/out'"
check "bench names the rows file" grep -q "^Rows of every benchmark: $tmp/rows.txt" "$tmp/out"
check "rows file has the benchmark's row" grep -q "^random4k/pread" "$tmp/rows.txt"
check "JSON holds the figures" python3 -c '
import json, sys
run = json.load(open(sys.argv[1]))
state = run["states"][0]
assert state["state"] == "large-folio", state["state"]
assert state["figures"]["random4k/pread.ns"] > 0
t4 = [t for t in state["targets"] if t["measure"].startswith("random 4 KiB: pread")]
assert t4 and t4[0]["value"] > 0 and t4[0]["verdict"] in ("ok", "MISSED"), t4
assert run["file_size"] == 16 << 20
' "$tmp/run.json"
expect_exit 0 "$smmap" bench "${bench[@]}" --verbose --filter='^random4k/pread$' "$tmp/big"
check "bench --verbose prints the rows" grep -q "^random4k/pread" "$tmp/out"
# Three repetitions: the medians, not the means, become the figures.
expect_exit 0 "$smmap" bench --repetitions=3 --min-time=0.01 --cache=small \
  --skip=t6,t9,t10 --verbose --filter='^random4k/(pread|paired)$' "$tmp/big"
check "bench repeats: $(grep -c '_median' "$tmp/out") medians" \
  [ "$(grep -c '^random4k/.*_median ' "$tmp/out")" -eq 2 ]
check "bench judges T4 from the medians: $(grep 'pread time' "$tmp/out")" \
  grep -Eq "^T4 +random 4 KiB: pread time / fixed cursor time, paired +[0-9.]+x" "$tmp/out"

# --- miss_loop: the reads it says it made, through the manager or raw ---
for mode in soft immutable; do
  expect_exit 0 "$miss_loop" "$tmp/big" 300 "$mode"
  check "miss_loop $mode counts every read: $(cat "$tmp/out")" python3 -c '
import re, sys
m = re.fullmatch(r"300 reads \((\w+)\): (\d+) hits, (\d+) misses, \d+ ns a read\n",
                 open(sys.argv[1]).read())
assert m and m.group(1) == sys.argv[2], m
assert int(m.group(2)) + int(m.group(3)) == 300 and int(m.group(3)) > 250
' "$tmp/out" "$mode"
done
expect_exit 0 "$miss_loop" "$tmp/big" 300 hit
# 512 KiB hold 16 region starts (tiling: one every half window, 32 KiB), and
# the 1 MiB budget holds 16 regions of 64 KiB: at most 16 misses.
check "miss_loop hit misses only until its regions are cached: $(cat "$tmp/out")" python3 -c '
import re, sys
m = re.fullmatch(r"300 reads \(hit\): (\d+) hits, (\d+) misses, \d+ ns a read\n",
                 open(sys.argv[1]).read())
assert m and int(m.group(1)) + int(m.group(2)) == 300, m
assert 1 <= int(m.group(2)) <= 16, m
' "$tmp/out"
expect_exit 0 "$miss_loop" "$tmp/big" 300 ring
expect_exit 2 "$miss_loop" "$tmp/big" 300 hard
expect_exit 2 "$miss_loop" "$tmp/data" 300 hard
for n in 3x -1 0 99999999999999999999; do
  expect_exit 2 "$miss_loop" "$tmp/big" "$n" soft
done
expect_exit 1 "$miss_loop" "$tmp/data" 300 soft
check "miss_loop on a small file: $(cat "$tmp/err")" grep -q "at least 16 MiB" "$tmp/err"

# --- the pictures, from a run with (a few points of) the sweeps ---
expect_exit 0 "$smmap" bench "${bench[@]}" --sweeps --json="$tmp/sweep.json" \
  --filter='^sweep/window/.*/(65536|1048576)$|^sweep/churn/.*/(1|2)$|^sweep/churn/raw_map_unmap$|^scan/raw_mmap_whole$|^random4k/raw_mmap$' \
  "$tmp/big"
expect_exit 0 python3 "$plot" "$tmp/sweep.json" "$tmp/plots"
for png in scan_vs_window churn_curve; do
  check "$png.png is a PNG" bash -c "head -c 4 '$tmp/plots/$png.png' | od -An -c | grep -q 'P   N   G'"
done
check "no t10.png without T10's figures" [ ! -e "$tmp/plots/t10.png" ]
expect_exit 1 python3 "$plot" "$tmp/run.json" "$tmp/plots-none"
check "plot names the missing sweep: $(cat "$tmp/err")" grep -q "run smmap bench with --sweeps" "$tmp/err"

# --- compare.py: library figures worse on every pair, baselines apart ---
# run NAME A_NS RAW_NS HITS_PER_S PEAK: a run whose library figures are a
# time A_NS, a rate HITS_PER_S and a peak above budget PEAK, and whose raw
# baseline takes RAW_NS.
run() {
  printf '{"states": [{"state": "large-folio", "figures": {"cursor/a.ns": %s, "random4k/raw_mmap.ns": %s, "t10.hits_per_s": %s, "churn/x.peak_over_budget": %s, "cursor/a.regions": 1}}]}' \
    "$2" "$3" "$4" "$5" >"$tmp/$1.json"
}
run b1 100 100 1000 0; run b2 100 100 1000 0
run a1 110 150 1000 0; run a2 107 150 1000 0  # 10% and 7% more time; the baseline 50%
run c1 110 100 1000 0; run c2 103 100 1000 0  # more than 5% on one pair only
run d1 100 100 800 0; run d2 100 100 900 0    # 20% and 10% fewer hits
run e1 100 100 1000 65536; run e2 100 100 1000 0  # over budget once
expect_exit 1 python3 "$compare" "$tmp/b1.json" "$tmp/b2.json" -- "$tmp/a1.json" "$tmp/a2.json"
check "compare flags a time worse on every pair: $(grep 'cursor/a.ns' "$tmp/out")" \
  grep -Eq "^ +large-folio +cursor/a.ns +100 +108\.5 +-8\.5% WORSE$" "$tmp/out"
check "compare never flags a baseline: $(grep 'raw_mmap' "$tmp/out")" \
  grep -Eq "^ +large-folio +random4k/raw_mmap.ns +100 +150 +-50\.0%$" "$tmp/out"
check "compare skips what has no direction" bash -c "! grep -q 'a.regions' '$tmp/out'"
check "compare counts: $(tail -1 "$tmp/out")" \
  grep -qx "1 library figures worse by more than 5% on every pair of runs" "$tmp/out"
expect_exit 0 python3 "$compare" --threshold=10 "$tmp/b1.json" "$tmp/b2.json" -- "$tmp/a1.json" "$tmp/a2.json"
expect_exit 0 python3 "$compare" "$tmp/b1.json" "$tmp/b2.json" -- "$tmp/c1.json" "$tmp/c2.json"
expect_exit 1 python3 "$compare" "$tmp/b1.json" "$tmp/b2.json" -- "$tmp/d1.json" "$tmp/d2.json"
check "compare flags a rate that fell: $(grep 'hits_per_s' "$tmp/out")" \
  grep -Eq "^ +large-folio +t10.hits_per_s +1000 +850 +-15\.0% WORSE$" "$tmp/out"
expect_exit 0 python3 "$compare" "$tmp/d1.json" "$tmp/d2.json" -- "$tmp/b1.json" "$tmp/b2.json"
check "compare: a rate that rose is better: $(grep 'hits_per_s' "$tmp/out")" \
  grep -Eq "^ +large-folio +t10.hits_per_s +850 +1000 +\+17\.6%$" "$tmp/out"
expect_exit 1 python3 "$compare" "$tmp/b1.json" -- "$tmp/e1.json"
check "compare: a peak above budget that was 0: $(grep 'peak_over' "$tmp/out")" \
  grep -Eq "^ +large-folio +churn/x.peak_over_budget +0 +65536 +-inf% WORSE$" "$tmp/out"
expect_exit 0 python3 "$compare" "$tmp/b1.json" "$tmp/b2.json" -- "$tmp/e1.json" "$tmp/e2.json"
expect_exit 0 python3 "$compare" "$tmp/run.json" -- "$tmp/run.json"
check "compare of a run with itself: $(tail -1 "$tmp/out")" \
  grep -qx "0 library figures worse by more than 5% on every pair of runs" "$tmp/out"
expect_exit 0 python3 "$compare" --help
expect_exit 2 python3 "$compare" "$tmp/b1.json" "$tmp/a1.json"
expect_exit 2 python3 "$compare" "$tmp/b1.json" --
expect_exit 2 python3 "$compare" "$tmp/b1.json" -- "$tmp/a1.json" "$tmp/a2.json"
check "compare wants as many runs on each side: $(cat "$tmp/err")" \
  grep -q "1 runs before, 2 after" "$tmp/err"
expect_exit 2 python3 "$compare" "$tmp/b1.json" -- "$tmp/missing.json"
echo '{"states": 3}' >"$tmp/bad.json"
expect_exit 2 python3 "$compare" "$tmp/b1.json" -- "$tmp/bad.json"
echo '{"states": [{"state": "large-folio", "figures": {"cursor/a.ns": null}}]}' >"$tmp/bad.json"
expect_exit 2 python3 "$compare" "$tmp/b1.json" -- "$tmp/bad.json"
check "compare names a value that is not a measurement: $(cat "$tmp/err")" \
  grep -q "cursor/a.ns is not a measurement: None" "$tmp/err"

# --- the report ---
total=$((passes + failures))
if [ -n "${XML_OUTPUT_FILE:-}" ]; then
  xml_escape() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g'; }
  {
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    echo "<testsuites tests=\"$total\" failures=\"$failures\" disabled=\"0\" errors=\"0\" name=\"tool_test\">"
    echo "  <testsuite name=\"ToolTest\" tests=\"$total\" failures=\"$failures\" disabled=\"0\" errors=\"0\">"
    i=0
    for c in "${cases[@]}"; do
      i=$((i + 1))
      name=$(printf '%s' "${c#* }" | head -c 300 | tr -d '\000-\010\013\014\016-\037' | xml_escape)
      if [ "${c%% *}" = ok ]; then
        echo "    <testcase name=\"$i: $name\" status=\"run\" classname=\"ToolTest\"/>"
      else
        echo "    <testcase name=\"$i: $name\" status=\"run\" classname=\"ToolTest\"><failure message=\"$name\"/></testcase>"
      fi
    done
    echo "  </testsuite>"
    echo "</testsuites>"
  } >"$XML_OUTPUT_FILE"
fi
echo "tool_test: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
