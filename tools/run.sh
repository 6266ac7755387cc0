#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: installs what is missing
# (tools/bootstrap.sh), builds the smmap tool optimised, and runs
# `smmap bench` on a default file it makes itself (256 MiB, in a temporary
# directory, removed afterwards). Extra arguments go to the tool, e.g.
#   bash tools/run.sh --quick
#   bash tools/run.sh scan /path/to/file
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
bash tools/bootstrap.sh

cache=${SMMAP_CACHE:-$HOME/.cache/smmap}
common=(--disk_cache="$cache/bazel-disk" --repository_cache="$cache/bazel-repo"
        --noshow_progress --color=no --curses=no)
bazel build "${common[@]}" --config=opt //tools:smmap >/tmp/smmap-build.log 2>&1 \
  || { tail -30 /tmp/smmap-build.log; exit 1; }
bin=$(bazel info "${common[@]}" --config=opt bazel-bin 2>/dev/null)
if [ $# -eq 0 ] || [[ "$1" == -* ]]; then set -- bench "$@"; fi
exec "$bin/tools/smmap" "$@"
