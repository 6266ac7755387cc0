#!/usr/bin/env bash
# Plants one bug in a file (a sed expression), builds and runs the
# reference-model test (tests/model_driver.h) against it, reverts the file,
# and prints one line: how many of its cases failed and the first message.
# A check that no planted bug makes fail is a check that cannot fail.
#
#   tools/plant_bug.sh NAME FILE SED-EXPRESSION
#   tools/plant_bug.sh hit-not-counted smmap/internal/core.cc \
#       's|  ++cursor_hits_;|  (void)0;|'
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ $# -eq 3 ] || { sed -n '2,9p' "$0"; exit 2; }
name=$1 file=$2 expr=$3
cache=${SMMAP_CACHE:-$HOME/.cache/smmap}
flags=(--disk_cache="$cache/bazel-disk" --repository_cache="$cache/bazel-repo"
       --noshow_progress --color=no --curses=no)
work=$(mktemp -d)
cp "$file" "$work/original"
restore() { cp "$work/original" "$file"; rm -rf "$work"; }
trap restore EXIT
sed -i "$expr" "$file"
if cmp -s "$file" "$work/original"; then
  echo "$name: the expression changed nothing"
  exit 1
fi
if ! bazel build "${flags[@]}" //tests:reference_model_test >"$work/build" 2>&1; then
  echo "$name: does not build"
  tail -5 "$work/build"
  exit 1
fi
bin=$(bazel info "${flags[@]}" bazel-bin 2>/dev/null)
mkdir -p "$work/tmp"
TEST_TMPDIR=$work/tmp timeout 600 "$bin/tests/reference_model_test" >"$work/out" 2>&1
failed=$(grep -oE '^\[  FAILED  \] [^ ,]*MatchesModel[^ ,]*' "$work/out" | sort -u | wc -l)
first=$(grep -m1 'Which is' "$work/out" | sed 's/.*Which is: //' | cut -c1-300)
echo "$name: $failed of 36 cases failed; first: ${first:-none}"
[ "$failed" -gt 0 ]
