"""smmap_fuzzer(): a libFuzzer target, and a test that replays its corpus."""

load("//tools:copts.bzl", "SMMAP_TEST_COPTS")

def smmap_fuzzer(name, srcs, deps = []):
    """Defines <name> (the fuzzer) and <name>_replay_test.

    The fuzzer binary is tagged manual: build it with --config=fuzz (see
    tools/fuzz.sh) or with fuzz/oss_fuzz_build.sh. The replay test runs in
    every configuration and replays corpus/<name>/.
    """
    native.cc_library(
        name = name + "_lib",
        testonly = True,
        srcs = srcs,
        copts = SMMAP_TEST_COPTS,
        deps = deps,
        alwayslink = True,
    )
    native.cc_binary(
        name = name,
        testonly = True,
        copts = SMMAP_TEST_COPTS,
        # The fuzzing engine: libFuzzer's driver, or under
        # --define=smmap_oss_fuzz=1 whatever --define=LIB_FUZZING_ENGINE=...
        # says (fuzz/oss_fuzz_build.sh passes OSS-Fuzz's $LIB_FUZZING_ENGINE).
        linkopts = select({
            "//fuzz:oss_fuzz": ["$(LIB_FUZZING_ENGINE)"],
            "//conditions:default": ["-fsanitize=fuzzer"],
        }),
        tags = ["manual"],
        deps = [":" + name + "_lib"],
    )
    native.cc_test(
        name = name + "_replay_test",
        size = "small",
        srcs = ["replay_test.cc"],
        args = ["fuzz/corpus/" + name],
        copts = SMMAP_TEST_COPTS,
        data = native.glob(["corpus/" + name + "/*"]),
        deps = [
            ":" + name + "_lib",
            "@com_google_googletest//:gtest",
        ],
    )
