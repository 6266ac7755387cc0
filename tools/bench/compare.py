#!/usr/bin/env python3
"""Compares `smmap bench --json` runs of two builds, figure by figure.

    python3 tools/bench/compare.py BEFORE.json [...] -- AFTER.json [...]

Each side may have several runs (alternate the builds: before, after,
before, after, ...); a figure's value on a side is the median of its runs.
For every figure both sides measured whose better direction its name tells
(times: `.ns`, `_ns`, `_s`; rates: `bytes_per_second`, `_per_s`; a scaling;
bookkeeping bytes), prints the change, positive when the after side is
better, and the figures more than --threshold percent worse. Figures of the
raw baselines (raw mmap, read(), pread(), the raw ring, the Python library)
run the same code in both builds: their changes are this machine's noise,
printed apart, and never counted as worse. Exits 0, or 1 if a library
figure is worse by more than the threshold on every pair of runs (an
alternating pair: BEFORE's i-th run against AFTER's i-th); 2 on bad input.
"""

import argparse
import json
import statistics
import sys

# Figures that measure code both builds share.
BASELINE_MARKS = ("raw", "pread", "scan/read/", "python.", "t11.raw_")
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
    return any(mark in name for mark in BASELINE_MARKS)


def load(path):
    """{(state, figure): value} of one run."""
    try:
        with open(path, encoding="utf-8") as f:
            run = json.load(f)
        return {(s["state"], k): v for s in run["states"]
                for k, v in s["figures"].items()}
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"compare.py: {path}: {e!r}", file=sys.stderr)
        sys.exit(2)


def gain(before, after, sign):
    """The change from `before` to `after` in percent, positive if better."""
    if before == 0 or after == 0:
        return 0.0 if before == after else None
    ratio = after / before if sign > 0 else before / after
    return (ratio - 1.0) * 100.0


def compare(befores, afters, threshold):
    """Lines of the report, and the library figures worse on every pair."""
    keys = sorted(set.intersection(*(set(r) for r in befores + afters)))
    rows, worse = [], []
    for key in keys:
        sign = direction(key[1])
        if sign == 0:
            continue
        before = statistics.median(r[key] for r in befores)
        after = statistics.median(r[key] for r in afters)
        change = gain(before, after, sign)
        if change is None:
            continue
        pairs = [gain(b[key], a[key], sign) for b, a in zip(befores, afters)]
        every_pair_worse = all(p is not None and p < -threshold for p in pairs)
        rows.append((is_baseline(key[1]), key, before, after, change))
        if not is_baseline(key[1]) and every_pair_worse:
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
        parser.error("separate the runs before and after with --")
    cut = argv.index("--")
    args = parser.parse_args(argv[:cut])
    after_paths = argv[cut + 1:]
    if not after_paths:
        parser.error("no run after --")
    befores = [load(p) for p in args.runs]
    afters = [load(p) for p in after_paths]
    rows, worse = compare(befores, afters, args.threshold)
    if not rows:
        print("compare.py: the runs have no figure in common", file=sys.stderr)
        return 2
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
