"""Section (h) of tests/bench.py: issue 21's table. Every real-program sample natively, under
qemu-user and under vmemu, runs alternating (one run of each runner per round), with wall
time and CPU time (user + sys of the child and its descendants, from os.wait4), the ratios
vmemu/native and vmemu/qemu per case and their geometric means, and the peak host memory
(ru_maxrss) of vmemu against the native run's (the guest's own peak resident memory).

Not a test: it asserts nothing. Only ratios from one run are meaningful."""

import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import realprogs


def host_thp():
    """The host's THP mode and defrag setting, as the kernel prints them ([chosen])."""
    out = []
    for name in ("enabled", "defrag"):
        try:
            with open("/sys/kernel/mm/transparent_hugepage/" + name) as f:
                text = f.read().split()
            out.append("%s %s" % (name, next((w.strip("[]") for w in text if w.startswith("[")),
                                              "?")))
        except OSError:
            out.append("%s absent" % name)
    return ", ".join(out)


TIME = "/usr/bin/time"  # GNU time (Debian's package "time")


def run_rusage(argv, cwd):
    """Runs argv (stdio to /dev/null) in cwd. Returns (wall s, cpu s, maxrss KiB) or
    "exit N". Started by GNU time, which forks and waits: Linux carries the resident peak
    of the address space a process execs from into its ru_maxrss, so a child of this
    Python process would report at least Python's size (even through vfork), a child of
    time reports its own. CPU time is wait4's for time and its child (time's own share is
    a fraction of a millisecond); the peak is time's %M."""
    with tempfile.NamedTemporaryFile(prefix="rss-", dir=cwd, delete=False) as f:
        out = f.name
    t0 = time.perf_counter()
    with open(os.devnull, "r+b") as null:
        p = subprocess.Popen([TIME, "-q", "-f", "%M", "-o", out] + argv, cwd=cwd, stdin=null,
                             stdout=null, stderr=null)
        _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = rc = os.waitstatus_to_exitcode(status)
    with open(out) as f:
        lines = f.read().split()
    os.unlink(out)
    if rc != 0:
        return "exit %d" % rc
    return wall, ru.ru_utime + ru.ru_stime, int(lines[-1])


def cases(o, quick):
    """(label, steps, quick?) of the table; a step is an argv list run in a fresh directory
    next to in/ (see bench.real_cases)."""
    samples = os.path.abspath(o.samples)
    real = os.path.join(samples, "real")

    def prog(name, variant=None):
        return os.path.join(samples, "%s-%s" % (name, variant or o.variant))

    lua, sqlite, zlib, bb, cxx = (os.path.join(real, p) for p in ("lua", "sqlite", "zlib",
                                                                   "busybox", "cxx"))
    src = realprogs.SRC
    create, query = os.path.join(src, "create.sql"), os.path.join(src, "query.sql")
    forks = 300 if quick else o.forks
    execs = 100 if quick else 500
    out = [
        ("lua strings.lua", [[lua, os.path.join(src, "strings.lua"), "20000"]], True),
        ("lua tables.lua", [[lua, os.path.join(src, "tables.lua"), "100000"]], False),
        ("lua gc.lua", [[lua, os.path.join(src, "gc.lua"), "150"]], True),
        ("sqlite :memory:", [[sqlite, ":memory:", create, query]], True),
        ("sqlite file (2 runs)", [[sqlite, "t.db", create], [sqlite, "t.db", query]], False),
        ("zlib %d MiB" % (8 if quick else o.zlib_mib), [[zlib, str(8 if quick else o.zlib_mib),
                                                        "."]], True),
        ("c++ words", [[cxx, "words", "../in/words.txt"]], True),
        ("c++ regex", [[cxx, "regex", "../in/words.txt"]], False),
        ("go threads", [[prog("threads_go", "static")]], False),
        ("rust threads", [[prog("threads_rust", "glibc")]], False),
        ("busybox sh loop", [[bb, "sh", "-c", "i=0; s=0; while [ $i -lt 20000 ]; do "
                              "i=$((i + 1)); s=$(( (s + i * i) % 1000003 )); done; echo $s"]],
         False),
        ("busybox sh forks", [[bb, "sh", "-c", "i=0; while [ $i -lt %d ]; do "
                               "i=$(echo $((i + 1))); done" % (100 if quick else 400)]], True),
        ("busybox gzip -6", [[bb, "gzip", "-c", "-6", "../in/blob.bin"]], False),
        ("malloc churn", [[prog("malloc")]], True),
        ("fork_heavy %d 64" % forks, [[prog("fork_heavy"), str(forks), "64"]], True),
        ("fork+exec+wait %d" % execs, [[prog("fork_heavy"), "exec", str(execs)]], True),
        ("pipe_heavy 32", [[prog("pipe_heavy"), "32"]], False),
        ("bss full (1 GiB)", [[prog("bss"), "full"]], True),
    ]
    return [(label, steps) for label, steps, q in out
            if (q or not quick) and all(os.access(s[0], os.X_OK) for s in steps)]


def measure(runners, steps, top, reps):
    """{runner: (median wall, median cpu, max maxrss KiB) or "exit N"} over reps rounds,
    the runners alternating within a round; a case of several steps sums them."""
    res = {name: [] for name, _ in runners}
    failed = {}
    for _ in range(reps):
        for name, pre in runners:
            if name in failed:
                continue
            cwd = tempfile.mkdtemp(prefix="run-", dir=top)
            wall = cpu = 0.0
            rss = 0
            for argv in steps:
                r = run_rusage(pre + argv, cwd)
                if isinstance(r, str):
                    failed[name] = r
                    break
                wall, cpu, rss = wall + r[0], cpu + r[1], max(rss, r[2])
            shutil.rmtree(cwd, ignore_errors=True)
            res[name].append((wall, cpu, rss))
    return {name: failed.get(name) or (statistics.median(w for w, _, _ in v),
                                       statistics.median(c for _, c, _ in v),
                                       max(r for _, _, r in v))
            for name, v in res.items()}


def fmt_ratio(a, b):
    return "%.2f" % (a / b) if a and b else "-"


def geomean(values):
    values = [v for v in values if v]
    if not values:
        return "-"
    return "%.2f" % math.exp(sum(math.log(v) for v in values) / len(values))


def bench_table(o, runners, quick):
    """Prints section (h)."""
    reps = 3 if quick else o.reps
    print("\n(h) issue 21 table: median of %d alternating runs; times in ms (wall / cpu = "
          "user+sys); ratios of cpu and wall; RSS = peak resident MiB (ru_maxrss)" % reps)
    print("  %s, %s, %d CPUs, host THP: %s" % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                              platform.release(), os.cpu_count(), host_thp()))
    names = [name for name, _ in runners]
    base = "baseline" in names
    hdr = "%-22s" % "case" + "".join("%15s" % n[:8] for n in names) + \
        "%9s %9s %9s %9s" % ("v/n cpu", "v/n wall", "v/q cpu", "v/q wall") + \
        ("%9s" % "v/b cpu" if base else "") + "%7s %7s" % ("RSS n", "RSS v") + \
        ("%7s" % "RSS b" if base else "")
    print(hdr)
    keys = ("vn_cpu", "vn_wall", "vq_cpu", "vq_wall", "vb_cpu")
    ratios = {k: [] for k in keys}
    results = {}
    with tempfile.TemporaryDirectory(prefix="vmemu-bench-h-") as top:
        os.mkdir(os.path.join(top, "in"))
        realprogs.make_inputs(os.path.join(top, "in"))
        for label, steps in cases(o, quick):
            t = measure(runners, steps, top, reps)
            results[label] = t

            def col(name):
                v = t.get(name)
                if isinstance(v, str):
                    return v
                return "%.0f/%.0f" % (v[0] * 1e3, v[1] * 1e3)

            n, q, v, b = (t.get(k) if isinstance(t.get(k), tuple) else None
                          for k in ("native", "qemu", "vmemu", "baseline"))
            r = {"vn_cpu": v and n and v[1] / n[1], "vn_wall": v and n and v[0] / n[0],
                 "vq_cpu": v and q and v[1] / q[1], "vq_wall": v and q and v[0] / q[0],
                 "vb_cpu": v and b and v[1] / b[1]}
            for k, x in r.items():
                if x:
                    ratios[k].append(x)

            def rc(k):
                return "%.2f" % r[k] if r[k] else "-"

            def mib(x):
                return "%.0f" % (x[2] / 1024) if x else "-"

            print("%-22s" % label + "".join("%15s" % col(nm) for nm in names) +
                  "%9s %9s %9s %9s" % (rc("vn_cpu"), rc("vn_wall"), rc("vq_cpu"), rc("vq_wall")) +
                  ("%9s" % rc("vb_cpu") if base else "") + "%7s %7s" % (mib(n), mib(v)) +
                  ("%7s" % mib(b) if base else ""))
            sys.stdout.flush()
    print("%-22s" % "geometric mean" + " " * (15 * len(names)) +
          "%9s %9s %9s %9s" % tuple(geomean(ratios[k]) for k in keys[:4]) +
          ("%9s" % geomean(ratios["vb_cpu"]) if base else ""))
    for label, t in results.items():
        if label.startswith("fork+exec+wait") and isinstance(t.get("vmemu"), tuple):
            n = int(label.split()[-1])
            print("  fork+exec+wait round trip (wall / cpu, start-up included): %s" % ", ".join(
                "%s %.0f/%.0f us" % (k, v[0] / n * 1e6, v[1] / n * 1e6)
                for k, v in t.items() if isinstance(v, tuple)))
        if label.startswith("bss full") and isinstance(t.get("vmemu"), tuple):
            v, n = t["vmemu"], t.get("native")
            if isinstance(n, tuple):
                print("  1 GiB .bss touch: vmemu/native cpu %.2f (target <= 0.8); vmemu peak "
                      "RSS %.0f MiB, native %.0f MiB: +%.0f MiB (target <= +64)"
                      % (v[1] / n[1], v[2] / 1024, n[2] / 1024, (v[2] - n[2]) / 1024))
    print("  (qemu-user runs the exec'ed image natively: its exec row is not emulated)")
