#!/usr/bin/env python3
"""End-to-end suite: the guest samples run natively and under vmemu.

Usage: e2e.py --vmemu PATH --samples BUILD/samples [-k SUBSTRING] [--jobs N]

For every sample and every variant that was built (glibc, musl, glibc-pie, musl-pie):
  - stdout and exit status under vmemu equal the native run's;
  - the --report JSON has the schema of notes/cli.md, and its fault classes add up;
  - a second run gives identical fault counts and identical TLB invalidation and flush
    counts (determinism). TLB hits, misses and fills are left out: they follow Unicorn's
    own TLB, which QEMU's cputlb.c resizes at flush time using a 100 ms wall-clock window
    (tlb_mmu_resize_locked), so they may differ by a few between identical runs.
Exact counts, derived from what the programs do (never copied from vmemu's output):
  - `faults N` prints N minor faults (getrusage sees vmemu's counters);
  - `faults 2000` has exactly 1000 more anon (and minor) faults than `faults 1000`;
  - `bss write 1000` has exactly 1000 more anon and minor faults than `bss write 0000`;
  - `bss sparse 4096` reads 4096 untouched pages: 4096 more zero-page and minor faults and
    no more anon faults than `bss sparse 0000`;
  - `bss full` writes all 262144 pages: 262144 more anon and minor faults than `bss none`.
  Compared runs have arguments of equal length (a longer argv shifts the initial stack,
  which can move the program's deepest stack access into one more page), and bss.c
  pre-faults 64 KiB of stack so that printf's value-dependent depth cannot either.
Crash samples exit 139 (as natively), name the cause on stderr and in the JSON "crash"
object, with SEGV_MAPERR (NULL, wild, stack guard, use after munmap) or SEGV_ACCERR
(rodata write, exec of data); a fault in the program image names its file and ELF section
(.rodata, .data) for PIE and non-PIE, glibc and musl; a use after munmap names the munmap,
its RIP's symbol and its syscall number, which must be the munmap line's position in the
--trace output of the same run. Every report has the VMA table at exit ("vmas": sorted,
one stack area ending at the stack top, resident pages adding up to rss_pages) and the
peak virtual size; the crash report on stderr ends with the same table, and --maps prints
it at exit with the numbers of the --report of the same run.
Then the command line: exit statuses 127/126/2, --trace, --stats, --tlb, --mem.

Each check prints "PASS name" or "FAIL name: reason"; the last line is "N passed, M
failed"; the exit status is 1 when a check failed. Python 3 standard library only.
"""

import argparse
import concurrent.futures
import os
import re
import shlex
import shutil
import sys
import tempfile
import time

VARIANTS = ("glibc", "musl", "glibc-pie", "musl-pie")
PAGE = 4096
BSS_PAGES = (1 << 30) // PAGE  # pages of bss.c's array
BSS_SPARSE_READS = BSS_PAGES // 64  # bss.c reads one byte every 64 pages
TIMEOUT = 300  # seconds for one run (the sanitizer build of vmemu is slow)

# Sample runs compared with the native run: (sample, args).
CASES = (
    ("hello", ("a", "b c")),
    ("malloc", ()),
    ("mmap", ()),
    ("faults", ("1000",)),
    ("faults", ("2000",)),
    ("badptr", ()),
    ("compute", ("1",)),
    ("jit", ()),
    ("bss", ("sparse", "4096")),
    ("bss", ("sparse", "0000")),
    ("bss", ("write", "0000")),
    ("bss", ("write", "1000")),
)

# Crash samples: cause pattern on stderr / in crash.cause, si_code, access, where the
# faulting instruction is, and whether the address lies inside a mapping.
CRASHES = {
    "nullderef": dict(cause=r"NULL pointer", code="SEGV_MAPERR", access="write",
                      symbol="main", in_vma=False, address=0),
    "wild": dict(cause=r"not mapped", code="SEGV_MAPERR", access="read",
                 symbol="main", in_vma=False, address=0x7E0000000000),
    "recursion": dict(cause=r"stack", code="SEGV_MAPERR", access="write",
                      symbol="recurse", in_vma=False, address=None),
    "rodata": dict(cause=r"read-only", code="SEGV_ACCERR", access="write",
                   symbol="main", in_vma=True, address=None),
    "exec_nx": dict(cause=r"non-executable|not executable", code="SEGV_ACCERR",
                    access="exec", symbol=None, in_vma=True, address=None, section=".data"),
    "uaf_munmap": dict(cause=r"not mapped", code="SEGV_MAPERR", access="read",
                       symbol="main", in_vma=False, address=0x7E0000000010),
}
CRASHES["rodata"]["section"] = ".rodata"
UAF_START, UAF_LEN = 0x7E0000000000, 8192  # what uaf_munmap.c maps and unmaps

FAULT_KEYS = ("minor", "major", "zero_page", "anon", "file_minor", "file_major", "cow",
              "cow_reuse", "shared_write", "segv", "sigbus", "stack_grow", "populate")
MINOR_KINDS = ("zero_page", "anon", "file_minor", "cow", "cow_reuse", "shared_write")
TLB_KEYS = ("hits", "misses", "fills", "invalidations", "flushes", "unicorn_flushes")
TLB_DETERMINISTIC = ("flushes", "unicorn_flushes")  # see the docstring
PROC_INT_KEYS = ("pid", "ppid", "exit_status", "peak_rss_pages", "rss_pages",
                 "page_table_pages", "peak_page_table_pages", "peak_vm_pages", "syscalls")
CRASH_KEYS = ("signal", "code", "address", "access", "cause", "rip", "symbol",
              "instruction", "vma", "section", "file", "unmapped_by")
VMA_KEYS = {"start": str, "end": str, "perms": str, "kind": str, "file": (str, type(None)),
            "resident": int, "dirty": int, "swapped": int}
VMA_KINDS = ("anon", "file", "image", "bss", "heap", "stack", "checker")
# One line of the VMA table (--maps, crash report): start-end perms offset kind resident
# dirty swapped [name]
MAPS_ROW = re.compile(r"^ *([0-9a-f]{12})-([0-9a-f]{12}) ([r-][w-][x-][ps]) ([0-9a-f]{8}) "
                      r"(\w+) +(\d+) +(\d+) +(\d+)(?: (.*))?$")
MAPS_TOTAL = re.compile(r"^ *total: (\d+) areas?, (\d+) pages mapped \(peak (\d+) pages, "
                        r"(\d+) KiB\), (\d+) resident, (\d+) dirty, (\d+) swapped, (\d+) "
                        r"page-table pages$")


class Run:
    """The outcome of one process: exit status (128+N for signal N), output, report."""

    def __init__(self, status, out, err, report=None):
        self.status = status
        self.out = out
        self.err = err
        self.report = report

    def proc(self):
        """The first process of the report."""
        procs = self.report.get("processes") if isinstance(self.report, dict) else None
        if not procs:
            raise Failure("report has no processes")
        return procs[0]


# The runner, its sanitizer-quiet environment and the failure type are tests/harness.py's.
import harness  # noqa: E402
from harness import Failure, Once  # noqa: E402


def execute(cmd, timeout=TIMEOUT):
    r = harness.execute(cmd, timeout)
    return Run(r.status, r.out, r.err)


class Runner(Once):
    """Runs programs natively and under vmemu; each distinct run happens once."""

    def __init__(self, vmemu, samples):
        super().__init__()
        self.vmemu = vmemu
        self.samples = samples

    def path(self, name):
        return os.path.join(self.samples, name)

    def native(self, prog, args=(), timeout=TIMEOUT):
        return self.once(("native", prog, tuple(args)),
                          lambda: execute([prog] + list(args), timeout))

    def vm(self, prog, args=(), opts=(), rep=0, timeout=TIMEOUT, report=True):
        """vmemu [opts] --report F prog args; rep tells repeated runs apart."""
        def go():
            with tempfile.TemporaryDirectory(prefix="vmemu-e2e-") as d:
                rfile = os.path.join(d, "report.json")
                cmd = [self.vmemu] + list(opts)
                if report:
                    cmd += ["--report", rfile]
                r = execute(cmd + [prog] + list(args), timeout)
                if report:
                    try:
                        with open(rfile) as f:
                            r.report = harness.read_report(f)
                    except (OSError, ValueError) as e:
                        r.report = e
            return r
        return self.once(("vm", prog, tuple(args), tuple(opts), rep, report), go)


def need_report(r):
    if not isinstance(r.report, dict):
        raise Failure("no usable --report (%s); stderr: %s" % (r.report, tail(r.err)))
    return r.report


def tail(text, n=300):
    text = text.strip()
    return (text if len(text) <= n else "..." + text[-n:]).replace("\n", " | ")


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_schema(rep, prog, args, status, signal):
    """The --report keys and types of notes/cli.md, and fault classes that add up."""
    top = {"vmemu_version": str, "program": str, "argv": list, "exit_status": int,
           "mem_bytes": int, "tlb": dict, "frames": dict, "processes": list}
    for k, t in top.items():
        if not isinstance(rep.get(k), t) or (t is int and not is_int(rep[k])):
            raise Failure("report: %r missing or not %s" % (k, t.__name__))
    if "signal" not in rep:
        raise Failure("report: 'signal' missing")
    if rep["program"] != prog:
        raise Failure("report: program %r, expected %r" % (rep["program"], prog))
    if rep["argv"] != [prog] + list(args):
        raise Failure("report: argv %r, expected %r" % (rep["argv"], [prog] + list(args)))
    if rep["exit_status"] != status or rep["signal"] != signal:
        raise Failure("report: exit_status %r signal %r, expected %r %r"
                      % (rep["exit_status"], rep["signal"], status, signal))
    for k in ("entries", "ways"):
        if not is_int(rep["tlb"].get(k)):
            raise Failure("report: tlb.%s missing" % k)
    for k in ("total", "peak_used", "page_cache_pages"):
        if not is_int(rep["frames"].get(k)):
            raise Failure("report: frames.%s missing" % k)
    if not rep["processes"]:
        raise Failure("report: no processes")
    p = rep["processes"][0]
    for k in PROC_INT_KEYS:
        if not is_int(p.get(k)):
            raise Failure("report: processes[0].%s missing or not an integer" % k)
    if p["pid"] != 1000 or p["ppid"] != 1:
        raise Failure("report: pid %r ppid %r, expected 1000 1" % (p["pid"], p["ppid"]))
    if not isinstance(p.get("command"), str) or "signal" not in p or "crash" not in p:
        raise Failure("report: processes[0] lacks command/signal/crash")
    if p["exit_status"] != status or p["signal"] != signal:
        raise Failure("report: process exit_status %r signal %r, expected %r %r"
                      % (p["exit_status"], p["signal"], status, signal))
    for group, keys in (("faults", FAULT_KEYS), ("tlb", TLB_KEYS)):
        d = p.get(group)
        if not isinstance(d, dict):
            raise Failure("report: processes[0].%s missing" % group)
        for k in keys:
            if not is_int(d.get(k)) or d[k] < 0:
                raise Failure("report: processes[0].%s.%s missing" % (group, k))
    f = p["faults"]
    # Every minor fault is exactly one of the minor kinds of struct fault_stats (mm.h);
    # with no swap, every major fault is a file read.
    kinds = sum(f[k] for k in MINOR_KINDS)
    if f["minor"] != kinds:
        raise Failure("report: minor %d != zero_page+anon+file_minor+cow+cow_reuse+shared_write %d"
                      % (f["minor"], kinds))
    if f["major"] != f["file_major"]:
        raise Failure("report: major %d != file_major %d" % (f["major"], f["file_major"]))
    check_vmas(p)
    if signal is None and p["crash"] is not None:
        raise Failure("report: crash object on a normal exit")
    if signal is not None:
        c = p["crash"]
        if not isinstance(c, dict):
            raise Failure("report: crash missing for signal %r" % signal)
        for k in CRASH_KEYS:
            if k not in c:
                raise Failure("report: crash.%s missing" % k)


def check_vmas(p):
    """processes[0].vmas: the areas at exit, sorted and disjoint, with page counts that
    fit their sizes and add up to rss_pages; one stack area ending at the stack top;
    peak_vsize_bytes is peak_vm_pages pages, at least the size of the areas."""
    vmas = p.get("vmas")
    if not isinstance(vmas, list) or not vmas:
        raise Failure("report: processes[0].vmas missing or empty")
    if not is_int(p.get("peak_vsize_bytes")):
        raise Failure("report: processes[0].peak_vsize_bytes missing")
    if p["peak_vsize_bytes"] != p["peak_vm_pages"] * PAGE:
        raise Failure("report: peak_vsize_bytes %d != peak_vm_pages %d * %d"
                      % (p["peak_vsize_bytes"], p["peak_vm_pages"], PAGE))
    prev_end, pages, resident = 0, 0, 0
    for v in vmas:
        if not isinstance(v, dict) or set(v) != set(VMA_KEYS):
            raise Failure("report: vma %r lacks the keys %s" % (v, sorted(VMA_KEYS)))
        for k, t in VMA_KEYS.items():
            if not isinstance(v[k], t) or isinstance(v[k], bool):
                raise Failure("report: vma %s: %r is not %s" % (k, v[k], t))
        start, end = int(v["start"], 16), int(v["end"], 16)
        if start % PAGE or end % PAGE or start >= end or start < prev_end:
            raise Failure("report: vma %s-%s unaligned, empty or out of order"
                          % (v["start"], v["end"]))
        if not re.fullmatch(r"[r-][w-][x-][ps]", v["perms"]) or v["kind"] not in VMA_KINDS:
            raise Failure("report: vma perms %r kind %r" % (v["perms"], v["kind"]))
        n = (end - start) // PAGE
        if not 0 <= v["dirty"] <= v["resident"] <= n or v["swapped"] != 0:
            raise Failure("report: vma %s-%s: %d pages, resident %d, dirty %d, swapped %d "
                          "(no swap yet)" % (v["start"], v["end"], n, v["resident"],
                                             v["dirty"], v["swapped"]))
        prev_end, pages, resident = end, pages + n, resident + v["resident"]
    stacks = [v for v in vmas if v["kind"] == "stack"]
    bounds = stack_bounds()
    if len(stacks) != 1 or (bounds and int(stacks[0]["end"], 16) != bounds[0]):
        raise Failure("report: stack areas %r, expected one ending at the stack top" % stacks)
    if stacks[0]["perms"] != "rw-p" or stacks[0]["file"] is not None:
        raise Failure("report: stack area %r" % stacks[0])
    if pages > p["peak_vm_pages"]:
        raise Failure("report: the areas hold %d pages, more than peak_vm_pages %d"
                      % (pages, p["peak_vm_pages"]))
    if resident != p["rss_pages"]:
        raise Failure("report: resident pages of the areas add up to %d, rss_pages is %d"
                      % (resident, p["rss_pages"]))


def compare(native, vm, what=""):
    if vm.status != native.status:
        raise Failure("%sexit status %d under vmemu, %d natively; stderr: %s"
                      % (what, vm.status, native.status, tail(vm.err)))
    if vm.out != native.out:
        raise Failure("%sstdout differs: vmemu %r, native %r"
                      % (what, vm.out[-200:], native.out[-200:]))


def same_counts(a, b):
    """Fault counts and TLB invalidation/flush counts of two runs must be identical."""
    pa, pb = a.proc(), b.proc()
    for group, keys in (("faults", FAULT_KEYS), ("tlb", TLB_DETERMINISTIC)):
        diff = {k: (pa[group].get(k), pb[group].get(k)) for k in keys
                if pa[group].get(k) != pb[group].get(k)}
        if diff:
            raise Failure("%s differ between two runs: %s" % (group, diff))


def delta(a, b, key):
    return b.proc()["faults"][key] - a.proc()["faults"][key]


def expect_delta(a, b, key, want, label):
    got = delta(a, b, key)
    if got != want:
        raise Failure("%s: %s delta %d, expected %d (faults %s -> %s)"
                      % (label, key, got, want, a.proc()["faults"], b.proc()["faults"]))


# ---------------------------------------------------------------------------------------
# Tasks: each returns a list of (name, reason or None).

def task_case(R, binary, args):
    """Native vs vmemu, schema, determinism for one sample run."""
    name = shlex.join([os.path.basename(binary)] + list(args))
    results = []

    def step(label, fn):
        try:
            fn()
            results.append(("%s: %s" % (name, label), None))
            return True
        except Failure as e:
            results.append(("%s: %s" % (name, label), str(e)))
            return False

    def output():
        n, v = R.native(binary, args), R.vm(binary, args)
        if n.status != 0:
            raise Failure("native run failed with %d: %s" % (n.status, tail(n.err)))
        compare(n, v)

    def schema():
        v = R.vm(binary, args)
        check_schema(need_report(v), binary, args, v.status, None)

    def determinism():
        a, b = R.vm(binary, args), R.vm(binary, args, rep=1)
        need_report(a), need_report(b)
        same_counts(a, b)

    if step("same output and status", output):
        step("report schema", schema)
        step("deterministic counts", determinism)
    return results


def task_faults_prints_n(R, variant):
    b = R.path("faults-" + variant)
    want = "minflt delta: 1000\n"
    n, v = R.native(b, ("1000",)), R.vm(b, ("1000",))
    if want not in n.out:
        raise Failure("native run printed %r (host not counting as Linux does?)" % n.out)
    if want not in v.out:
        raise Failure("vmemu run printed %r, expected %r" % (v.out, want))


def task_faults_delta(R, variant):
    b = R.path("faults-" + variant)
    a, c = R.vm(b, ("1000",)), R.vm(b, ("2000",))
    need_report(a), need_report(c)
    for key in ("anon", "minor"):
        expect_delta(a, c, key, 1000, "faults 2000 vs 1000")


def task_bss_write(R, variant):
    b = R.path("bss-" + variant)
    a, c = R.vm(b, ("write", "0000")), R.vm(b, ("write", "1000"))
    need_report(a), need_report(c)
    for key, want in (("anon", 1000), ("minor", 1000), ("zero_page", 0)):
        expect_delta(a, c, key, want, "bss write 1000 vs write 0000")


def task_bss_sparse(R, variant):
    b = R.path("bss-" + variant)
    a, c = R.vm(b, ("sparse", "0000")), R.vm(b, ("sparse", "%d" % BSS_SPARSE_READS))
    need_report(a), need_report(c)
    for key, want in (("zero_page", BSS_SPARSE_READS), ("minor", BSS_SPARSE_READS),
                      ("anon", 0)):
        expect_delta(a, c, key, want, "bss sparse %d vs sparse 0000" % BSS_SPARSE_READS)


def task_bss_full(R):
    b = R.path("bss-glibc")
    n = R.native(b, ("full",), timeout=600)
    v = R.vm(b, ("full",), timeout=900)
    compare(n, v)
    a = R.vm(b, ("none",))
    compare(R.native(b, ("none",)), a)
    need_report(a), need_report(v)
    for key in ("anon", "minor"):
        expect_delta(a, v, key, BSS_PAGES, "bss full vs none")


def stack_bounds():
    """MM_STACK_TOP and MM_STACK_LIMIT from include/vmemu/mm.h, or None."""
    hdr = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "include",
                       "vmemu", "mm.h")
    try:
        text = open(hdr).read()
        top = int(re.search(r"#define\s+MM_STACK_TOP\s+(0x[0-9a-fA-F]+)", text).group(1), 16)
        m = re.search(r"#define\s+MM_STACK_LIMIT\s+\((\d+)ULL\s*<<\s*(\d+)\)", text)
        return top, int(m.group(1)) << int(m.group(2))
    except (OSError, AttributeError):
        return None


def task_crash(R, sample, variant):
    exp = CRASHES[sample]
    b = R.path("%s-%s" % (sample, variant))
    n, v = R.native(b), R.vm(b)
    if n.status != 139:
        raise Failure("native run exited %d, expected 139" % n.status)
    compare(n, v)
    if not re.search(exp["cause"], v.err, re.I):
        raise Failure("stderr lacks /%s/: %s" % (exp["cause"], tail(v.err, 600)))
    rep = need_report(v)
    check_schema(rep, b, (), 139, 11)
    p = v.proc()
    c = p["crash"]
    if c["signal"] != 11 or c["code"] != exp["code"]:
        raise Failure("crash signal %r code %r, expected 11 %s"
                      % (c["signal"], c["code"], exp["code"]))
    if not re.search(exp["cause"], str(c["cause"]), re.I):
        raise Failure("crash.cause %r lacks /%s/" % (c["cause"], exp["cause"]))
    if c["access"] != exp["access"]:
        raise Failure("crash.access %r, expected %r" % (c["access"], exp["access"]))
    if (c["vma"] is not None) != exp["in_vma"]:
        raise Failure("crash.vma %r: the address should %sbe in a mapping"
                      % (c["vma"], "" if exp["in_vma"] else "not "))
    addr = int(str(c["address"]), 16)
    if exp["address"] is not None and addr != exp["address"]:
        raise Failure("crash.address %s, expected %#x" % (c["address"], exp["address"]))
    if exp["symbol"] and not str(c["symbol"]).startswith(exp["symbol"]):
        raise Failure("crash.symbol %r, expected %s+..." % (c["symbol"], exp["symbol"]))
    exe = os.path.realpath(b)
    if exp.get("section"):
        # In the program image: the file and ELF section of the address, on stderr too.
        if c["section"] != exp["section"] or c["file"] != exe:
            raise Failure("crash.section %r file %r, expected %r %r"
                          % (c["section"], c["file"], exp["section"], exe))
        if "in %s of %s\n" % (exp["section"], exe) not in v.err:
            raise Failure("stderr lacks 'in %s of %s': %s" % (exp["section"], exe,
                                                               tail(v.err, 600)))
    elif c["vma"] is None and c["section"] is not None:
        raise Failure("crash.section %r for an address in no mapping" % c["section"])
    if (c["unmapped_by"] is not None) != (sample == "uaf_munmap"):
        raise Failure("crash.unmapped_by %r" % (c["unmapped_by"],))
    check_crash_maps(v.err, p)
    if p["faults"]["segv"] != 1:
        raise Failure("faults.segv %d, expected 1" % p["faults"]["segv"])
    if sample == "exec_nx" and int(str(c["rip"]), 16) != addr:
        raise Failure("crash.rip %s != address %s for a fetch fault" % (c["rip"], c["address"]))
    if sample == "recursion":
        if p["faults"]["stack_grow"] < 1:
            raise Failure("faults.stack_grow is 0 after a stack overflow")
        bounds = stack_bounds()
        if bounds:
            # The first access below top - RLIMIT_STACK is the one refused; one frame of
            # recurse() is ~300 bytes, so it lies within a page under the limit.
            low = bounds[0] - bounds[1]
            if not low - PAGE <= addr < low:
                raise Failure("crash.address %#x not within a page below the stack limit "
                              "%#x" % (addr, low))
    w = R.vm(b, rep=1)
    need_report(w)
    same_counts(v, w)


def maps_rows(text):
    """The VMA table rows and the totals line found in text, as regex matches."""
    rows = [m for m in map(MAPS_ROW.match, text.split("\n")) if m]
    totals = [m for m in map(MAPS_TOTAL.match, text.split("\n")) if m]
    return rows, totals


def same_table(rows, totals, p, what):
    """The table's rows and totals say what the report's vmas and counters say."""
    vmas = p["vmas"]
    if len(rows) != len(vmas) or len(totals) != 1:
        raise Failure("%s: %d rows and %d totals lines for %d areas"
                      % (what, len(rows), len(totals), len(vmas)))
    for m, v in zip(rows, vmas):
        got = (int(m.group(1), 16), int(m.group(2), 16), m.group(3), m.group(5),
               int(m.group(6)), int(m.group(7)), int(m.group(8)))
        want = (int(v["start"], 16), int(v["end"], 16), v["perms"], v["kind"], v["resident"],
                v["dirty"], v["swapped"])
        if got != want:
            raise Failure("%s: row %r, report says %r" % (what, m.group(0), want))
    t = totals[0]
    pages = sum((int(v["end"], 16) - int(v["start"], 16)) // PAGE for v in vmas)
    want = (len(vmas), pages, p["peak_vm_pages"], p["peak_vm_pages"] * PAGE // 1024,
            p["rss_pages"], sum(v["dirty"] for v in vmas), 0, p["page_table_pages"])
    if tuple(int(x) for x in t.groups()) != want:
        raise Failure("%s: %r, report says %r" % (what, t.group(0), want))


def check_crash_maps(err, p):
    """The crash report ends with the VMA table of the address space at the crash, which
    is the one at exit."""
    at = err.find("\n  maps:\n")
    if at < 0:
        raise Failure("crash report lacks the '  maps:' table: %s" % tail(err, 600))
    rows, totals = maps_rows(err[at:])
    same_table(rows, totals, p, "crash report table")


def task_uaf_munmap(R, variant):
    """The use after munmap names the munmap: its arguments, the symbol of its RIP (libc's
    munmap wrapper) and its syscall number, which is the munmap line's position among the
    --trace lines of the same run."""
    b = R.path("uaf_munmap-" + variant)
    if not os.path.exists(b):
        raise Failure("%s was not built (samples/CMakeLists.txt VMEMU_SAMPLES)" % b)
    r = R.vm(b, opts=("--trace",))
    if r.status != 139:
        raise Failure("status %d, expected 139; stderr: %s" % (r.status, tail(r.err)))
    trace = [line for line in r.err.split("\n") if line.startswith("[1000] ")]
    calls = [i for i, line in enumerate(trace, 1)
             if line.startswith("[1000] munmap(%#x, %d) = 0" % (UAF_START, UAF_LEN))]
    if len(calls) != 1:
        raise Failure("--trace shows %d munmap(%#x, %d) lines" % (len(calls), UAF_START,
                                                                   UAF_LEN))
    u = need_report(r)["processes"][0]["crash"]["unmapped_by"]
    want = {"syscall": "munmap", "sysno": 11, "seq": calls[0], "start": "%#x" % UAF_START,
            "end": "%#x" % (UAF_START + UAF_LEN)}
    if not isinstance(u, dict) or {k: u.get(k) for k in want} != want:
        raise Failure("crash.unmapped_by %r, expected %r" % (u, want))
    if not re.fullmatch(r"(__)?munmap\+\d+", str(u.get("symbol"))):
        raise Failure("crash.unmapped_by.symbol %r, expected munmap+N" % u.get("symbol"))
    line = ("  cause:    use after munmap: %#x was in %#x-%#x, unmapped by munmap(%#x, %d) "
            "at rip %s (%s), syscall #%d of the process\n"
            % (UAF_START + 16, UAF_START, UAF_START + UAF_LEN, UAF_START, UAF_LEN, u["rip"],
               u["symbol"], calls[0]))
    if line not in r.err:
        raise Failure("stderr lacks %r: %s" % (line, tail(r.err, 900)))


def task_maps_at_exit(R, variant, sample):
    """--maps prints the VMA table at exit: the rows and totals of the --report of the
    same run; the heap (glibc's malloc uses brk) and the stack are named."""
    b = R.path("%s-%s" % (sample, variant))
    r = R.vm(b, opts=("--maps",))
    compare(R.native(b), r)
    p = need_report(r)["processes"][0]
    title = "vmemu: address space of '%s' (pid 1000)\n" % os.path.basename(b)[:15]
    at = r.err.find(title)
    if at < 0:
        raise Failure("stderr lacks %r: %s" % (title, tail(r.err)))
    rows, totals = maps_rows(r.err[at:])
    same_table(rows, totals, p, "--maps")
    names = [m.group(9) for m in rows]
    if "[stack]" not in names or (variant.startswith("glibc") and "[heap]" not in names):
        raise Failure("--maps names %r: no [stack] or (glibc) [heap]" % names)
    kinds = [v["kind"] for v in p["vmas"]]
    if variant.startswith("glibc") and kinds.count("heap") != 1:
        raise Failure("report: vmas kinds %r, expected one heap area" % kinds)
    images = [v for v in p["vmas"] if v["kind"] == "image"]
    if not images or any(v["file"] != b for v in images):
        raise Failure("report: image areas %r should name %s" % (images, b))


def one_vmemu_line(r, status, what):
    if r.status != status:
        raise Failure("%s: exit %d, expected %d; stderr: %s" % (what, r.status, status,
                                                               tail(r.err)))
    lines = r.err.strip("\n").split("\n")
    if len(lines) != 1 or not lines[0].startswith("vmemu: "):
        raise Failure("%s: stderr should be one 'vmemu: ' line, got %r" % (what, r.err))


def task_cli_missing(R, tmp):
    r = R.vm(os.path.join(tmp, "no-such-program"), report=False)
    one_vmemu_line(r, 127, "missing program")


def task_cli_text(R, tmp):
    path = os.path.join(tmp, "script.txt")
    with open(path, "w") as f:
        f.write("this is not an ELF file\n")
    os.chmod(path, 0o755)
    one_vmemu_line(R.vm(path, report=False), 126, "text file")


def patched_hello(R, tmp, name, patch):
    src = R.path("hello-glibc")
    data = bytearray(open(src, "rb").read())
    data = patch(data)
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o755)
    return path


def task_cli_truncated(R, tmp):
    p = patched_hello(R, tmp, "hello-truncated", lambda d: d[:100])
    one_vmemu_line(R.vm(p, report=False), 126, "first 100 bytes of hello")


def task_cli_class32(R, tmp):
    def patch(d):
        d[4] = 1  # e_ident[EI_CLASS] = ELFCLASS32
        return d
    p = patched_hello(R, tmp, "hello-class32", patch)
    one_vmemu_line(R.vm(p, report=False), 126, "EI_CLASS patched to 1")


def task_cli_machine(R, tmp):
    def patch(d):
        d[18:20] = (183).to_bytes(2, "little")  # e_machine = EM_AARCH64
        return d
    p = patched_hello(R, tmp, "hello-aarch64", patch)
    one_vmemu_line(R.vm(p, report=False), 126, "e_machine patched to AArch64")


def task_cli_dynamic(R):
    r = R.vm(R.path("hello-dynamic"), report=False)
    one_vmemu_line(r, 126, "dynamic executable")
    if "needs the interpreter" not in r.err:
        raise Failure("stderr lacks 'needs the interpreter': %r" % r.err)


def task_cli_bad_mem(R):
    r = R.vm(R.path("hello-glibc"), opts=("--mem", "lots"), report=False)
    one_vmemu_line(r, 2, "--mem lots")


def task_cli_trace(R):
    b = R.path("hello-glibc")
    r = R.vm(b, ("x",), opts=("--trace",), report=False)
    compare(R.native(b, ("x",)), r)
    if not re.search(r"^\[1000\] write\(1, ", r.err, re.M):
        raise Failure("no '[1000] write(1, ' line on stderr: %s" % tail(r.err))


def task_cli_stats(R):
    b = R.path("hello-glibc")
    r = R.vm(b, opts=("--stats",), report=False)
    compare(R.native(b), r)
    if "Minor page faults" not in r.err:
        raise Failure("--stats output lacks 'Minor page faults': %s" % tail(r.err))


def task_cli_tlb(R):
    b = R.path("hello-glibc")
    r = R.vm(b, opts=("--tlb", "16x2"))
    compare(R.native(b), r)
    rep = need_report(r)
    # The 2 MiB array keeps its default (32x4) unless given after a comma.
    if rep["tlb"] != {"entries": 16, "ways": 2, "huge_entries": 32, "huge_ways": 4}:
        raise Failure("report tlb %r, expected 16 entries 2 ways (2 MiB: 32x4)" % rep["tlb"])
    h = R.vm(b, opts=("--tlb", "16x2,8x2"))
    if need_report(h)["tlb"] != {"entries": 16, "ways": 2, "huge_entries": 8, "huge_ways": 2}:
        raise Failure("--tlb 16x2,8x2: report tlb %r" % need_report(h)["tlb"])
    # Page-fault counts do not depend on TLB geometry (ARCHITECTURE.md).
    d = R.vm(b)
    need_report(d)
    if r.proc()["faults"] != d.proc()["faults"]:
        raise Failure("faults with --tlb 16x2 %r differ from the default's %r"
                      % (r.proc()["faults"], d.proc()["faults"]))


def task_cli_mem(R):
    b = R.path("hello-glibc")
    r = R.vm(b, opts=("--mem", "64M"))
    compare(R.native(b), r)
    if need_report(r)["mem_bytes"] != 64 << 20:
        raise Failure("report mem_bytes %r, expected %d" % (r.report["mem_bytes"], 64 << 20))


def task_cli_oom(R):
    """A guest that needs more frames than --mem has, with no swap, is killed (SIGKILL, 137)
    and reported; vmemu itself exits cleanly with the report written."""
    r = R.vm(R.path("bss-glibc"), ("full",), opts=("--mem", "16M", "--swap", "0"))
    if r.status != 137:
        raise Failure("status %d, expected 137; stderr: %s" % (r.status, tail(r.err)))
    if "killed by SIGKILL" not in r.err or "out of memory" not in r.err:
        raise Failure("no out-of-memory report on stderr: %s" % tail(r.err))
    rep = need_report(r)
    if rep["signal"] != 9 or not rep["processes"][0]["crash"]["cause"].startswith("out of memory"):
        raise Failure("report signal %r crash %r" % (rep["signal"], rep["processes"][0]["crash"]))


# ---------------------------------------------------------------------------------------

def single(name, fn, *args):
    """A task made of one check: (label, callable returning [(name, reason)])."""
    def run():
        try:
            fn(*args)
            return [(name, None)]
        except Failure as e:
            return [(name, str(e))]
    return (name, run)


def task_missing(path):
    raise Failure("%s was not built" % path)


def build_tasks(R, tmp):
    """Every check, longest first so that it overlaps with the rest."""
    tasks = []
    variants = []
    for v in VARIANTS:
        if os.path.exists(R.path("hello-" + v)):
            variants.append(v)
        elif v != "musl-pie":  # optional: see samples/CMakeLists.txt
            tasks.append(single("sample hello-%s exists" % v, task_missing,
                                R.path("hello-" + v)))
    if "glibc" in variants:
        tasks.append(single("bss-glibc full vs none: %d more anon and minor faults"
                            % BSS_PAGES, task_bss_full, R))
    for v in variants:
        for sample, args in CASES:
            b = R.path("%s-%s" % (sample, v))
            tasks.append((shlex.join(["%s-%s" % (sample, v)] + list(args)),
                          lambda b=b, a=args: task_case(R, b, a)))
        for sample in CRASHES:
            tasks.append(single("%s-%s: crash report" % (sample, v), task_crash, R, sample, v))
        tasks.append(single("uaf_munmap-%s: crash names the munmap, its rip and number" % v,
                            task_uaf_munmap, R, v))
        tasks.append(single("malloc-%s: --maps table at exit matches --report vmas" % v,
                            task_maps_at_exit, R, v, "malloc"))
        tasks.append(single("faults-%s 1000: getrusage delta is 1000" % v,
                            task_faults_prints_n, R, v))
        tasks.append(single("faults-%s: 2000 vs 1000 pages, +1000 anon and minor" % v,
                            task_faults_delta, R, v))
        tasks.append(single("bss-%s: write 1000 vs write 0000, +1000 anon and minor" % v,
                            task_bss_write, R, v))
        tasks.append(single("bss-%s: sparse reads %d zero pages, no anon"
                            % (v, BSS_SPARSE_READS), task_bss_sparse, R, v))
    tasks += [
        single("cli: missing program -> 127", task_cli_missing, R, tmp),
        single("cli: text file -> 126", task_cli_text, R, tmp),
        single("cli: truncated ELF -> 126", task_cli_truncated, R, tmp),
        single("cli: 32-bit class -> 126", task_cli_class32, R, tmp),
        single("cli: wrong machine -> 126", task_cli_machine, R, tmp),
        single("cli: dynamic executable -> 126", task_cli_dynamic, R),
        single("cli: bad --mem -> 2", task_cli_bad_mem, R),
        single("cli: --trace shows write(1, ...)", task_cli_trace, R),
        single("cli: --stats shows Minor page faults", task_cli_stats, R),
        single("cli: --tlb 16x2 runs hello, same faults", task_cli_tlb, R),
        single("cli: --mem 64M runs hello", task_cli_mem, R),
        single("cli: --mem 16M --swap 0, 1 GiB touched -> OOM kill 137", task_cli_oom, R),
    ]
    return tasks


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vmemu", required=True, help="path of the vmemu executable")
    ap.add_argument("--samples", required=True, help="directory of the built samples")
    ap.add_argument("--jobs", type=int, default=2, help="parallel checks (default 2)")
    ap.add_argument("-k", dest="filter", default="",
                    help="run only the tasks whose label contains this")
    opts = ap.parse_args()

    R = Runner(os.path.abspath(opts.vmemu), os.path.abspath(opts.samples))
    tmp = tempfile.mkdtemp(prefix="vmemu-e2e-")
    start = time.monotonic()
    passed = failed = 0
    try:
        tasks = [t for label, t in build_tasks(R, tmp) if opts.filter in label]
        with concurrent.futures.ThreadPoolExecutor(max_workers=opts.jobs) as pool:
            futures = [pool.submit(t) for t in tasks]
            for fut in futures:
                try:
                    results = fut.result()
                except Exception as e:  # a bug in this script: report it as a failure
                    results = [("internal error", "%s: %s" % (type(e).__name__, e))]
                for name, reason in results:
                    if reason is None:
                        passed += 1
                        print("PASS " + name, flush=True)
                    else:
                        failed += 1
                        print("FAIL %s: %s" % (name, reason), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("(%.1f s)" % (time.monotonic() - start))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
