#!/usr/bin/env bash
# Installs everything smmap needs on a fresh Debian 12 machine, offline except
# for Debian's archive:
#   - apt packages: Bazel 4.2.3 (bazel-bootstrap) and the rule sets it loads,
#     clang-14 with compiler-rt (sanitizers, libFuzzer), the other
#     compilers of the matrix: gcc-12 (g++) and clang-19; libc++ (the
#     OSS-Fuzz build), zip, llvm-14 (coverage), gnuplot (the benchmark
#     pictures);
#   - Debian's source packages of abseil, GoogleTest and Google Benchmark,
#     whose upstream tarballs Bazel builds from source (docs/design.md section 2),
#     and Debian 13's abseil 20240722, which examples/monorepo also builds
#     against.
# Tarballs are kept in $SMMAP_CACHE (default ~/.cache/smmap), verified by
# sha256, and linked into third_party/archives (ignored by git). Idempotent:
# a second run does nothing but check.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${SMMAP_CACHE:-$HOME/.cache/smmap}
archives=$cache/archives
mkdir -p "$archives"

log() { printf 'bootstrap: %s\n' "$*" >&2; }

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# --- apt packages ---------------------------------------------------------
packages=(bazel-bootstrap bazel-rules-java bazel-platforms bazel-skylib
          clang-14 libclang-rt-14-dev clang-format g++ ca-certificates
          g++-12 clang-19  # the compiler matrix (tools/test.sh); plain builds only
          python3-smmap  # the Python library, for the T9 comparison
          # fuzz/oss_fuzz_build.sh: OSS-Fuzz's CXXFLAGS use libc++; seed
          # corpora are zipped. tools/coverage.sh: llvm-profdata, llvm-cov.
          libc++-14-dev libc++abi-14-dev zip unzip llvm-14
          gnuplot-nox)  # tools/bench/plot.py: BENCHMARKS.md's pictures
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
    || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- source packages (upstream tarballs) ----------------------------------
# package/suite  tarball  sha256
sources=(
  "abseil/bookworm abseil_20220623.1.orig.tar.gz abfe2897f3a30edaa74bc34365afe3c2a3cd012091a97dc7e008f7016adcd5fe"
  "googletest/bookworm googletest_1.12.1.orig.tar.gz 81964fe578e9bd7c94dfdb09c8e4d6e6759e19967e397dbea48d1c10e45d0df2"
  "benchmark/bookworm benchmark_1.7.1.orig.tar.gz 6430e4092653380d9dc4ccb45a1e2dc9259d581f4866dc0759713126056bc1d7"
  # Debian 13's abseil, for examples/monorepo (the abseil users have).
  "abseil/trixie abseil_20240722.0.orig.tar.gz df6d1f5ef540725f3851201176a60486aab332410788465c9877910bb471c34a"
)

verified() {  # file sha256
  [ -f "$1" ] && echo "$2  $1" | sha256sum --check --status
}

need_fetch=()
for entry in "${sources[@]}"; do
  read -r pkg tarball sum <<<"$entry"
  verified "$archives/$tarball" "$sum" || need_fetch+=("$pkg")
done

if [ ${#need_fetch[@]} -gt 0 ]; then
  # A private apt configuration with deb-src entries: the system's own
  # sources and lists stay untouched. Each package names its suite.
  aptdir=$cache/apt
  mkdir -p "$aptdir/lists/partial"
  cat >"$aptdir/sources.list" <<'LIST'
deb-src http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian trixie main
LIST
  aptopts=(-o "Dir::Etc::SourceList=$aptdir/sources.list"
           -o "APT::Sandbox::User=$(id -un)"
           -o "Dir::Etc::SourceParts=/nonexistent"
           -o "Dir::State::Lists=$aptdir/lists")
  log "fetching source packages: ${need_fetch[*]}"
  apt-get "${aptopts[@]}" update -qq
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  for pkg in "${need_fetch[@]}"; do  # one at a time: abseil comes twice
    (cd "$work" && apt-get "${aptopts[@]}" source --download-only -qq "$pkg")
  done
  for entry in "${sources[@]}"; do
    read -r pkg tarball sum <<<"$entry"
    if [ -f "$work/$tarball" ]; then
      verified "$work/$tarball" "$sum" || {
        log "sha256 mismatch for $tarball"; exit 1; }
      mv "$work/$tarball" "$archives/$tarball"
    fi
  done
fi

for entry in "${sources[@]}"; do
  read -r pkg tarball sum <<<"$entry"
  verified "$archives/$tarball" "$sum" || {
    log "missing or corrupt: $archives/$tarball (package $pkg)"; exit 1; }
done

mkdir -p "$top/third_party"
ln -sfn "$archives" "$top/third_party/archives"
log "ready: bazel-bootstrap $(dpkg-query -W -f='${Version}' bazel-bootstrap), clang $(clang-14 -dumpversion) and $(clang-19 -dumpversion), gcc $(gcc-12 -dumpfullversion), archives in $archives"
