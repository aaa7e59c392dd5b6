#!/usr/bin/env python3
"""Swap and page replacement end to end: the paging samples under a small frame pool.

Usage: swap_e2e.py --vmemu PATH --samples BUILD/samples [-k SUBSTRING] [--jobs N]

The samples (samples/workingset.c, seqscan.c, belady.c, survivor.c, shared_evict.c) touch
more pages than --mem holds, so vmemu evicts and brings pages back. Checks:
  - output: every sample, every variant (glibc, musl, PIE or not) under every policy
    (fifo, clock, lru, random) with --mem well below its use gives the native stdout and
    exit status, and pages were swapped out (survivor verifies every word of its data each
    round, and some of its pages are evicted clean from the swap cache; shared_evict prints
    what a MAP_SHARED and a MAP_PRIVATE mapping of one file and the file itself hold after
    their pages were evicted, and each of its dirty shared pages is written back once);
  - counts: small configurations of workingset (one that fits, one that thrashes),
    seqscan and belady under each policy: the --report counts of two runs are identical
    (determinism) and equal to EXPECTED below. EXPECTED was measured, and each entry is
    also checked against what can be derived from the program (RELATIONS below: a working
    set that fits never swaps; a cyclic working set larger than memory misses on every
    page of every later pass under fifo and lru; every page of a scan larger than twice
    the pool is written to swap once and read back once under fifo and lru; every swap-in
    of workingset's pages, which are written on every touch, was preceded by its own
    swap-out), so a changed number means a changed policy, to be explained;
  - Belady's anomaly: belady under fifo has more major faults with the larger of two
    pool sizes (BELADY below); under lru, a stack algorithm, it has not;
  - out of memory: with memory and swap exhausted (--swap 1M) and with no swap at all
    (--swap 0) the guest is killed (status 137, "out of memory" on stderr), vmemu writes its
    report and no sanitizer complains;
  - --swap-file PATH leaves PATH in place and the output is the native one;
  - bad usage: --policy bogus and --swap xyz exit 2 with one "vmemu: " line.
Sizes: the data of the output checks is halved when $VMEMU_ASAN is set or vmemu is an
AddressSanitizer build (about 3x slower); the counted configurations are small and never
scaled, so EXPECTED holds for every build.

Each check prints "PASS name" or "FAIL name: reason"; the last line is "N passed, M
failed"; the exit status is 1 when a check failed. Python 3 standard library only.
"""

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time

from harness import read_report, Failure, Once, execute, line_diff, run_checks, tail

VARIANTS = ("glibc", "glibc-pie", "musl", "musl-pie")
POLICIES = ("fifo", "clock", "lru", "random")
SAMPLES = ("workingset", "seqscan", "belady", "survivor", "shared_evict")
OOM_STATUS = 128 + 9
PAGE = 4096
BELADY_BLOCK = 64  # pages per block of belady (see CONFIGS)

# Output checks: (sample, args at scale 1, args at scale 1/2, --mem). The pool is a fraction
# of what the data alone needs even at half scale (1 MiB = 256 frames, a part of them taken
# by page tables, program text, libc data and the stack).
OUTPUT_CASES = (
    ("workingset", ("1024", "3"), ("512", "3"), "1M"),
    ("seqscan", ("2048",), ("1024",), "1M"),
    ("belady", ("64",), ("32",), "512K"),
    ("survivor", ("512", "4"), ("256", "4"), "512K"),
    ("shared_evict", ("32", "1024"), ("32", "512"), "512K"),
)

# Counted configurations: name -> (sample, args, --mem). All with the glibc variant. Besides
# its data, a guest keeps about 32 frames busy (page tables, program text, libc data, the
# stack; measured with frames.peak_used), and the page cache holds the program file.
CONFIGS = {
    "workingset fits": ("workingset", ("128", "3"), "2M"),
    "workingset thrashes": ("workingset", ("384", "3"), "1M"),
    "seqscan": ("seqscan", ("768",), "1M"),
    # 5 blocks of 64 pages. Under fifo, 224 to 268 frames hold 3 blocks and the rest, 272
    # to 328 hold 4 (measured); 960K (240 frames) and 1200K (300) lie in the middle.
    "belady 3 blocks": ("belady", (str(BELADY_BLOCK),), "960K"),
    "belady 4 blocks": ("belady", (str(BELADY_BLOCK),), "1200K"),
}

# Blocks refaulted (brought back from swap after their first write) for the reference string
# 1 2 3 4 1 2 5 1 2 3 4 5 with room for 3 or 4 blocks: the textbook's faults minus the 5
# first touches. fifo: 9 and 10 faults (Belady's anomaly); lru: 10 and 8.
BELADY_REFAULTS = {("belady 3 blocks", "fifo"): 4, ("belady 4 blocks", "fifo"): 5,
                   ("belady 3 blocks", "lru"): 5, ("belady 4 blocks", "lru"): 3}

# The counts pinned for each configuration and policy, measured (print them with --show);
# each also satisfies relations(). The data page that Linux's padzero() writes at exec is
# read then, as an exec fault (faults.exec_major), no longer at the program's first touch;
# and fault-around maps (read-around reads) the last page of a read-only segment, as
# Linux does: two major faults fewer than before when everything fits, one more page
# cached and evicted under pressure, and under random the draws shift with the frames.
# (faults.major, faults.swap_in, paging.swap_outs, paging.evictions)
COUNT_KEYS = ("major", "swap_in", "swap_outs", "evictions")
EXPECTED = {
    ("workingset fits", "fifo"): (15, 0, 0, 0),
    ("workingset fits", "clock"): (15, 0, 0, 0),
    ("workingset fits", "lru"): (15, 0, 0, 0),
    ("workingset fits", "random"): (15, 0, 0, 0),
    ("workingset thrashes", "fifo"): (824, 778, 957, 1126),
    ("workingset thrashes", "clock"): (824, 778, 957, 1126),
    ("workingset thrashes", "lru"): (824, 778, 957, 1126),
    ("workingset thrashes", "random"): (584, 540, 722, 886),
    ("seqscan", "fifo"): (824, 778, 779, 1511),
    ("seqscan", "clock"): (824, 778, 779, 1511),
    ("seqscan", "lru"): (824, 778, 779, 1511),
    ("seqscan", "random"): (787, 741, 769, 1474),
    ("belady 3 blocks", "fifo"): (314, 267, 269, 568),
    ("belady 3 blocks", "clock"): (312, 269, 270, 566),
    ("belady 3 blocks", "lru"): (371, 328, 329, 625),
    ("belady 3 blocks", "random"): (323, 276, 284, 577),
    ("belady 4 blocks", "fifo"): (376, 330, 331, 570),
    ("belady 4 blocks", "clock"): (244, 200, 210, 438),
    ("belady 4 blocks", "lru"): (243, 200, 271, 437),
    ("belady 4 blocks", "random"): (258, 215, 241, 452),
}


def is_asan(path):
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()


class Runner(Once):
    """Runs programs natively and under vmemu; a native run happens once per program and
    arguments. vm() returns the Run with .report (the --report JSON)."""

    def __init__(self, vmemu, samples, tmp):
        super().__init__()
        self.vmemu = vmemu
        self.samples = samples
        self.tmp = tmp
        self.lock = threading.Lock()
        self.serial = 0

    def path(self, sample, variant="glibc"):
        return os.path.join(self.samples, "%s-%s" % (sample, variant))

    def native(self, prog, args):
        return self.once(("native", prog, tuple(args)), lambda: execute([prog] + list(args)))

    def scratch(self, name):
        """A fresh path in the temporary directory."""
        with self.lock:
            self.serial += 1
            return os.path.join(self.tmp, "%d-%s" % (self.serial, name))

    def vm(self, opts, prog, args, report=True):
        cmd = [self.vmemu] + list(opts)
        rfile = self.scratch("report.json")
        if report:
            cmd += ["--report", rfile]
        r = execute(cmd + ["--", prog] + list(args))
        r.report = None
        if report:
            try:
                with open(rfile) as f:
                    r.report = read_report(f)
            except (OSError, ValueError) as e:
                raise Failure("no usable --report (%s); status %d, stderr: %s"
                              % (e, r.status, tail(r.err)))
            finally:
                if os.path.exists(rfile):
                    os.unlink(rfile)
        return r


def no_sanitizer_report(r):
    for marker in ("Sanitizer", "runtime error:"):
        if marker in r.err:
            raise Failure("sanitizer report on stderr: %s" % tail(r.err, 800))


def same_as_native(R, opts, prog, args):
    """Runs prog under vmemu with opts; fails unless status and stdout are the native ones.
    Returns the vmemu Run."""
    native = R.native(prog, args)
    if native.status != 0:
        raise Failure("native run exited %d: %s" % (native.status, tail(native.err)))
    r = R.vm(opts, prog, args)
    no_sanitizer_report(r)
    if r.status != native.status:
        raise Failure("status %d, native %d; stderr: %s" % (r.status, native.status,
                                                            tail(r.err)))
    if r.out != native.out:
        raise Failure("stdout differs from the native run's:\n" + line_diff(native.out, r.out))
    return r


def counts(rep):
    """The pinned counts of a report, in COUNT_KEYS order."""
    p = rep["processes"][0]
    return (p["faults"]["major"], p["faults"]["swap_in"], rep["paging"]["swap_outs"],
            rep["paging"]["evictions"])


def all_counts(rep):
    """Every count that must repeat between identical runs."""
    p = rep["processes"][0]
    return {"faults": p["faults"], "paging": rep["paging"],
            "peak_used": rep["frames"]["peak_used"], "rss_pages": p["rss_pages"]}


def pages_of(rep):
    return rep["mem_bytes"] // PAGE


def relations(config, policy, rep, args):
    """What the program's access pattern implies about the counts (RELATIONS in the module
    text). Returns a list of broken relations."""
    p = rep["processes"][0]
    f, pg = p["faults"], rep["paging"]
    bad = []

    def need(ok, what):
        if not ok:
            bad.append(what)

    need(f["major"] == f["file_major"] + f["swap_in"], "major == file_major + swap_in")
    need(pg["swap_ins"] >= f["swap_in"], "paging.swap_ins >= faults.swap_in")
    need(pg["evictions"] >= pg["swap_outs"] + pg["swap_clean"],
         "evictions >= swap_outs + swap_clean")
    if config == "workingset fits":
        need(f["swap_in"] == 0 and pg["swap_outs"] == 0 and pg["evictions"] == 0,
             "a working set that fits: no eviction, no swap-out, no swap-in")
    elif config == "workingset thrashes":
        pages, passes = int(args[0]), int(args[1])
        need(pages > pages_of(rep), "the working set is larger than the pool")
        if policy in ("fifo", "lru"):
            # A cyclic pattern larger than memory: each page is gone before its next use.
            need(f["swap_in"] >= (passes - 1) * pages,
                 "swap_in >= (passes - 1) * pages = %d" % ((passes - 1) * pages))
        need(f["swap_in"] > 0, "thrashing: swap_in > 0")
        need(pg["swap_outs"] >= f["swap_in"],
             "every swap-in of a page written on every touch follows its own swap-out")
        need(pg["swap_outs"] >= pages - pages_of(rep),
             "the first pass alone writes out pages - pool frames")
    elif config == "seqscan":
        pages = int(args[0])
        need(pages >= 2 * pages_of(rep), "the scan is at least twice the pool")
        need(pg["swap_outs"] >= pages - pages_of(rep),
             "the write pass writes out pages - pool frames")
        if policy in ("fifo", "lru"):
            need(pg["swap_outs"] >= pages and f["swap_in"] >= pages,
                 "every page out once and back once (swap_outs, swap_in >= %d)" % pages)
    elif config.startswith("belady"):
        need(pg["swap_outs"] > 0 and f["swap_in"] > 0, "5 blocks and room for fewer swap")
        n = BELADY_REFAULTS.get((config, policy))
        if n is not None:
            # The blocks' refaults, plus fewer than a block's worth of the other pages'.
            lo, hi = n * BELADY_BLOCK, (n + 1) * BELADY_BLOCK
            need(lo <= f["swap_in"] < hi, "%d <= swap_in < %d (%d blocks refaulted)"
                 % (lo, hi, n))
    return bad


def check_output(R, sample, variant, policy, args, mem):
    """Native output under a small pool, and the evictions the sample is made for."""
    opts = ["--mem", mem, "--policy", policy]
    r = same_as_native(R, opts, R.path(sample, variant), args)
    pg = r.report["paging"]
    if pg["evictions"] == 0 or pg["swap_outs"] == 0:
        raise Failure("nothing was swapped out: --mem %s is not below the sample's use" % mem)
    if sample == "survivor" and pg["swap_clean"] == 0:
        # Two pages in three are only read in a round: evicted again, their swap copy is
        # still valid and is not written again.
        raise Failure("survivor: no clean swap-out (swap cache): %s" % pg)
    if sample == "shared_evict":
        # Each pressure phase writes far more pages than the pool holds, so every dirty
        # shared page is evicted, that is written back, once: the 'S' pages (even) before
        # the first phase, the 'T' pages (i % 4 == 1) before the second.
        n = int(args[0])
        want = len(range(0, n, 2)) + len(range(1, n, 4))
        if pg["file_writebacks"] != want:
            raise Failure("shared_evict: %d file pages written back, expected %d"
                          % (pg["file_writebacks"], want))


def count_run(R, config, policy):
    """Two runs of a counted configuration (each configuration and policy runs once per
    script): the first Run, and the second's report."""
    def go():
        sample, args, mem = CONFIGS[config]
        opts = ["--mem", mem, "--policy", policy]
        a = same_as_native(R, opts, R.path(sample), args)
        return a, R.vm(opts, R.path(sample), args).report
    return R.once(("count", config, policy), go)


def check_counts(R, config, policy, show):
    a, b = count_run(R, config, policy)
    if all_counts(a.report) != all_counts(b):
        raise Failure("two identical runs differ:\n  %s\n  %s"
                      % (all_counts(a.report), all_counts(b)))
    got = counts(a.report)
    if show:
        print("    (%r, %r): %r," % (config, policy, got), flush=True)
    bad = relations(config, policy, a.report, CONFIGS[config][1])
    if bad:
        raise Failure("counts %s break: %s" % (dict(zip(COUNT_KEYS, got)), "; ".join(bad)))
    want = EXPECTED.get((config, policy))
    if want is None:
        raise Failure("no EXPECTED entry; measured %r" % (got,))
    if got != want:
        raise Failure("counts %s, expected %s" % (dict(zip(COUNT_KEYS, got)),
                                                  dict(zip(COUNT_KEYS, want))))


def check_belady(R, policy):
    """Major faults of belady with room for 3 and for 4 blocks: more with 4 under fifo
    (Belady's anomaly), not more under lru (a stack algorithm)."""
    small, large = (count_run(R, c, policy)[0].report["processes"][0]["faults"]["major"]
                    for c in ("belady 3 blocks", "belady 4 blocks"))
    mems = (CONFIGS["belady 3 blocks"][2], CONFIGS["belady 4 blocks"][2])
    if policy == "fifo" and not large > small:
        raise Failure("fifo: %d major faults with --mem %s, %d with %s: no anomaly"
                      % (small, mems[0], large, mems[1]))
    if policy == "lru" and large > small:
        raise Failure("lru: %d major faults with --mem %s, %d with %s: lru is a stack "
                      "algorithm, more memory cannot add faults" % (small, mems[0], large,
                                                                   mems[1]))


def check_oom(R, swap, pages):
    opts = ["--mem", "1M", "--swap", swap]
    r = R.vm(opts, R.path("workingset"), (str(pages), "1"))
    no_sanitizer_report(r)
    if r.status != OOM_STATUS:
        raise Failure("status %d, expected %d; stderr: %s" % (r.status, OOM_STATUS, tail(r.err)))
    if "out of memory" not in r.err:
        raise Failure("stderr lacks 'out of memory': %s" % tail(r.err))
    rep = r.report
    if rep["exit_status"] != OOM_STATUS or rep["signal"] != 9:
        raise Failure("report exit_status %r signal %r, expected %d and 9"
                      % (rep["exit_status"], rep["signal"], OOM_STATUS))
    crash = rep["processes"][0]["crash"]
    if not crash or "out of memory" not in crash["cause"]:
        raise Failure("report processes[0].crash %r does not say out of memory" % crash)
    if r.out:
        raise Failure("the killed guest printed %r" % r.out)


def check_swap_file(R):
    path = R.scratch("swapfile")
    sample, args, mem = CONFIGS["workingset thrashes"]
    r = same_as_native(R, ["--mem", mem, "--swap-file", path], R.path(sample), args)
    if not os.path.isfile(path):
        raise Failure("--swap-file %s does not exist after the run" % path)
    if r.report["paging"]["swap_file"] != path:
        raise Failure("report paging.swap_file %r, expected %r"
                      % (r.report["paging"]["swap_file"], path))
    size = os.path.getsize(path)
    if size < r.report["paging"]["peak_swap_pages"] * PAGE:
        raise Failure("swap file of %d bytes, fewer than peak_swap_pages %d"
                      % (size, r.report["paging"]["peak_swap_pages"]))


def check_usage(R, opts):
    r = R.vm(opts, R.path("workingset"), ("1", "1"), report=False)
    lines = r.err.strip("\n").split("\n")
    if r.status != 2 or len(lines) != 1 or not lines[0].startswith("vmemu: "):
        raise Failure("exit %d, stderr %r; expected 2 and one 'vmemu: ' line" % (r.status, r.err))


def build_checks(R, half, show):
    """(name, callable) pairs."""
    checks = []
    for sample, args, half_args, mem in OUTPUT_CASES:
        a = half_args if half else args
        for variant in VARIANTS:
            for policy in POLICIES:
                checks.append(("output %s-%s %s --mem %s --policy %s"
                               % (sample, variant, " ".join(a), mem, policy),
                               lambda s=sample, v=variant, p=policy, a=a, m=mem:
                               check_output(R, s, v, p, a, m)))
    for config in CONFIGS:
        for policy in POLICIES:
            checks.append(("counts %s --policy %s" % (config, policy),
                           lambda c=config, p=policy: check_counts(R, c, p, show)))
    mems = (CONFIGS["belady 3 blocks"][2], CONFIGS["belady 4 blocks"][2])
    checks += [
        ("belady anomaly under fifo (--mem %s vs %s)" % mems, lambda: check_belady(R, "fifo")),
        ("belady no anomaly under lru (--mem %s vs %s)" % mems, lambda: check_belady(R, "lru")),
        ("oom --mem 1M --swap 1M", lambda: check_oom(R, "1M", 2048)),
        ("oom --mem 1M --swap 0", lambda: check_oom(R, "0", 1024)),
        ("--swap-file", lambda: check_swap_file(R)),
        ("usage --policy bogus", lambda: check_usage(R, ["--policy", "bogus"])),
        ("usage --swap xyz", lambda: check_usage(R, ["--swap", "xyz"])),
    ]
    return checks


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vmemu", required=True, help="path of the vmemu executable")
    ap.add_argument("--samples", required=True, help="directory of the built samples")
    ap.add_argument("--jobs", type=int, default=2, help="parallel checks (default 2)")
    ap.add_argument("-k", dest="filter", default="",
                    help="run only the checks whose name contains this")
    ap.add_argument("--show", action="store_true",
                    help="print the measured counts as EXPECTED entries")
    opts = ap.parse_args()

    vmemu = os.path.abspath(opts.vmemu)
    samples = os.path.abspath(opts.samples)
    half = bool(os.environ.get("VMEMU_ASAN")) or is_asan(vmemu)
    tmp = tempfile.mkdtemp(prefix="vmemu-swap-e2e-")
    start = time.monotonic()
    passed = failed = 0
    try:
        R = Runner(vmemu, samples, tmp)
        missing = [R.path(s, v) for s in SAMPLES for v in VARIANTS
                   if not os.access(R.path(s, v), os.X_OK)]
        checks = [(n, c) for n, c in build_checks(R, half, opts.show) if opts.filter in n]
        for m in missing:
            failed += 1
            print("FAIL %s: not built (target samples-all)" % m, flush=True)
        if missing:
            checks = []
        ok, bad = run_checks(checks, opts.jobs)
        passed += ok
        failed += bad
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("(%.1f s%s)" % (time.monotonic() - start, ", half sizes" if half else ""))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
