#!/usr/bin/env bash
# MODULE.bazel and WORKSPACE pin the same dependencies at the same versions.
exec python3 "$@"
