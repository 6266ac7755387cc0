#!/usr/bin/env bash
# The repository stands alone: no tracked file points to documents outside
# it (the design notes, performance notes, usage guide and reference notes
# that smmap was written from, which a user of the repository never gets).
# What a user needs of them is in docs/. Finds, in every tracked text file
# but docs/ and this script:
#   ../shared  /work/shared  DESIGN.md  PERFORMANCE.md  STYLE.md
#   a path starting spec/, reference/ or shared/
#
# The test reads the source tree itself (found through its runfiles), so
# that every file counts, not only declared inputs; it is tagged "external"
# in tests/BUILD so that Bazel never serves a cached result.
set -uo pipefail

here=$(readlink -f "${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-smmap}/tests/self_contained_test.sh" 2>/dev/null \
  || readlink -f "${BASH_SOURCE[0]}")
root=$(cd "$(dirname "$here")/.." && pwd)
[ -f "$root/WORKSPACE" ] || { echo "FAIL: no source tree at $root"; exit 1; }

pattern='\.\./shared|/work/shared|DESIGN\.md|PERFORMANCE\.md|STYLE\.md|(^|[^[:alnum:]_.-])(spec|reference|shared)/'

# Lines allowed anyway (none now); each would be reported, not failed.
pending=()

cd "$root" || exit 1
if git rev-parse --git-dir >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files)
else  # an exported tree without .git
  mapfile -t files < <(find . -type f -not -path './.git/*' -not -path './bazel-*' | sed 's|^\./||')
fi
[ "${#files[@]}" -gt 20 ] || { echo "FAIL: only ${#files[@]} files found in $root"; exit 1; }

failures=0
checked=()
for f in "${files[@]}"; do
  case $f in docs/*|tests/self_contained_test.sh) continue ;; esac
  [ -f "$f" ] && checked+=("$f")
done
while IFS= read -r hit; do  # "FILE:LINE:TEXT"
  f=${hit%%:*}
  rest=${hit#*:}
  text=${rest#*:}
  known=0
  for p in "${pending[@]}"; do
    [ "$p" = "$f:$text" ] && known=1
  done
  if [ "$known" -eq 1 ]; then
    echo "pending (owned by other work): $hit"
  else
    echo "FAIL: $hit"
    failures=$((failures + 1))
  fi
done < <(grep -HnIE "$pattern" -- "${checked[@]}")

echo "self_contained_test: ${#checked[@]} files checked, $failures pointers outside the repository"
[ "$failures" -eq 0 ]
