#!/usr/bin/env python3
"""Benchmark of the heap checker and profiler: time and host memory of vmemu with and without them.

Usage: bench_heap.py --vmemu PATH --samples BUILD/samples [--reps 3] [-k SUBSTRING]
                     [--no-guard] [--profile-only]

Not a test: it asserts nothing and is not registered with CTest. For each case (churny
and real programs: heap_bugs churn, the Lua driver's tables.lua with 200,000 elements,
gc.lua, SQLite in memory, zlib, the C++ driver) it runs the program natively, under
vmemu, under vmemu --check heap (the compact arena, every access checked) and under
vmemu --check heap,guard (a page per block, no access hook), and prints per run the
median CPU time (user + system: steadier than wall-clock time on a shared machine) of
--reps runs and the largest peak RSS of the process
(getrusage's ru_maxrss of the child, in MiB), then the ratios the issue asks about:
check/vmemu for time (target at most 10x) and for host memory (target at most 2x). Also
under vmemu --profile heap (the program's own allocator, observed at call and return:
code probes on the entry points, no memory hook), with the ratios prof/vmemu for time and
host memory. --profile-only measures native, vmemu and the profiler only. Only
ratios from the same run are meaningful: other engineers' jobs share the machine.
Python 3 standard library only.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "samples", "real")


def run(cmd, cwd):
    """(CPU seconds, peak RSS in KiB, status) of one run, stdout and stderr discarded. The
    run goes through /usr/bin/time: a child forked from this Python process would start
    with Python's own peak RSS (the high-water mark survives exec)."""
    out = os.path.join(cwd, ".time")
    p = subprocess.run(["/usr/bin/time", "-q", "-f", "%U %S %M", "-o", out] + cmd, cwd=cwd,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    with open(out) as f:
        user, sys_, rss = f.read().split()[-3:]
    return float(user) + float(sys_), int(rss), p.returncode


def measure(cmd, cwd, reps):
    """(median seconds, max peak RSS KiB) over reps runs; None when a run failed."""
    times, rss = [], 0
    for _ in range(reps):
        t, r, st = run(cmd, cwd)
        if st != 0:
            return None
        times.append(t)
        rss = max(rss, r)
    return statistics.median(times), rss


def cases(samples):
    real = os.path.join(samples, "real")
    lua, sqlite, zlib, cxx = (os.path.join(real, p) for p in ("lua", "sqlite", "zlib", "cxx"))
    out = [("churn", [os.path.join(samples, "heap_bugs-glibc"), "churn"]),
           ("churn-musl", [os.path.join(samples, "heap_bugs-musl"), "churn"]),
           ("lua-tables-200k", [lua, os.path.join(SRC, "tables.lua"), "200000"]),
           ("lua-gc-3", [lua, os.path.join(SRC, "gc.lua"), "3"]),
           ("sqlite-memory", [sqlite, ":memory:", os.path.join(SRC, "create.sql"),
                              os.path.join(SRC, "query.sql")]),
           ("zlib-2", [zlib, "2", "."]),
           ("cxx-throw", [cxx, "throw", "3000"])]
    return [(n, c) for n, c in out if os.path.exists(c[0])]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vmemu", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("-k", default="")
    ap.add_argument("--no-guard", action="store_true")
    ap.add_argument("--profile-only", action="store_true")
    o = ap.parse_args()
    vmemu = os.path.abspath(o.vmemu)
    modes = [("native", []), ("vmemu", [vmemu])]
    if not o.profile_only:
        modes.append(("check", [vmemu, "--check", "heap"]))
        if not o.no_guard:
            modes.append(("guard", [vmemu, "--check", "heap,guard"]))
    modes.append(("profile", [vmemu, "--profile", "heap"]))
    print("%-16s" % "case" + "".join("%20s" % m for m, _ in modes) +
          ("" if o.profile_only else "%12s%12s" % ("check/vmemu", "rss ratio")) +
          "%12s%12s" % ("prof/vmemu", "rss ratio"))
    with tempfile.TemporaryDirectory(prefix="bench_heap.") as top:
        for name, cmd in cases(os.path.abspath(o.samples)):
            if o.k not in name:
                continue
            got = {}
            for mode, pre in modes:
                cwd = os.path.join(top, "%s-%s" % (name, mode))
                os.mkdir(cwd)
                got[mode] = measure(pre + cmd, cwd, o.reps)
            cols = ["%9.2f s %5.0f MiB" % (g[0], g[1] / 1024) if g else "%20s" % "failed"
                    for g in (got[m] for m, _ in modes)]
            ratios = ""
            for m in (("profile",) if o.profile_only else ("check", "profile")):
                v, c = got["vmemu"], got[m]
                ratios += ("%11.1fx%11.2fx" % (c[0] / v[0], c[1] / v[1])) if v and c else \
                    "%24s" % "-"
            print("%-16s" % name + "".join("%20s" % x for x in cols) + ratios, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
