#!/usr/bin/env python3
"""Renders BENCHMARKS.md's pictures from a suite run's JSON, with gnuplot.

    python3 tools/bench/plot.py RUN.json OUTDIR

RUN.json comes from `smmap bench --sweeps --json RUN.json` (tools/bench/
json_report.h). Writes to OUTDIR:

  scan_vs_window.png  scan throughput against window size (64 KiB to 1 GiB):
                      raw windows, smmap sliding cursors, read() with a
                      buffer of that size, and whole-file mmap; one panel
                      per page-cache state
  churn_curve.png     random 4 KiB reads per second against budget / file
                      size: the manager, a raw FIFO ring of mappings of the
                      same budget, raw map+read+unmap, one whole-file mapping
  t10.png             one thread's cursor hits per second: alone, beside
                      another thread's raw churn, beside its misses through
                      the same manager (T10)

Each picture names the machine and the date of the run. Exits 1 if a
sweep's figures are missing (run with --sweeps) or gnuplot fails; without
T10's figures (--skip=t10) it makes the other two pictures.
"""
import json
import os
import subprocess
import sys
import tempfile


def die(message):
    sys.stderr.write("plot.py: %s\n" % message)
    sys.exit(1)


def points(figures, prefix, suffix):
    """[(x, value)] of figures named PREFIX<x>SUFFIX, sorted by x."""
    out = []
    for name, value in figures.items():
        if name.startswith(prefix) and name.endswith(suffix):
            x = name[len(prefix):len(name) - len(suffix)]
            if x.isdigit():
                out.append((int(x), value))
    return sorted(out)


def write_table(path, rows):
    with open(path, "w") as f:
        for row in rows:
            f.write(" ".join("%.6g" % v for v in row) + "\n")


def scan_panel(tmp, state, figures):
    """Data files and plot clauses of one state's scan-vs-window panel."""
    series = [("raw windows", "sweep/window/raw_windows/"),
              ("smmap sliding cursor", "sweep/window/sliding/"),
              ("read(), buffer of that size", "sweep/window/read/")]
    clauses = []
    for i, (title, prefix) in enumerate(series):
        rows = [(w / 1024.0, v / 1e9)
                for w, v in points(figures, prefix, ".bytes_per_second")]
        if not rows:
            die("no %s* figures in the %s state: run smmap bench with "
                "--sweeps" % (prefix, state))
        path = os.path.join(tmp, "scan-%s-%d.dat" % (state, i))
        write_table(path, rows)
        clauses.append("'%s' using 1:2 with linespoints lw 2 title '%s'" %
                       (path, title))
    whole = figures.get("scan/raw_mmap_whole.bytes_per_second")
    if whole is not None:
        clauses.append("%g with lines dt 2 lw 2 title 'whole-file mmap'" %
                       (whole / 1e9))
    return clauses


def churn_panel(tmp, state, figures, file_size):
    clauses = []
    for i, (title, prefix) in enumerate(
            [("smmap manager (64 KiB windows)", "sweep/churn/manager/"),
             ("raw FIFO ring of mappings, same budget",
              "sweep/churn/raw_ring/")]):
        # The suite clamps a budget to one 64 KiB window at least.
        rows = [(max(65536.0, file_size / d) / file_size, 1e3 / ns)
                for d, ns in points(figures, prefix, ".ns")]
        if not rows:
            die("no %s* figures in the %s state: run smmap bench with "
                "--sweeps" % (prefix, state))
        path = os.path.join(tmp, "churn-%s-%d.dat" % (state, i))
        write_table(path, sorted(rows))
        clauses.append("'%s' using 1:2 with linespoints lw 2 title '%s'" %
                       (path, title))
    for name, title in [("sweep/churn/raw_map_unmap.ns",
                         "raw mmap+read+munmap per read"),
                        ("random4k/raw_mmap.ns", "one whole-file mapping")]:
        if name in figures:
            clauses.append("%g with lines dt 2 lw 2 title '%s'" %
                           (1e3 / figures[name], title))
    return clauses


def t10_plot(tmp, outdir, figures, caption, head):
    """Renders t10.png; False (with a note) if T10 was not measured."""
    names = [("alone", "t10.hits_alone_per_s"),
             ("beside raw churn", "t10.hits_beside_raw_per_s"),
             ("beside manager misses", "t10.hits_beside_manager_per_s")]
    if any(n not in figures for _, n in names):
        sys.stderr.write("plot.py: no T10 figures in the large-folio state "
                         "(run without --skip=t10): no t10.png\n")
        return False
    path = os.path.join(tmp, "t10.dat")
    with open(path, "w") as f:
        for title, name in names:
            f.write("\"%s\" %.6g\n" % (title, figures[name] / 1e6))
    gnuplot(head +
            "set output '%s'\n" % os.path.join(outdir, "t10.png") +
            "set title \"T10: one thread's cursor hits per second while "
            "another thread misses\\n%s\"\n" % caption +
            "set style fill solid 0.6\nset boxwidth 0.5\n"
            "set ylabel 'hits, millions/s'\nset yrange [0:*]\nunset key\n"
            "plot '%s' using 0:2:xtic(1) with boxes, "
            "'' using 0:2:(sprintf('%%.2f M/s', $2)) with labels offset 0,1\n"
            % path)
    return True


def gnuplot(script):
    try:
        subprocess.run(["gnuplot"], input=script.encode(), check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        die("gnuplot failed: %s" % e)


def main():
    if len(sys.argv) != 3:
        die("usage: plot.py RUN.json OUTDIR")
    with open(sys.argv[1]) as f:
        run = json.load(f)
    outdir = sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    states = {s["state"]: s["figures"] for s in run["states"]}
    caption = "%s; %s file; %s" % (run["machine"],
                                   "%d MiB" % (run["file_size"] >> 20),
                                   run["date"][:10])
    head = ("set terminal pngcairo size 1100,%d font 'sans,10'\n"
            "set grid\nset key top left\n")
    with tempfile.TemporaryDirectory() as tmp:
        # Scan throughput against window size.
        script = head % (430 * len(states))
        script += "set output '%s'\n" % os.path.join(outdir,
                                                      "scan_vs_window.png")
        script += "set multiplot layout %d,1 title \"%s\"\n" % (len(states),
                                                                caption)
        script += ("set logscale x 2\nset xlabel 'window'\n"
                   "set ylabel 'GB/s'\nset yrange [0:*]\n"
                   "set xtics ('64K' 64, '256K' 256, '1M' 1024, '4M' 4096, "
                   "'16M' 16384, '64M' 65536, '256M' 262144, '1G' 1048576)\n")
        for state, figures in states.items():
            script += "set title 'sequential scan, %s page cache'\n" % state
            script += "plot " + ", ".join(scan_panel(tmp, state, figures)) + "\n"
        script += "unset multiplot\n"
        gnuplot(script)

        # Random reads against budget / file size.
        script = head % (430 * len(states))
        script += "set output '%s'\n" % os.path.join(outdir, "churn_curve.png")
        script += "set multiplot layout %d,1 title \"%s\"\n" % (len(states),
                                                                caption)
        script += ("set logscale x 2\nset xlabel 'budget / file size'\n"
                   "set ylabel 'random 4 KiB reads, millions/s (log)'\n"
                   "set logscale y 10\nset yrange [*:*]\n"
                   "set xtics ('1/4096' 1.0/4096, '1/1024' 1.0/1024, "
                   "'1/256' 1.0/256, '1/64' 1.0/64, '1/16' 1.0/16, "
                   "'1/4' 0.25, '1/2' 0.5, '1' 1)\n")
        for state, figures in states.items():
            script += "set title 'random 4 KiB reads, %s page cache'\n" % state
            script += "plot " + ", ".join(
                churn_panel(tmp, state, figures, run["file_size"])) + "\n"
        script += "unset multiplot\n"
        gnuplot(script)

        made = ["scan_vs_window.png", "churn_curve.png"]
        if t10_plot(tmp, outdir, states.get("large-folio", {}), caption,
                    head % 430):
            made.append("t10.png")
    for name in made:
        print(os.path.join(outdir, name))

if __name__ == "__main__":
    main()
