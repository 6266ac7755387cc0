#!/bin/bash -eu
# Builds smmap's fuzzers as OSS-Fuzz and ClusterFuzzLite build a project:
# this is the body of their build.sh. It reads the build environment their
# base-builder image sets,
#   CC, CXX                 the compilers (clang, clang++)
#   CFLAGS, CXXFLAGS        sanitizer and coverage flags, e.g. for ASan
#                           "-O1 -fno-omit-frame-pointer -gline-tables-only
#                           -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#                           -fsanitize=address -fsanitize-address-use-after-scope
#                           -fsanitize=fuzzer-no-link", CXXFLAGS the same and
#                           -stdlib=libc++
#   LIB_FUZZING_ENGINE      what links the engine (-fsanitize=fuzzer for
#                           libFuzzer, or a library)
#   OUT                     where the fuzzers go
# and writes to $OUT, for every fuzzer NAME in fuzz/ (smmap_fuzzer in
# fuzz/BUILD): the binary NAME and NAME_seed_corpus.zip (fuzz/corpus/NAME/).
#
# It builds with Bazel (tools/bootstrap.sh installs it and the source
# archives): every C++ compile gets $CXXFLAGS (C ones $CFLAGS), every link
# $CXXFLAGS, and the fuzzers link $LIB_FUZZING_ENGINE. Under -stdlib=libc++
# the toolchain is told to use libc++ (linked statically) instead of
# libstdc++. The configuration has its own output directory
# (--platform_suffix=oss-fuzz); Bazel's caches are shared with the rest
# (SMMAP_CACHE, default ~/.cache/smmap).
#
# tools/test.sh (the gate) runs this with clang-14 and OSS-Fuzz's ASan
# variables in a scratch $OUT, then runs each fuzzer over its seed corpus.

set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

: "${CC:?}" "${CXX:?}" "${CFLAGS?}" "${CXXFLAGS?}" "${LIB_FUZZING_ENGINE:?}" "${OUT:?}"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

cache=${SMMAP_CACHE:-$HOME/.cache/smmap}
flags=(--disk_cache="$cache/bazel-disk" --repository_cache="$cache/bazel-repo"
       --noshow_progress --color=no --curses=no
       --platform_suffix=oss-fuzz --strip=never
       --repo_env=CC="$CC"
       --define=smmap_oss_fuzz=1 --define=LIB_FUZZING_ENGINE="$LIB_FUZZING_ENGINE"
       # The toolchain links with the C driver: have it link the sanitizers'
       # C++ runtimes as $CXX would.
       --linkopt=-fsanitize-link-c++-runtime)
for f in $CFLAGS; do flags+=(--conlyopt="$f"); done
for f in $CXXFLAGS; do flags+=(--cxxopt="$f" --linkopt="$f"); done
case " $CXXFLAGS " in
  *" -stdlib=libc++ "*)
    # The toolchain finds its include directories and libraries for the
    # standard library it is told of: libc++, linked statically so that the
    # fuzzers run where libc++ is not installed.
    linklibs=-l%:libc++.a:-l%:libc++abi.a
    # OSS-Fuzz's libFuzzer keeps a private libc++ inside; Debian's is built
    # against libstdc++, which it then needs beside ours.
    engine=$("$CC" -print-file-name=libclang_rt.fuzzer-x86_64.a)
    if [ -f "$engine" ] && nm "$engine" 2>/dev/null | grep ' U _ZNKSt7__cxx11' >/dev/null; then
      linklibs+=:-Wl,-lstdc++  # not -lstdc++: the driver makes it -lc++
    fi
    # -static-libstdc++: the driver's own -lc++ (for -fsanitize=fuzzer)
    # static too.
    flags+=(--repo_env=BAZEL_CXXOPTS=-stdlib=libc++
            --repo_env=BAZEL_LINKLIBS="$linklibs:-lm:-lpthread"
            --linkopt=-static-libstdc++)
    ;;
esac

fuzzers=$(bazel query --noshow_progress --color=no 'kind(cc_binary, //fuzz:*)' 2>/dev/null \
          | sed 's|^//fuzz:||')
[ -n "$fuzzers" ] || { echo "oss_fuzz_build: no fuzzer found in fuzz/BUILD" >&2; exit 1; }
targets=()
for name in $fuzzers; do targets+=("//fuzz:$name"); done

echo "oss_fuzz_build: CC=$CC CXX=$CXX"
echo "oss_fuzz_build: CFLAGS=$CFLAGS"
echo "oss_fuzz_build: CXXFLAGS=$CXXFLAGS"
echo "oss_fuzz_build: LIB_FUZZING_ENGINE=$LIB_FUZZING_ENGINE OUT=$OUT"
bazel build "${flags[@]}" "${targets[@]}"
bin=$(bazel info "${flags[@]}" bazel-bin 2>/dev/null)

for name in $fuzzers; do
  install -m 755 "$bin/fuzz/$name" "$OUT/$name"
  corpus=fuzz/corpus/$name
  rm -f "$OUT/${name}_seed_corpus.zip"
  if [ -d "$corpus" ] && [ -n "$(ls -A "$corpus")" ]; then
    (cd "$corpus" && zip -q -r "$OUT/${name}_seed_corpus.zip" .)
  fi
  echo "oss_fuzz_build: $OUT/$name $( [ -f "$OUT/${name}_seed_corpus.zip" ] && echo "+ ${name}_seed_corpus.zip")"
done
