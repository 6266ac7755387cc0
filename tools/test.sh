#!/usr/bin/env bash
# The whole test gate, from a fresh Debian 12 machine:
#   1. tools/bootstrap.sh installs what is missing;
#   2. `bazel test //...` plain (clang-14), under gcc-12 and clang-19, then
#      under ASan, UBSan and TSan;
#   3. examples/monorepo, a separate workspace that uses smmap as a
#      consumer would, with gcc-12, clang-14 and clang-19 against abseil
#      20240722.0 and 20220623.1;
#   4. every fuzzer runs for a short time (tools/fuzz.sh).
# Ends with one line: "N passed, N failed", the totals over every test case
# of every configuration (GoogleTest cases, fuzzer runs). Exits non-zero if
# anything failed.
#
# Environment:
#   SMMAP_CONFIGS      configurations to run (default "plain gcc clang19 asan
#                      ubsan tsan")
#   SMMAP_EXAMPLE      0 skips examples/monorepo (default 1)
#   SMMAP_FUZZ_SECONDS seconds per fuzzer (default 60; 0 skips fuzzing)
#   SMMAP_CACHE        cache directory (default ~/.cache/smmap)
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

bash tools/bootstrap.sh || { echo "bootstrap failed"; echo "0 passed, 1 failed"; exit 1; }

cache=${SMMAP_CACHE:-$HOME/.cache/smmap}
configs=${SMMAP_CONFIGS:-plain gcc clang19 asan ubsan tsan}
common=(--disk_cache="$cache/bazel-disk" --repository_cache="$cache/bazel-repo"
        --noshow_progress --color=no --curses=no)
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT

passed=0
failed=0
skipped=0
start=$(date +%s)

# Adds the test cases of one target's test.xml to the totals. GoogleTest's
# skipped and disabled cases count as skipped, not passed.
count_target() {  # label status testlogs
  local label=$1 status=$2 testlogs=$3
  local rel=${label#//}
  rel=${rel/://}
  local xml=$testlogs/$rel/test.xml
  local tests=0 bad=0 skip=0
  if [ "$status" = "NO STATUS" ] || [ "$status" = "FAILED TO BUILD" ] ||
     [ "$status" = INCOMPLETE ]; then
    # Never ran: a test.xml there is an earlier run's.
    failed=$(( failed + 1 ))
    return
  fi
  if [ -f "$xml" ]; then
    # <testsuites tests="N" failures="F" disabled="D" errors="E" ...>
    local head
    head=$(grep -m1 -o '<testsuites[^>]*>' "$xml" || true)
    if [ -n "$head" ]; then
      attr() { printf '%s' "$head" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
      tests=$(attr tests)
      bad=$(( $(attr failures) + $(attr errors) ))
      # GoogleTest 1.12 counts GTEST_SKIP cases only per <testcase>.
      skip=$(( $(attr disabled) + $(grep -c '<skipped' "$xml" || true) ))
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
  passed=$(( passed + tests - bad - skip ))
  failed=$(( failed + bad ))
  skipped=$(( skipped + skip ))
}

# Runs `bazel test //...` in directory `dir` with `flags` and adds every
# test case to the totals. Bazel's exit status is trusted: a run that fails
# (a target that does not build, tests or not) counts one failure more if
# none of its test cases failed; a run in which no test ran counts one.
bazel_tests() {  # name dir log flags...
  local name=$1 dir=$2 log=$3
  shift 3
  local p0=$passed f0=$failed rc=0
  (cd "$dir" && bazel test "$@" //...) >"$log" 2>&1 || rc=$?
  grep -vE '^(INFO|Loading|Analyzing)' "$log" | grep -E '^(//|ERROR|FAIL|Executed)' || true
  local results
  results=$(grep -E '^//[^ ]+ +(\(cached\) )?(PASSED|FAILED|TIMEOUT|NO STATUS|FLAKY|INCOMPLETE|FAILED TO BUILD)' "$log" || true)
  if [ -z "$results" ]; then
    echo "$name: no test ran (bazel exited $rc)"
    failed=$(( failed + 1 ))
    return
  fi
  local testlogs label rest status
  testlogs=$(cd "$dir" && bazel info "$@" bazel-testlogs 2>/dev/null)
  while read -r label rest; do
    status=${rest#(cached) }
    status=${status%% in *}
    case $status in
      "NO STATUS"* | "FAILED TO BUILD"*) status=${status:0:15}; status=${status% } ;;
      *) status=${status%% *} ;;
    esac
    count_target "$label" "$status" "$testlogs"
  done <<<"$results"
  if [ "$rc" -ne 0 ] && [ "$failed" -eq "$f0" ]; then
    echo "$name: bazel exited $rc with no failed test case (a target did not build?)"
    grep -E '^ERROR' "$log" | head -5
    failed=$(( failed + 1 ))
  fi
  echo "$name totals: passed $(( passed - p0 )), failed $(( failed - f0 ))"
}

for config in $configs; do
  flags=()
  # Plain and the compiler matrix (gcc, clang19) build everything (tools and
  # benchmarks too); the sanitizer configurations build only what the tests
  # need.
  case $config in
    plain) ;;
    gcc | clang19) flags=(--config="$config") ;;
    *) flags=(--config="$config" --build_tests_only) ;;
  esac
  echo "=== bazel test //... ($config)"
  bazel_tests "$config" . "$logdir/$config.log" "${common[@]}" "${flags[@]}"
done

# --- examples/monorepo: smmap built as a consumer builds it ----------------
# A separate workspace (its own WORKSPACE and .bazelrc, none of smmap's
# flags: only the compiler and the caches), with each compiler, against the
# abseil its WORKSPACE pins (20240722.0) and against 20220623.1 (smmap's own,
# by --override_repository). Every test case counts; a run in which no test
# ran counts as one failure. Then the README's WORKSPACE snippet must be a
# part of the example's WORKSPACE (one more case).
if [ "${SMMAP_EXAMPLE:-1}" != 0 ]; then
  echo "=== examples/monorepo (gcc-12 clang-14 clang-19, abseil 20240722.0 and 20220623.1)"
  example_start=$(date +%s)
  example_common=(--disk_cache="$cache/bazel-disk" --repository_cache="$cache/bazel-repo"
                  --distdir="$cache/archives" --noshow_progress --color=no --curses=no)
  tar -xzf "$cache/archives/abseil_20220623.1.orig.tar.gz" -C "$logdir"
  for cc in gcc-12 clang-14 clang-19; do
    for absl in 20240722.0 20220623.1; do
      example_flags=(--repo_env=CC="$cc")
      [ "$absl" = 20220623.1 ] &&
        example_flags+=(--override_repository=com_google_absl="$logdir/abseil-20220623.1")
      run_start=$(date +%s)
      f0=$failed
      bazel_tests "examples/monorepo ($cc, abseil $absl)" examples/monorepo \
        "$logdir/example-$cc-$absl.log" "${example_common[@]}" "${example_flags[@]}"
      echo "  ($(( $(date +%s) - run_start )) s)"
      [ "$failed" -gt "$f0" ] &&
        grep -E '^(ERROR|FAIL|//)|error:' "$logdir/example-$cc-$absl.log" | head -5
    done
  done
  (cd examples/monorepo && bazel shutdown) >/dev/null 2>&1
  if python3 - README.md examples/monorepo/WORKSPACE <<'PY'
import re, sys
readme, workspace = (open(p).read() for p in sys.argv[1:])
m = re.search(r"<!-- examples/monorepo/WORKSPACE -->\s*```python\n(.*?)```", readme, re.S)
sys.exit(0 if m and m.group(1).strip() and m.group(1) in workspace else 1)
PY
  then
    echo "README's WORKSPACE snippet: ok"
    passed=$(( passed + 1 ))
  else
    echo "README's WORKSPACE snippet: FAILED (not a part of examples/monorepo/WORKSPACE)"
    failed=$(( failed + 1 ))
  fi
  echo "examples/monorepo took $(( $(date +%s) - example_start )) s"
fi

# The tree is kept formatted (.clang-format): one more test case, failed if
# clang-format is missing (the bootstrap installs it).
if ! command -v clang-format >/dev/null || ! git rev-parse --git-dir >/dev/null 2>&1; then
  echo "format: FAILED (no clang-format, or not a git checkout)"
  failed=$(( failed + 1 ))
else
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
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
