"""Compiler options for smmap's targets, kept in one place.

A monorepo that depends on smmap compiles these BUILD files with its own
toolchain and its own .bazelrc; none of smmap's .bazelrc reaches it. So what
a consumer compiles carries no warning flag at all: no -Werror that a newer
compiler's new warning would turn into a broken build, no flag that one
compiler rejects (gcc has no -Wthread-safety nor --system-header-prefix),
and no flood of warnings about abseil's headers under gcc, which cannot tell
them from ours.

smmap's own builds turn the warnings on, as errors, with
--define=smmap_warnings=error (the project's .bazelrc sets it). The flags
are then chosen by the toolchain's own compiler, as abseil chooses its
copts: the auto-configured toolchain names clang "clang", and gcc "gcc"
(Bazel 7 and later) or "compiler" (earlier Bazel, 4.2.3 included); any other
compiler gets no warning flags.
"""

_GCC_WARNINGS = [
    "-Wall",
    "-Wextra",
    "-Wconversion",
    "-Wshadow",
]

_CLANG_WARNINGS = _GCC_WARNINGS + [
    # Checks the lock annotations.
    "-Wthread-safety",
    # Dependencies' headers are not ours to warn about. (gcc has no such
    # flag: the project's .bazelrc names their directories with -isystem.)
    "--system-header-prefix=absl/",
    "--system-header-prefix=gtest/",
    "--system-header-prefix=gmock/",
    "--system-header-prefix=benchmark/",
]

# Tests, fuzzers, tools and benchmarks: without the narrowing checks that
# make test code noisy.
_GCC_TEST_WARNINGS = [
    "-Wall",
    "-Wextra",
]

_CLANG_TEST_WARNINGS = _GCC_TEST_WARNINGS + [
    "-Wthread-safety",
    "--system-header-prefix=absl/",
    "--system-header-prefix=gtest/",
    "--system-header-prefix=gmock/",
    "--system-header-prefix=benchmark/",
]

def _strict(gcc, clang):
    return select({
        "//tools:strict_clang": clang + ["-Werror"],
        "//tools:strict_gcc": gcc + ["-Werror"],
        "//tools:strict_gcc_before_bazel7": gcc + ["-Werror"],
        "//conditions:default": [],
    })

# The library.
SMMAP_COPTS = _strict(_GCC_WARNINGS, _CLANG_WARNINGS)

# Everything else.
SMMAP_TEST_COPTS = _strict(_GCC_TEST_WARNINGS, _CLANG_TEST_WARNINGS)
