"""Compiler options for smmap's targets, kept in one place."""

# The library: every warning that matters, as an error. -Wthread-safety checks
# the lock annotations (clang only; the gcc config drops clang-only flags).
SMMAP_COPTS = select({
    "//tools:gcc": [
        "-Wall",
        "-Wextra",
        "-Wconversion",
        "-Wshadow",
        "-Werror",
    ],
    "//conditions:default": [
        "-Wall",
        "-Wextra",
        "-Wconversion",
        "-Wshadow",
        "-Wthread-safety",
        "-Werror",
        # Dependencies' headers are not ours to warn about.
        "--system-header-prefix=absl/",
        "--system-header-prefix=gtest/",
        "--system-header-prefix=gmock/",
        "--system-header-prefix=benchmark/",
    ],
})

# Tests, fuzzers, tools and benchmarks: warnings on, without the narrowing
# checks that make test code noisy.
SMMAP_TEST_COPTS = select({
    "//tools:gcc": [
        "-Wall",
        "-Wextra",
        "-Werror",
    ],
    "//conditions:default": [
        "-Wall",
        "-Wextra",
        "-Wthread-safety",
        "-Werror",
        "--system-header-prefix=absl/",
        "--system-header-prefix=gtest/",
        "--system-header-prefix=gmock/",
        "--system-header-prefix=benchmark/",
    ],
})
