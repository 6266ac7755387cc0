"""smmap_test(): a GoogleTest test of smmap with the usual helpers."""

load("//tools:copts.bzl", "SMMAP_TEST_COPTS")

_COMMON_DEPS = [
    "//smmap",
    "//tests:status_matchers",
    "//tests:test_files",
    "//tests:test_managers",
    "@com_google_absl//absl/status",
    "@com_google_absl//absl/strings",
    "@com_google_googletest//:gtest_main",
]

def smmap_test(name, srcs = None, deps = [], size = "small", **kwargs):
    """cc_test `name` from `name`.cc, with smmap, the status matchers, the
    test files and managers, and GoogleTest's main."""
    native.cc_test(
        name = name,
        size = size,
        srcs = srcs or [name + ".cc"],
        copts = SMMAP_TEST_COPTS,
        deps = _COMMON_DEPS + [d for d in deps if d not in _COMMON_DEPS],
        **kwargs
    )
