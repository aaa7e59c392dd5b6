#!/usr/bin/env python3
"""Benchmark of the Unicorn patch experiment (issue 21, "Compute"): vmemu on stock Unicorn
2.1.1 against vmemu on the patched 2.1.1 of .ci/unicorn/, and both against qemu-x86_64.

Usage: bench_unicorn_patch.py --stock VMEMU --patched VMEMU --samples BUILD/samples
                              [--packaged VMEMU] [--qemu qemu-x86_64] [--reps 5]
                              [-k SUBSTRING]

Not a test: it asserts nothing and is not registered with CTest. --stock and --patched
are two builds of the same vmemu source, one linked against Unicorn 2.1.1 built from
source without patches, one against the same source with .ci/unicorn/patches/ applied
(.ci/unicorn/build makes both; see README.md "Unicorn patch experiment"). --packaged is
optional: the same vmemu linked against Debian's libunicorn2t64, to check that the stock
build from source runs at the packaged library's speed (a fair baseline).

The cases are the Lua, SQLite and zlib real programs of tests/realprogs.py (the same
programs, scripts and generated inputs as the test suite and tests/bench.py (d)). Every
repetition runs each runner once, native, qemu-x86_64 and each vmemu, in a rotating order
(so that a change of load on this shared machine hits all alike); a case of several
steps is timed as the sum of its steps, in a fresh directory. Times are the median over
--reps of the CPU time of the child (user + system, from getrusage: steadier than wall
time when other jobs share the cores); wall time is printed too. The last rows are the
geometric means over the cases, each program's own geometric mean, and the decision rule
of the issue: the patched build is adopted only if stock/patched is at least 1.3x on the
geometric mean of the three programs (Lua, SQLite, zlib: each program's cases averaged
first, so that Lua's four scripts count as one program) (the other two
conditions, every test passing on it and the setup staying reasonable, are checked
elsewhere). Python 3 standard library only.
"""

import argparse
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import realprogs  # noqa: E402  (the same inputs and scripts as the test suite)

ADOPT = 1.3  # the threshold on the geometric mean of stock/patched


def cases(real, zlib_mib):
    """(label, steps) of the compute cases; a step is an argv list, run in an empty
    directory next to in/."""
    lua, sqlite, zlib = (os.path.join(real, p) for p in ("lua", "sqlite", "zlib"))
    src = realprogs.SRC
    create, query = os.path.join(src, "create.sql"), os.path.join(src, "query.sql")

    def lua_script(name, n):
        return [lua, os.path.join(src, name), n]

    return (
        ("lua strings.lua", [lua_script("strings.lua", "20000")]),
        ("lua tables.lua", [lua_script("tables.lua", "100000")]),
        ("lua gc.lua", [lua_script("gc.lua", "150")]),
        ("lua pack.lua", [lua_script("pack.lua", "20000")]),
        ("sqlite :memory:", [[sqlite, ":memory:", create, query]]),
        ("sqlite file (2 runs)", [[sqlite, "t.db", create], [sqlite, "t.db", query]]),
        ("zlib %d MiB" % zlib_mib, [[zlib, str(zlib_mib), "."]]),
    )


def run_steps(pre, steps, top):
    """(cpu seconds, wall seconds) of steps run one after the other as pre + argv in a
    fresh directory under top, or a string "exit N" when a step fails."""
    cwd = tempfile.mkdtemp(prefix="run-", dir=top)
    try:
        cpu = wall = 0.0
        for argv in steps:
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            p = subprocess.run(pre + argv, cwd=cwd, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wall += time.perf_counter() - t0
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu += (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            if p.returncode != 0:
                return "exit %d" % p.returncode
        return cpu, wall
    finally:
        shutil.rmtree(cwd, ignore_errors=True)


def measure(runners, steps, top, reps):
    """{runner: (median cpu, median wall)} over reps rounds, each round running every
    runner once, the order rotating by one each round."""
    names = list(runners)
    got = {n: [] for n in names}
    failed = {}
    for rep in range(reps):
        order = names[rep % len(names):] + names[:rep % len(names)]
        for n in order:
            if n in failed:
                continue
            r = run_steps(runners[n], steps, top)
            if isinstance(r, str):
                failed[n] = r
            else:
                got[n].append(r)
    return {n: failed.get(n) or (statistics.median(c for c, _ in got[n]),
                                 statistics.median(w for _, w in got[n])) for n in names}


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def fmt_ratio(v):
    return "%.2fx" % v if v is not None else "-"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stock", required=True, help="vmemu linked against stock 2.1.1")
    ap.add_argument("--patched", required=True, help="vmemu linked against patched 2.1.1")
    ap.add_argument("--packaged", help="vmemu linked against Debian's libunicorn2t64")
    ap.add_argument("--samples", required=True, help="BUILD/samples (with real/ built)")
    ap.add_argument("--qemu", default=shutil.which("qemu-x86_64"))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--zlib-mib", type=int, default=32)
    ap.add_argument("-k", default="", help="only the cases whose label contains this")
    o = ap.parse_args()

    real = os.path.join(os.path.abspath(o.samples), "real")
    runners = {"native": []}
    if o.qemu:
        runners["qemu"] = [o.qemu]
    if o.packaged:
        runners["packaged"] = [os.path.abspath(o.packaged)]
    runners["stock"] = [os.path.abspath(o.stock)]
    runners["patched"] = [os.path.abspath(o.patched)]
    vm = [n for n in ("packaged", "stock", "patched") if n in runners]

    print("Unicorn patch experiment: CPU time (user+sys) in ms, median of %d alternating "
          "runs (wall ms in brackets)" % o.reps)
    cols = ["native"] + (["qemu"] if o.qemu else []) + vm
    head = "%-22s" % "case" + "".join("%17s" % c for c in cols)
    head += "%15s" % "stock/patched"
    if o.packaged:
        head += "%16s" % "packaged/stock"
    if o.qemu:
        head += "%13s%15s" % ("stock/qemu", "patched/qemu")
    print(head)
    speedups, pk, sq, pq = [], [], [], []
    by_program = {}  # "lua", "sqlite", "zlib": the stock/patched ratios of its cases
    with tempfile.TemporaryDirectory(prefix="vmemu-bench-uc-") as top:
        os.mkdir(os.path.join(top, "in"))
        realprogs.make_inputs(os.path.join(top, "in"))
        for label, steps in cases(real, o.zlib_mib):
            if o.k not in label:
                continue
            t = measure(runners, steps, top, o.reps)

            def cpu(n):
                return t[n][0] if isinstance(t.get(n), tuple) else None

            line = "%-22s" % label
            for c in cols:
                v = t[c]
                line += "%17s" % (("%.0f (%.0f)" % (v[0] * 1e3, v[1] * 1e3))
                                  if isinstance(v, tuple) else v)
            r = cpu("stock") / cpu("patched") if cpu("stock") and cpu("patched") else None
            line += "%15s" % fmt_ratio(r)
            if r:
                speedups.append(r)
                by_program.setdefault(label.split()[0], []).append(r)
            if o.packaged:
                r = cpu("packaged") / cpu("stock") if cpu("packaged") and cpu("stock") else None
                line += "%16s" % fmt_ratio(r)
                if r:
                    pk.append(r)
            if o.qemu:
                a = cpu("stock") / cpu("qemu") if cpu("stock") and cpu("qemu") else None
                b = cpu("patched") / cpu("qemu") if cpu("patched") and cpu("qemu") else None
                line += "%13s%15s" % (fmt_ratio(a), fmt_ratio(b))
                if a:
                    sq.append(a)
                if b:
                    pq.append(b)
            print(line)
            sys.stdout.flush()
    tail = "%-22s" % "geometric mean" + "%17s" % "" * len(cols)
    tail += "%15s" % fmt_ratio(geomean(speedups))
    if o.packaged:
        tail += "%16s" % fmt_ratio(geomean(pk))
    if o.qemu:
        tail += "%13s%15s" % (fmt_ratio(geomean(sq)), fmt_ratio(geomean(pq)))
    print(tail)
    # The rule is the issue's: Lua, SQLite and zlib, so each program counts once (the
    # geometric mean of its own cases first); the mean over the cases is printed above.
    progs = {k: geomean(v) for k, v in by_program.items()}
    g = geomean(list(progs.values()))
    if g is not None:
        print("per program: " + ", ".join("%s %s" % (k, fmt_ratio(v)) for k, v in progs.items()))
        print("decision rule (speed): stock/patched, geometric mean of the %d programs' own "
              "means %.2fx %s %.1fx: %s"
              % (len(progs), g, ">=" if g >= ADOPT else "<", ADOPT,
                 "speed condition met" if g >= ADOPT else "not adopted on speed"))

if __name__ == "__main__":
    main()
