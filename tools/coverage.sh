#!/usr/bin/env bash
# Line and branch coverage of smmap/ (the library's sources, headers
# included), by clang-14's source-based coverage, in two runs:
#   tests  every test in tests/ that is not manual;
#   fuzz   the fuzzers' seed corpora, replayed by fuzz/*_replay_test
#          (--gtest_filter=ReplayTest.SeedCorpus: the corpus only).
# For each run it prints llvm-cov's per-file report of smmap/ with its
# TOTAL line, then the uncovered lines of smmap/ as file:first-last ranges.
#
#   tools/coverage.sh [--run tests|fuzz] [--html DIR]
#
# The instrumented build has its own output directory
# (--platform_suffix=coverage) and instruments only smmap's own sources
# (not abseil's). Counters are kept in continuous mode (%c,
# -runtime-counter-relocation), so processes that end by _Exit() or by a
# signal (death tests, forked children) are counted too; one profile file
# per binary and process (%m%p: tests run in PID namespaces, so the same
# PID comes back in another binary). Not in the gate:
# it rebuilds everything once and runs the suite again (a few minutes).
# Bazel 4.2.3's `bazel coverage` is not used: it needs remote coverage
# tools that are only a shim here.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

runs=(tests fuzz)
html=
while [ $# -gt 0 ]; do
  case "$1" in
    --run) runs=("$2"); shift 2 ;;
    --html) html=$2; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "coverage: unknown argument $1" >&2; exit 2 ;;
  esac
done

# llvm-profdata-14 and llvm-cov-14 (package llvm-14) come with the bootstrap.
if ! command -v llvm-cov-14 >/dev/null || ! command -v llvm-profdata-14 >/dev/null; then
  bash tools/bootstrap.sh
fi

cache=${SMMAP_CACHE:-$HOME/.cache/smmap}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
instrument=-fprofile-instr-generate,-fcoverage-mapping,-fcoverage-compilation-dir=.,-mllvm,-runtime-counter-relocation
flags=(--disk_cache="$cache/bazel-disk" --repository_cache="$cache/bazel-repo"
       --noshow_progress --color=no --curses=no
       --platform_suffix=coverage
       "--per_file_copt=^(smmap|tests|fuzz|tools)/@$instrument"
       --linkopt=-fprofile-instr-generate)
bin=$(bazel info "${flags[@]}" bazel-bin 2>/dev/null)

# Labels of one run, and the binaries whose coverage mappings it needs.
targets() {
  case "$1" in
    tests) bazel query --noshow_progress --color=no \
             'kind("cc_test|sh_test", //tests:all) except attr(tags, "manual", //tests:all)' 2>/dev/null ;;
    fuzz) bazel query --noshow_progress --color=no 'kind(cc_test, //fuzz:all)' 2>/dev/null ;;
  esac
}
binaries() {  # labels...
  local label
  for label in "$@"; do
    case "$label" in
      //tests:tool_test) echo "$bin/tools/smmap" ;;  # the tool it runs
      *) label=${label#//}; echo "$bin/${label/://}" ;;
    esac
  done
}

for run in "${runs[@]}"; do
  mapfile -t labels < <(targets "$run")
  [ ${#labels[@]} -gt 0 ] || { echo "coverage: no targets for $run" >&2; exit 1; }
  prof=$work/$run
  mkdir -p "$prof"
  extra=()
  [ "$run" = fuzz ] && extra=(--test_arg=--gtest_filter=ReplayTest.SeedCorpus)
  echo "=== coverage: $run (${#labels[@]} targets)"
  # Run failures are reported, but the coverage of what ran is still shown.
  bazel test "${flags[@]}" "${extra[@]}" --nocache_test_results \
    --test_output=errors --sandbox_writable_path="$prof" \
    --test_env=LLVM_PROFILE_FILE="$prof/%m%c%p.profraw" "${labels[@]}" \
    >"$work/$run.log" 2>&1 || { grep -E '^//|ERROR' "$work/$run.log" || true; }
  grep -E '^//.*(FAILED|TIMEOUT|NO STATUS)' "$work/$run.log" || true
  llvm-profdata-14 merge -sparse "$prof"/*.profraw -o "$work/$run.profdata"
  # Shell tests are scripts; the binaries they run are listed instead (or
  # not measured).
  mapfile -t bins < <(binaries "${labels[@]}" | sort -u | while read -r b; do
    [ "$(head -c 4 "$b" 2>/dev/null | od -An -c | tr -d ' ')" = 177ELF ] &&
      echo "$b"
  done)
  objects=("${bins[0]}")
  for b in "${bins[@]:1}"; do objects+=(-object "$b"); done
  ignore='^(external|tests|fuzz|tools|bazel-out)/|^/'
  # llvm-cov warns of "mismatched data" for the inline functions a binary
  # does not use (placeholder records of hash 0, counted by the binaries
  # that use them): harmless, and left out.
  quiet() { grep -v 'functions have mismatched data' >&2 || true; }
  llvm-cov-14 report -instr-profile="$work/$run.profdata" "${objects[@]}" \
    -ignore-filename-regex="$ignore" -show-region-summary=false \
    -show-instantiation-summary=false 2> >(quiet)
  if [ -n "$html" ]; then
    llvm-cov-14 show -format=html -output-dir="$html/$run" \
      -instr-profile="$work/$run.profdata" "${objects[@]}" \
      -ignore-filename-regex="$ignore" -show-branches=count 2> >(quiet)
    echo "coverage: HTML in $html/$run/index.html"
  fi
  echo "--- uncovered lines of smmap/ ($run)"
  llvm-cov-14 export -format=lcov -instr-profile="$work/$run.profdata" \
    "${objects[@]}" -ignore-filename-regex="$ignore" 2> >(quiet) |
    awk -F'[:,]' '
      # A range runs over uncovered lines and the non-code lines between.
      /^SF:/ { file = $2; sub(/^[.]\//, "", file); broken = 1; next }
      /^DA:/ && $3 != 0 { broken = 1; next }
      /^DA:/ {
        if (!broken) { end = $2; next }
        flush(); last = file; begin = end = $2; broken = 0; next }
      function flush() {
        if (last == "") return
        out[last] = out[last] (out[last] == "" ? "" : " ") \
                    (begin == end ? begin : begin "-" end)
      }
      END { flush(); for (f in out) print f ": " out[f] }' | sort
done
