#!/usr/bin/env python3
"""Compares `smmap bench --json` runs of two builds, figure by figure.

    python3 tools/bench/compare.py BEFORE.json [...] -- AFTER.json [...]

Give each side as many runs, made alternately (before, after, before,
after, ...): the i-th run before and the i-th after form a pair. A
figure's value on a side is the median of its runs. Figures are compared
when both sides measured them and their name tells which way is better:
times (`.ns`, `_ns`, `_s`, and bytes above a budget or per region), by how
much less time the after side takes, as a share of the before side's time
(-8% means 8% more time); rates (`_per_s`, `bytes_per_second`, a scaling),
by how much more the after side does. A benchmark's `bytes_per_second` is
left out where its `.ns` is there (the same measurement). A library figure
counts as worse if it is worse by more than --threshold percent (default 5)
in the medians and in every pair. Figures of the raw baselines (raw mmap,
read(), pread(), the raw ring and churn, the Python library) run the same
code in both builds: their changes are the machine's noise, printed apart
and never counted. Exits 0, 1 if a library figure is worse, 2 on bad input.
"""

import argparse
import json
import math
import re
import statistics
import sys

# Figures that measure code both builds share. (t10.hits_beside_raw_per_s
# is the library's hits, beside raw churn: not a baseline.)
BASELINE_PATTERNS = [re.compile(p) for p in (
    r"(^|/)raw_",        # random4k/raw_mmap, scan/raw_windows/..., ...
    r"\.raw_",           # churn/paired.raw_ns, t11.raw_scaling, ...
    r"_raw_mmap/",       # threads/random4k_raw_mmap/threads:N
    r"(^|/)pread\.",     # random4k/pread
    r"\.pread_",         # random4k/paired.pread_ns
    r"^scan/read/",
    r"^python\.",
)]
# Figures that do not tell better from worse (constants of the setup, or
# totals over several kinds at once).
NOT_COMPARED_SUFFIXES = (".regions", ".window_bytes", ".miss_ratio",
                         "paired.ns", "paired.bytes_per_second")


def direction(name):
    """+1 if a larger value is better, -1 if smaller, 0 if not compared."""
    if name.endswith(NOT_COMPARED_SUFFIXES):
        return 0
    if name.endswith(("bytes_per_second", "_per_s", "_scaling")):
        return 1
    if name.endswith((".ns", "_ns", "_s", "bytes_per_region",
                      "peak_over_budget")):
        return -1
    return 0


def is_baseline(name):
    return any(p.search(name) for p in BASELINE_PATTERNS)


def bad_input(message):
    print(f"compare.py: {message}", file=sys.stderr)
    sys.exit(2)


def load(path):
    """{(state, figure): value} of one run."""
    try:
        with open(path, encoding="utf-8") as f:
            run = json.load(f)
        figures = {(s["state"], k): v for s in run["states"]
                   for k, v in s["figures"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        bad_input(f"{path}: {e!r}")
    for (state, name), value in figures.items():
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not math.isfinite(value) or value < 0):
            bad_input(f"{path}: {state} {name} is not a measurement: {value!r}")
    return figures


def gain(before, after, sign):
    """The change from `before` to `after` in percent, positive if better:
    for a rate, how much more; for a time, how much less, as a share of
    `before`. A time that was 0 and is not any more is infinitely worse."""
    if before == after:
        return 0.0
    if before == 0:
        return math.inf if sign > 0 else -math.inf
    return (after - before) / before * 100.0 * sign


def compare(befores, afters, threshold):
    """Rows of the report, and the library figures worse on every pair."""
    keys = set.intersection(*(set(r) for r in befores + afters))
    rows, worse = [], []
    for key in sorted(keys):
        state, name = key
        sign = direction(name)
        twin = name[:-len("bytes_per_second")] + "ns"
        if sign == 0 or (name.endswith(".bytes_per_second") and
                         (state, twin) in keys):
            continue
        before = statistics.median(r[key] for r in befores)
        after = statistics.median(r[key] for r in afters)
        change = gain(before, after, sign)
        pairs = [gain(b[key], a[key], sign) for b, a in zip(befores, afters)]
        baseline = is_baseline(name)
        rows.append((baseline, key, before, after, change))
        if (not baseline and change < -threshold and
                all(p < -threshold for p in pairs)):
            worse.append(key)
    return rows, worse


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        usage="compare.py [--threshold PCT] BEFORE.json [...] -- AFTER.json [...]")
    parser.add_argument("--threshold", type=float, default=5.0,
                        help="percent worse that counts (default 5)")
    parser.add_argument("runs", nargs="+")
    argv = sys.argv[1:]
    if "--" not in argv:
        if "-h" in argv or "--help" in argv:
            parser.parse_args(argv)  # prints the help and exits
        parser.error("separate the runs before and after with --")
    cut = argv.index("--")
    args = parser.parse_args(argv[:cut])
    after_paths = argv[cut + 1:]
    if len(after_paths) != len(args.runs):
        parser.error(f"{len(args.runs)} runs before, {len(after_paths)} after: "
                     "give each side as many (alternate the builds)")
    befores = [load(p) for p in args.runs]
    afters = [load(p) for p in after_paths]
    rows, worse = compare(befores, afters, args.threshold)
    if not rows:
        bad_input("the runs have no figure in common")
    for baseline in (False, True):
        print("baselines (the same code in both builds: noise)" if baseline
              else "library figures")
        print(f"  {'state':<12} {'figure':<52} {'before':>14} {'after':>14}"
              f" {'change':>8}")
        for b, (state, name), before, after, change in rows:
            if b == baseline:
                flag = " WORSE" if (state, name) in worse else ""
                print(f"  {state:<12} {name:<52} {before:>14.6g} "
                      f"{after:>14.6g} {change:>+7.1f}%{flag}")
    noise = [abs(r[4]) for r in rows if r[0]]
    if noise:
        print(f"baseline changes: median {statistics.median(noise):.1f}%, "
              f"largest {max(noise):.1f}%")
    print(f"{len(worse)} library figures worse by more than "
          f"{args.threshold:g}% on every pair of runs")
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())
