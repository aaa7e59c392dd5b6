#!/usr/bin/env python3
"""Fault-count fidelity: each access pattern run natively and under vmemu, the kernel's counts beside vmemu's.

Usage: fidelity.py --vmemu PATH --samples BUILD/samples [--dir DIR] [--markdown] [--runs N]

samples/fidelity.c runs one access pattern per case (anonymous memory, file mappings,
fork, exec, malloc churn, madvise, mremap, THP, stack growth) and prints, for each measured
window, the minflt/majflt deltas of getrusage around it; under vmemu the same program
prints vmemu's getrusage. The whole program is also counted: natively by
`perf stat -x, -e page-faults,minor-faults,major-faults` (with its children) where perf
works, under vmemu by the --report JSON (the sum over its processes). A busybox shell
pipeline (/bin/busybox, static) is counted as a whole program only.

Rows compare minflt + majflt: vmemu's page cache starts cold (its first touch of a file
page reads the file, a major fault), where the kernel has the file cached (minor). A row
passes when |vmemu - native| is within the case's stated tolerance (0 where Linux is
deterministic); the native side is run `--runs` times (default 1) and the closest run is
taken. Rows listed in KNOWN are differences pending other branches' work: they are
printed with their reason and do not fail (a known row that matches says so, so that its
entry can be removed). Host settings that change the counts (zero page on anonymous read
faults, THP modes, fault-around size, perf) are probed and printed first; vmemu runs with
--zero-page host and --thp host (the harness would pin them otherwise), so it follows the
host as it does by default.

--markdown prints the table as Markdown (for README.md's "Which counts are exact").
Exit status 1 when a row fails. Python 3 standard library only.
"""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from harness import (read_report, Failure, Once, no_randomize, perf_view, built_variants, e2e_options, execute,  # noqa: E402
                     host_maps_zero_page)

# (case, variants, {row: tolerance}, note). Rows are the program's windows plus "program"
# (the whole run: perf against --report). A tolerance is the largest |vmemu - native| that
# passes, with its reason in the note.
BOTH = ("glibc", "musl")
ALL = ("glibc", "glibc-pie", "musl", "musl-pie")
PROGRAM_TOL = 3  # Linux's whole-program count moves by 1-2 between runs (its page cache,
#                  ASLR of the stack and the heap)
CASES = [
    ("anon_seq", ALL, {"write": 0}, "16 MiB of fresh anonymous memory written in order"),
    ("anon_rand", BOTH, {"write": 0}, "the same pages written in a scattered order"),
    ("anon_read_write", BOTH, {"read": 0, "write": 0},
     "16 MiB read, then written (the zero page decides the write faults)"),
    ("file_read", BOTH, {"read": 0},
     "8 MiB file written with write(), mapped private read-only, read: fault-around"),
    ("shared_write", BOTH, {"read-inc": 0},
     "the same file (written 64 KiB at a time) mapped MAP_SHARED, each page read then "
     "incremented (write-notify)"),
    ("shared_write_big", BOTH, {"read-inc": 0},
     "the same with the file written by one 8 MiB write(): 2 MiB folios, mapped by PMDs"),
    ("shared_write_128k", BOTH, {"read-inc": 0},
     "the same written 128 KiB at a time: 128 KiB folios, each mapped whole but the last"),
    ("private_cow", BOTH, {"read-inc": 0},
     "the same file mapped MAP_PRIVATE, each page read then incremented (COW)"),
    ("private_cow_big", BOTH, {"read-inc": 0},
     "the same with the file written by one 8 MiB write(): PMD reads, a copy per page"),
    ("fork_touch", BOTH, {"child-write": 0, "children-total": 2, "parent-write": 0},
     "1024 pages written, fork, the child writes them, then the parent"),
    ("fork_exec", BOTH, {"children-total": 2}, "fork, the child execs the program (noop)"),
    ("malloc_churn", BOTH, {"churn": 1},
     "6000 malloc/calloc/realloc/free of 16 B to 1 MiB (mmap'd above 128 KiB), every byte "
     "written"),
    ("madv_dontneed", BOTH, {"read-after": 0, "write-after": 0},
     "1024 pages written, MADV_DONTNEED, read, written"),
    ("madv_free", BOTH, {"read-after": 0, "write-after": 0},
     "1024 pages written, MADV_FREE, read, written (no reclaim: the pages stay)"),
    ("mremap", BOTH, {"grow-move-write": 0, "shrink-read": 0},
     "1024 pages written, grown to 2048 by a move, all written; shrunk in place, read"),
    ("thp", BOTH, {"write": 0}, "64 MiB with MADV_HUGEPAGE, every 4 KiB page written"),
    ("stack", BOTH, {"grow": 1}, "4 MiB of stack growth, a page per call"),
]
# Why a row may differ within its tolerance, one line each ("program" rows share one).
WHY = {
    "program": "glibc reads the vDSO's ELF header at start-up, and vmemu maps no vDSO (one "
               "fault); where setarch -R does not work, Linux's count also moves by 1-2 from run "
               "to run (execve puts the stack tables at a random 0-8 KiB offset; ASLR of the "
               "stack and the heap), vmemu's is the same every run",
    ("malloc_churn", "churn"): "a deep call (musl's realloc) reaches one stack page more or "
                               "less: where the initial stack pointer lies in its page",
    ("stack", "grow"): "where the initial stack pointer lies in its page (random natively, "
                       "fixed in vmemu) decides the last page touched",
    ("fork_touch", "children-total"): "the child's own start-up after fork: which stack and "
                                      "text pages its return from fork touches",
    ("fork_exec", "children-total"): "the exec'd child's start-up: glibc reads the vDSO, which "
                                     "vmemu does not map (and without setarch -R, execve's "
                                     "stack tables land at a random 0-8 KiB offset)",
    ("busybox_pipeline", "program"): "the first shell's SIGCHLD handler: Linux's signal frames "
                                     "hold the host CPU's XSAVE area (kilobytes) and touch more "
                                     "stack pages than vmemu's 512-byte frame; the vDSO page",
}
# The pipeline's tolerance: 5% (the bound for shells), at least PROGRAM_TOL.
PIPELINE_TOL_PCT = 5
BUSYBOX = "/bin/busybox"
PIPELINE = "echo one two three | %s tr a-z A-Z | %s wc -c" % (BUSYBOX, BUSYBOX)

# Differences pending other work, (case, row) -> reason; "*" matches every row. The
# integrator empties this table as the branches land.
KNOWN = {
}


def known(case, row):
    return KNOWN.get((case, row)) or KNOWN.get((case, "*"))


def read(path, default="unreadable"):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def chosen(text):
    m = re.search(r"\[(\w[\w+]*)\]", text)
    return m.group(1) if m else text


def perf_works():
    """Whether perf stat can count this user's page faults (perf_event_paranoid <= 2 and
    a perf that runs)."""
    try:
        p = subprocess.run(["perf", "stat", "-x,", "-e", "page-faults", "--", "true"],
                           capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return p.returncode == 0 and re.search(rb"^\d+,", p.stderr, re.M) is not None


def host_settings(perf):
    """The host settings that change fault counts, as (name, value) lines."""
    thp = "/sys/kernel/mm/transparent_hugepage"
    mthp = []
    if os.path.isdir(thp):
        for d in sorted(os.listdir(thp)):
            m = re.match(r"hugepages-(\d+)kB$", d)
            if m and int(m.group(1)) < 2048:
                v = chosen(read(os.path.join(thp, d, "enabled"), "never"))
                if v != "never":
                    mthp.append("%skB:%s" % (m.group(1), v))
    fab = read("/sys/kernel/debug/fault_around_bytes", None)
    return [
        ("kernel", os.uname().release),
        ("zero page on anonymous read faults", "yes" if host_maps_zero_page() else "no"),
        ("THP enabled", chosen(read(thp + "/enabled"))),
        ("THP defrag", chosen(read(thp + "/defrag"))),
        ("THP use_zero_page", read(thp + "/use_zero_page")),
        ("anonymous mTHP sizes not never", ", ".join(mthp) or "none"),
        ("fault-around", ("%s bytes" % fab) if fab else
         "65536 bytes (Linux's default; /sys/kernel/debug is unreadable)"),
        ("native runs", "without address randomisation (setarch -R), as vmemu lays memory out"
         if NO_ASLR else "with address randomisation (setarch -R does not work here)"),
        ("perf stat", "works" if perf else "unavailable: whole-program rows skipped"),
        ("busybox", BUSYBOX if os.access(BUSYBOX, os.X_OK) and perf else
         "absent or no perf: the pipeline is skipped"),
    ]


WINDOW = re.compile(r"^(\S+) minflt (\d+) majflt (\d+)$", re.M)


def windows(out):
    return {m.group(1): int(m.group(2)) + int(m.group(3)) for m in WINDOW.finditer(out)}


NO_ASLR = no_randomize() or []


def native_run(cmd, perf):
    """(stdout, whole-program faults or None, whether perf counted kernel-mode faults) of
    cmd run natively (under perf stat)."""
    if not perf:
        r = execute(NO_ASLR + cmd)
        if r.status != 0:
            raise Failure("natively: status %d: %s" % (r.status, r.err.strip()[-300:]))
        return r.out, None, False
    fd, path = tempfile.mkstemp(prefix="fidelity-perf-")
    os.close(fd)
    try:
        r = execute(NO_ASLR + ["perf", "stat", "-x,", "-o", path, "-e",
                               "page-faults,minor-faults,major-faults", "--"] + cmd)
        if r.status != 0:
            raise Failure("natively: status %d: %s" % (r.status, r.err.strip()[-300:]))
        counts = {}
        kernel = True
        with open(path) as f:
            for line in f:
                parts = line.strip().split(",")
                if len(parts) > 2 and parts[0].isdigit():
                    counts[parts[2].split(":")[0]] = int(parts[0])
                    kernel = kernel and not parts[2].endswith(":u")
    finally:
        os.unlink(path)
    if "minor-faults" not in counts or "major-faults" not in counts:
        raise Failure("perf stat printed no fault counts")
    return r.out, counts["minor-faults"] + counts["major-faults"], kernel


def vmemu_run(vmemu, cmd):
    """(stdout, a function of perf's kernel flag giving the whole-program faults as perf
    would count them: see harness.perf_view) of cmd under vmemu, following the host's zero
    page and THP mode."""
    fd, path = tempfile.mkstemp(prefix="fidelity-report-", suffix=".json")
    os.close(fd)
    try:
        r = execute([vmemu, "--zero-page", "host", "--thp", "host", "--report", path, "--"] +
                    cmd)
        if r.status != 0:
            raise Failure("under vmemu: status %d: %s" % (r.status, r.err.strip()[-300:]))
        with open(path) as f:
            rep = read_report(f)
    finally:
        os.unlink(path)
    faults = [p["faults"] for p in rep["processes"]]
    return r.out, lambda kernel: sum(perf_view(f, kernel) for f in faults)


def strip_counts(out):
    return WINDOW.sub("", out)


class Row:
    """One comparison: case, variant, row name, native, vmemu, tolerance."""

    def __init__(self, case, variant, name, native, vm, tol):
        self.case, self.variant, self.name = case, variant, name
        self.native, self.vm, self.tol = native, vm, tol
        self.reason = known(case, name)

    def diff(self):
        return self.vm - self.native

    def verdict(self):
        d = abs(self.diff())
        if d == 0:
            return "exact" if not self.reason else "exact (known entry can go)"
        if d <= self.tol:
            return "within %d" % self.tol if not self.reason else \
                "within %d (known entry can go)" % self.tol
        return "KNOWN" if self.reason else "FAIL"

    def failed(self):
        return self.verdict() == "FAIL"


def run_case(o, perf, case, variant, binary, tols):
    """The rows of one case and variant."""
    with tempfile.TemporaryDirectory(prefix="fidelity-", dir=o.dir) as d:
        return compare_case(o, perf, case, variant, [binary, case, d], tols)


def compare_case(o, perf, case, variant, cmd, tols):
    """run_case's work, cmd writing its file in a directory of its own (runs in parallel
    under vmemu have the same pid)."""
    vm_out, vm_total = vmemu_run(o.vmemu, cmd)
    vm_win = windows(vm_out)
    best = None
    for _ in range(o.runs):
        out, total, kernel = native_run(cmd, perf)
        if strip_counts(out) != strip_counts(vm_out):
            raise Failure("%s %s: output differs:\nnative: %r\nvmemu:  %r" % (
                case, variant, out, vm_out))
        win = windows(out)
        score = sum(abs(vm_win.get(k, 0) - v) for k, v in win.items())
        if total is not None:
            score += abs(vm_total(kernel) - total)
        if best is None or score < best[0]:
            best = (score, win, total, kernel)
    _, nat_win, nat_total, kernel = best
    rows = []
    for name, tol in tols.items():
        if name not in nat_win or name not in vm_win:
            raise Failure("%s %s: no %r line (native %r, vmemu %r)" % (
                case, variant, name, nat_win, vm_win))
        rows.append(Row(case, variant, name, nat_win[name], vm_win[name], tol))
    if nat_total is not None:
        rows.append(Row(case, variant, "program", nat_total, vm_total(kernel), PROGRAM_TOL))
    return rows


def run_busybox(o, perf):
    """The pipeline's whole-program row (perf counts the shell and its children)."""
    if not perf or not os.access(BUSYBOX, os.X_OK):
        return []
    cmd = [BUSYBOX, "sh", "-c", PIPELINE]
    vm_out, vm_total = vmemu_run(o.vmemu, cmd)
    best = None
    for _ in range(o.runs):
        out, total, kernel = native_run(cmd, perf)
        if out != vm_out:
            raise Failure("busybox pipeline: native %r, vmemu %r" % (out, vm_out))
        if best is None or abs(vm_total(kernel) - total) < abs(vm_total(best[1]) - best[0]):
            best = (total, kernel)
    tol = max(PROGRAM_TOL, best[0] * PIPELINE_TOL_PCT // 100)
    return [Row("busybox_pipeline", "static", "program", best[0], vm_total(best[1]), tol)]


def print_text(settings, rows, errors):
    for k, v in settings:
        print("# %s: %s" % (k, v))
    print("# rows: minflt+majflt; 'program' = perf stat (native, with children) against "
          "vmemu's --report (all processes)")
    fmt = "%-16s %-9s %-15s %8s %8s %7s  %s"
    print(fmt % ("case", "variant", "row", "native", "vmemu", "diff", "verdict"))
    for r in rows:
        print(fmt % (r.case, r.variant, r.name, r.native, r.vm, "%+d" % r.diff(), r.verdict()))
    if KNOWN:
        print("\nKnown differences pending other work (not failures):")
    for (case, row), why in KNOWN.items():
        print("  %s / %s: %s" % (case, row, why))
    for e in errors:
        print("ERROR " + e)


def print_markdown(settings, rows, errors):
    print("Host: " + "; ".join("%s: %s" % kv for kv in settings) + ".\n")
    print("| case | variant | row | Linux | vmemu | diff | verdict |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print("| `%s` | %s | %s | %d | %d | %+d | %s |" % (
            r.case, r.variant, r.name, r.native, r.vm, r.diff(), r.verdict()))
    if KNOWN:
        print("\nKnown differences pending other work:\n")
        print("| case | row | reason |")
        print("|---|---|---|")
    for (case, row), why in KNOWN.items():
        print("| `%s` | %s | %s |" % (case, row, why))
    print("\nEvery other difference, explained:\n")
    groups = {}
    for r in rows:
        if r.diff() and not r.reason:
            key = (r.case, r.name)
            if key not in WHY and r.name == "program":
                key = "program"
            groups.setdefault(key, []).append(r)
    for key, rs in groups.items():
        what = ", ".join("`%s` %s %+d" % (r.case, r.variant, r.diff()) for r in rs)
        print("- %s (%s): %s." % ("whole program" if key == "program" else
                                  "`%s` %s" % key, what, WHY.get(key, "not explained")))
    for e in errors:
        print("\nERROR " + e)


def main():
    def more(ap):
        ap.add_argument("--dir", default=tempfile.gettempdir(),
                        help="where the file cases write their 8 MiB file")
        ap.add_argument("--markdown", action="store_true")
        ap.add_argument("--runs", type=int, default=1,
                        help="native runs per case (the closest is compared)")
        ap.add_argument("--only", help="run only the cases whose name contains this")
    o = e2e_options(__doc__, more)
    perf = perf_works()
    settings = host_settings(perf)
    jobs = []
    for case, variants, tols, _ in CASES:
        if o.only and o.only not in case:
            continue
        for v, binary in built_variants(o.samples, "fidelity"):
            if v in variants:
                jobs.append((case, v, binary, tols))
    if not jobs and not (o.only and o.only in "busybox_pipeline"):
        print("FAIL no fidelity sample built in %s" % o.samples)
        return 1
    import concurrent.futures
    results, errors = [], []
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futs = [pool.submit(run_case, o, perf, *j) for j in jobs]
        if not o.only or o.only in "busybox_pipeline":
            futs.append(pool.submit(run_busybox, o, perf))
        for f in futs:
            try:
                results += f.result()
            except Failure as e:
                errors.append(str(e))
    (print_markdown if o.markdown else print_text)(settings, results, errors)
    failed = [r for r in results if r.failed()]
    print("\n%d rows: %d exact, %d within tolerance, %d known, %d failed, %d errors" % (
        len(results), sum(r.verdict().startswith("exact") for r in results),
        sum(r.verdict().startswith("within") for r in results),
        sum(r.verdict() == "KNOWN" for r in results), len(failed), len(errors)))
    return 1 if failed or errors else 0


if __name__ == "__main__":
    sys.exit(main())
