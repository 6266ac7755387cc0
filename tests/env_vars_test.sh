#!/usr/bin/env bash
# The environment variables the README documents reach the tests:
#   SMMAP_SEED=n bazel test //tests:reference_model_test
#   SMMAP_SOAK_SECONDS=s bazel test //tests:soak_test
# Bazel gives a test only the variables its target inherits (env_inherit) or
# that --test_env names, so this checks both halves: that tests/BUILD lets
# each variable through to its test, and that each test binary changes what
# it runs when the variable is set.
#
# Usage: env_vars_test.sh BUILD REFERENCE_MODEL_TEST SOAK_TEST
set -uo pipefail

build=$1 model=$2 soak=$3
passes=0
failures=0
pass() { passes=$((passes + 1)); }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
check() {
  local what=$1; shift
  if "$@"; then pass; else fail "$what"; fi
}

# The attributes of target NAME in tests/BUILD, from "name = ..." to the
# closing parenthesis of its rule.
target_block() {
  awk -v name="$1" '
    $0 ~ "name = \"" name "\"" { inside = 1 }
    inside { print }
    inside && /^\)/ { exit }' "$build"
}
inherits() {  # target variable
  target_block "$1" | grep -q "env_inherit = \[.*\"$2\""
}
check "reference_model_test does not inherit SMMAP_SEED" \
  inherits reference_model_test SMMAP_SEED
check "soak_test does not inherit SMMAP_SOAK_SECONDS" \
  inherits soak_test SMMAP_SOAK_SECONDS

# SMMAP_SEED=n: every case runs seed n; unset, a fixed list of seeds.
# The binaries run here must not write this test's report.
unset SMMAP_SEED SMMAP_SOAK_SECONDS GTEST_OUTPUT XML_OUTPUT_FILE
SMMAP_SEED=987654321 "$model" --gtest_list_tests >"$TEST_TMPDIR/seeded"
"$model" --gtest_list_tests >"$TEST_TMPDIR/default"
cases=$(grep -c '/seed[0-9]*_' "$TEST_TMPDIR/seeded")
check "SMMAP_SEED lists no cases" [ "$cases" -gt 0 ]
check "SMMAP_SEED=987654321 is not the seed of every case" \
  [ "$(grep -c '/seed987654321_' "$TEST_TMPDIR/seeded")" -eq "$cases" ]
check "without SMMAP_SEED the seeds are not the fixed list" \
  [ "$(grep -o '/seed[0-9]*_' "$TEST_TMPDIR/default" | sort -u | wc -l)" -gt 1 ]
check "without SMMAP_SEED a case has seed 987654321" \
  [ "$(grep -c '/seed987654321_' "$TEST_TMPDIR/default")" -eq 0 ]

# SMMAP_SOAK_SECONDS=1: the soak runs for one second (default 120). Its
# verdict is soak_test's own (run it on demand); here only its length counts.
start=$(date +%s)
SMMAP_SOAK_SECONDS=1 "$soak" >"$TEST_TMPDIR/soak" 2>&1
took=$(($(date +%s) - start))
check "soak_test did not say it ran 1 s: $(grep '^soak:' "$TEST_TMPDIR/soak")" \
  grep -q '^soak: 1 s, ' "$TEST_TMPDIR/soak"
check "soak_test with SMMAP_SOAK_SECONDS=1 took $took s" [ "$took" -lt 60 ]

echo "env_vars_test: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
