#!/usr/bin/env bash
# Runs smmap's fuzzers (libFuzzer, with ASan and UBSan) for a while each.
#
#   tools/fuzz.sh [--seconds N] [--merge] [fuzzer ...]
#
# Default: every fuzzer in fuzz/ for 60 s. Each run starts from the seed
# corpus fuzz/corpus/<name>/ (never modified unless --merge) and prints one
# line "fuzz: <name> ok|FAILED ..." with executions per second, corpus size
# and edge coverage. Crashes are saved under $SMMAP_FUZZ_ARTIFACTS
# (default /tmp/smmap-fuzz-artifacts); turn each into a corpus file and a
# named regression test. --merge adds the new coverage-increasing inputs to
# the seed corpus (minimised), for committing.
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

seconds=60
merge=0
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --seconds=*) seconds=${1#*=}; shift ;;
    --merge) merge=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) names+=("$1"); shift ;;
  esac
done
if [ ${#names[@]} -eq 0 ]; then
  names=(manager_fuzzer sliding_cursor_fuzzer bad_input_fuzzer concurrency_fuzzer)
fi

cache=${SMMAP_CACHE:-$HOME/.cache/smmap}
common=(--disk_cache="$cache/bazel-disk" --repository_cache="$cache/bazel-repo"
        --noshow_progress --color=no --curses=no)
targets=()
for n in "${names[@]}"; do targets+=("//fuzz:$n"); done
if ! bazel build "${common[@]}" --config=fuzz "${targets[@]}" >/tmp/smmap-fuzz-build.log 2>&1; then
  tail -30 /tmp/smmap-fuzz-build.log
  for n in "${names[@]}"; do echo "fuzz: $n FAILED (build)"; done
  exit 1
fi
bin=$(bazel info "${common[@]}" --config=fuzz bazel-bin 2>/dev/null)
artifacts=${SMMAP_FUZZ_ARTIFACTS:-/tmp/smmap-fuzz-artifacts}
mkdir -p "$artifacts"

export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

status=0
for n in "${names[@]}"; do
  work=$(mktemp -d)
  mkdir -p "$work/corpus"
  dict=()
  [ -f "fuzz/$n.dict" ] && dict=(-dict="fuzz/$n.dict")
  "$bin/fuzz/$n" "$work/corpus" "fuzz/corpus/$n" "${dict[@]}" \
      -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -max_len=4096 \
      -artifact_prefix="$artifacts/$n-" -print_final_stats=1 \
      >"$work/log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$work/log" | grep -o '[0-9]*$')
  total=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$')
  last=$(grep -E '^#[0-9]+' "$work/log" | tail -1)
  cov=$(printf '%s' "$last" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*')
  corp=$(printf '%s' "$last" | grep -o 'corp: [0-9]*' | grep -o '[0-9]*')
  if [ $rc -eq 0 ]; then
    echo "fuzz: $n ok (${seconds} s, ${total:-?} runs, ${execs:-?} exec/s, corpus ${corp:-?} units, ${cov:-?} edges)"
    if [ $merge -eq 1 ]; then
      "$bin/fuzz/$n" -merge=1 "fuzz/corpus/$n" "$work/corpus" >/dev/null 2>&1
      echo "fuzz: merged into fuzz/corpus/$n ($(ls "fuzz/corpus/$n" | wc -l) files)"
    fi
  else
    cp "$work/log" "$artifacts/$n.log"
    echo "fuzz: $n FAILED (exit $rc); whole log in $artifacts/$n.log; tail:"
    grep -E -A3 'ERROR|check failed|SUMMARY|Test unit written|artifact' "$work/log" | head -30 | sed 's/^/    /'
    status=1
  fi
  rm -rf "$work"
done
exit $status
