"""T9: upstream Python smmap on the benchmark's file.

Run by smmap's benchmark suite (tools/bench/python_comparison.cc) as
`python3 python_bench.py FILE`, against Debian's python3-smmap (5.0.0, the
library the usage guide's rewrite was derived from; the rewrite itself does
not import on Python >= 3.10). Prints two lines:

  cursor_ns N          make_cursor + use_region(4 KiB) + one byte + release,
                       on cached regions
  scan_bytes_per_s N   the file copied out in 1 MiB slices of a
                       SlidingWindowMapBuffer on a fresh manager, best of 3
"""
import os
import random
import sys
import time

import smmap

path = sys.argv[1]
size = os.path.getsize(path)
mman = smmap.SlidingWindowMapManager()
rng = random.Random(5)
offsets = [rng.randrange(0, size - 4096) // 4096 * 4096 for _ in range(20000)]


def one(o):
    c = mman.make_cursor(path)
    c.use_region(o, 4096)
    c.buffer()[0]
    c.unuse_region()


for o in offsets:
    one(o)
start = time.perf_counter()
for o in offsets:
    one(o)
print("cursor_ns", (time.perf_counter() - start) / len(offsets) * 1e9)
best = 0
for _ in range(3):
    # A fresh manager per pass, as smmap's scan benchmark does: the pass
    # maps the file and faults its pages in.
    start = time.perf_counter()
    scan_mman = smmap.SlidingWindowMapManager()
    buf = smmap.SlidingWindowMapBuffer(scan_mman.make_cursor(path))
    for i in range(0, size, 1 << 20):
        bytes(buf[i:i + (1 << 20)])  # read every byte (a slice may be a view)
    buf.end_access()
    scan_mman.collect()
    best = max(best, size / (time.perf_counter() - start))
print("scan_bytes_per_s", best)
