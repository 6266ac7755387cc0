#!/usr/bin/env bash
# The whole test gate, from a fresh Debian 12 machine:
#   1. tools/bootstrap.sh installs what is missing;
#   2. `bazel test //...` plain, then under ASan, UBSan and TSan;
#   3. every fuzzer runs for a short time (tools/fuzz.sh).
# Ends with one line: "N passed, N failed", the totals over every test case
# of every configuration (GoogleTest cases, fuzzer runs). Exits non-zero if
# anything failed.
#
# Environment:
#   SMMAP_CONFIGS      configurations to run (default "plain asan ubsan tsan")
#   SMMAP_FUZZ_SECONDS seconds per fuzzer (default 60; 0 skips fuzzing)
#   SMMAP_CACHE        cache directory (default ~/.cache/smmap)
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

bash tools/bootstrap.sh || { echo "bootstrap failed"; echo "0 passed, 1 failed"; exit 1; }

cache=${SMMAP_CACHE:-$HOME/.cache/smmap}
configs=${SMMAP_CONFIGS:-plain asan ubsan tsan}
common=(--disk_cache="$cache/bazel-disk" --repository_cache="$cache/bazel-repo"
        --noshow_progress --color=no --curses=no)
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT

passed=0
failed=0
start=$(date +%s)

# Adds the test cases of one target's test.xml to the totals.
count_target() {  # label status testlogs
  local label=$1 status=$2 testlogs=$3
  local rel=${label#//}
  rel=${rel/://}
  local xml=$testlogs/$rel/test.xml
  local tests=0 bad=0 skipped=0
  if [ -f "$xml" ]; then
    # <testsuites tests="N" failures="F" disabled="D" errors="E" ...>
    local head
    head=$(grep -m1 -o '<testsuites[^>]*>' "$xml" || true)
    if [ -n "$head" ]; then
      attr() { printf '%s' "$head" | grep -o "$1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
      tests=$(attr tests)
      bad=$(( $(attr failures) + $(attr errors) ))
      skipped=$(( $(attr disabled) + $(attr skipped) ))
    else
      # A non-GoogleTest target: Bazel's own one-case report.
      tests=1
      [ "$status" = PASSED ] || bad=1
    fi
  fi
  if [ "$status" != PASSED ] && [ "$bad" -eq 0 ]; then
    bad=1  # crashed, timed out or failed outside any test case
    [ "$tests" -eq 0 ] && tests=1
  fi
  passed=$(( passed + tests - bad - skipped ))
  failed=$(( failed + bad ))
}

for config in $configs; do
  flags=()
  # Plain builds everything (tools and benchmarks too); the sanitizer
  # configurations build only what the tests need.
  [ "$config" != plain ] && flags=(--config="$config" --build_tests_only)
  echo "=== bazel test //... ($config)"
  log=$logdir/$config.log
  bazel test "${common[@]}" "${flags[@]}" //... 2>&1 | tee "$log" \
    | grep -vE '^(INFO|Loading|Analyzing)' | grep -E '^(//|ERROR|FAIL|Executed)' || true
  testlogs=$(bazel info "${common[@]}" "${flags[@]}" bazel-testlogs 2>/dev/null)
  results=$(grep -E '^//[^ ]+ +(\(cached\) )?(PASSED|FAILED|TIMEOUT|NO STATUS|FLAKY|INCOMPLETE|FAILED TO BUILD)' "$log" || true)
  if [ -z "$results" ]; then
    echo "no test ran under $config (build failure?)"
    failed=$(( failed + 1 ))
    continue
  fi
  while read -r label rest; do
    status=${rest#(cached) }
    status=${status%% in *}
    status=${status%% *}
    count_target "$label" "$status" "$testlogs"
  done <<<"$results"
done

# The tree is kept formatted (.clang-format): one more test case.
if command -v clang-format >/dev/null && git rev-parse --git-dir >/dev/null 2>&1; then
  if git ls-files -z '*.h' '*.cc' | xargs -0 clang-format --dry-run --Werror 2>"$logdir/format"; then
    echo "format: ok"
    passed=$(( passed + 1 ))
  else
    echo "format: FAILED (run clang-format -i on:)"
    grep -oE '^[^: ]+\.(cc|h):' "$logdir/format" | sort -u | head
    failed=$(( failed + 1 ))
  fi
fi

# --- OSS-Fuzz / ClusterFuzzLite build (fuzz/oss_fuzz_build.sh) -------------
# With the variables their base-builder sets for libFuzzer and ASan (clang-14
# here), into a scratch $OUT; then each fuzzer it must produce runs over its
# unzipped NAME_seed_corpus.zip and fuzzes for 5 s: one case per fuzzer.
# SMMAP_OSS_FUZZ=0 skips it.
if [ "${SMMAP_OSS_FUZZ:-1}" != 0 ]; then
  echo "=== OSS-Fuzz-style build (libFuzzer, ASan) and seed corpus runs"
  oss_start=$(date +%s)
  oss_out=$logdir/oss-fuzz-out
  oss_flags="-O1 -fno-omit-frame-pointer -gline-tables-only -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -fsanitize=address -fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link"
  oss_names=$(awk '/^smmap_fuzzer\(/{f=1} f && /name = /{gsub(/.*name = "|",?$/,""); print; f=0}' fuzz/BUILD)
  if env CC=clang-14 CXX=clang++-14 CFLAGS="$oss_flags" \
       CXXFLAGS="$oss_flags -stdlib=libc++" LIB_FUZZING_ENGINE=-fsanitize=fuzzer \
       SANITIZER=address FUZZING_ENGINE=libfuzzer ARCHITECTURE=x86_64 \
       OUT="$oss_out" SMMAP_CACHE="$cache" \
       bash fuzz/oss_fuzz_build.sh >"$logdir/oss-fuzz-build.log" 2>&1; then
    for name in $oss_names; do
      corpus=$logdir/oss-fuzz-corpus/$name
      mkdir -p "$corpus"
      if [ -x "$oss_out/$name" ] && [ -f "$oss_out/${name}_seed_corpus.zip" ] &&
         unzip -q -o "$oss_out/${name}_seed_corpus.zip" -d "$corpus" &&
         ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:halt_on_error=1 \
           "$oss_out/$name" "$corpus" -max_total_time=5 -timeout=25 \
           -rss_limit_mb=2560 -max_len=4096 >"$logdir/oss-fuzz-$name.log" 2>&1; then
        echo "oss-fuzz: $name ok ($(unzip -Z1 "$oss_out/${name}_seed_corpus.zip" | wc -l) seeds, $(grep -o 'Done [0-9]* runs' "$logdir/oss-fuzz-$name.log" | grep -o '[0-9]*') runs)"
        passed=$(( passed + 1 ))
      else
        echo "oss-fuzz: $name FAILED; log tail:"
        tail -15 "$logdir/oss-fuzz-$name.log" 2>/dev/null | sed 's/^/    /'
        failed=$(( failed + 1 ))
      fi
    done
  else
    echo "oss-fuzz: build FAILED; log tail:"
    tail -20 "$logdir/oss-fuzz-build.log" | sed 's/^/    /'
    failed=$(( failed + $(printf '%s\n' "$oss_names" | grep -c .) ))
  fi
  echo "oss-fuzz: took $(( $(date +%s) - oss_start )) s"
fi

if [ "${SMMAP_FUZZ_SECONDS:-60}" != 0 ] && [ -f tools/fuzz.sh ]; then
  echo "=== fuzzers (${SMMAP_FUZZ_SECONDS:-60} s each)"
  fuzz_out=$(bash tools/fuzz.sh --seconds "${SMMAP_FUZZ_SECONDS:-60}" 2>&1)
  fuzz_rc=$?
  printf '%s\n' "$fuzz_out" | grep -E '^(fuzz|FUZZ)'
  fp=$(printf '%s\n' "$fuzz_out" | grep -c '^fuzz: .* ok' || true)
  ff=$(printf '%s\n' "$fuzz_out" | grep -c '^fuzz: .* FAILED' || true)
  if [ "$fuzz_rc" -ne 0 ] && [ "$ff" -eq 0 ]; then ff=1; fi
  passed=$(( passed + fp ))
  failed=$(( failed + ff ))
fi

echo "gate took $(( $(date +%s) - start )) s (configs: $configs)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
