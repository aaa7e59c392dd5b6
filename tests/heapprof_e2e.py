#!/usr/bin/env python3
"""The heap profiler end to end: samples/heapprof.c under vmemu --profile heap.

Usage: heapprof_e2e.py --vmemu PATH --samples BUILD/samples [-k SUBSTRING] [--jobs N]

For each build of heapprof found (glibc and musl, static and static PIE), one run with
--profile heap --report FILE, and checks:
  - stdout is the native run's, line for line (the program prints its own peak, the minor
    faults its getrusage counted around site A's loop and in the forked child's writes);
    on a host whose kernel does not map the zero page on read faults the fault lines are
    compared with vmemu's own output only (musl's malloc reads fresh pages first);
  - the JSON's "heap_profile": one section for the process (pid 1000) and one for its
    forked child (ppid 1000);
  - the peak bytes: exactly what the program computes (site A's 2,048 blocks of 4 KiB and
    site C's 4 MiB) plus the bytes libc allocated for itself before main and still holds
    (the sites whose stack has no function of the program); site A's and site C's own
    peak bytes and blocks exactly;
  - site A's faults: exactly the count the program's own getrusage measured around its
    loop (which is the native count), all of them zero-fill classes (zero_page, anon, and
    cow of the zero page); its blocks resident at the peak (at least the 2,048 pages it
    wrote), none at exit;
  - site C: it wrote one byte in each of the first 512 of its 1,024 pages; resident at
    exit exactly those (plus, with musl, the block's last page, which musl's malloc writes
    itself: 513), and as many zero-fill faults charged to it;
  - site B's churn: 4,000 allocations, nothing live at the peak or at exit;
  - the thread (per-thread call/return matching): thread_fn's two sites, one allocation
    each, the 3,000-byte block live at exit, the other freed;
  - the child inherits the live blocks (site C's 4 MiB) and its copy-on-write faults on
    them are charged to site C, exactly the count the child's getrusage measured;
  - the timeline: call numbers increasing, fault sequence numbers not decreasing, no
    sample above the peak, at most 1,024 samples;
  - the text summary on stderr: the peak line with the JSON's numbers, site A first
    among the sites by bytes at the peak, the child's section "forked from 1000";
  - a stripped program: exit 126 with the one-line message; --check heap with --profile
    heap: refused.
Each check prints "PASS name" or "FAIL name: reason"; the last line is "N passed, M
failed"; the exit status is 1 when a check failed. Python 3 standard library only.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

from harness import (Failure, read_report, built_variants, e2e_options, execute, finish_checks,
                     host_maps_zero_page, line_diff, tail)

PROGRAM_FUNCS = {"main", "site_a", "site_b", "site_c", "thread_fn"}
A_BYTES, A_BLOCKS, C_BYTES, C_TOUCHED = 2048 * 4096, 2048, 4 << 20, 512
ZERO_FILL = {"zero_page", "anon", "cow"}


def site(proc, func):
    """The site of proc whose first frame is in func (exactly one)."""
    found = [s for s in proc["sites"] if s["frames"] and s["frames"][0]["function"] == func]
    if len(found) != 1:
        raise Failure("pid %d: %d sites with first frame %s" % (proc["pid"], len(found), func))
    return found[0]


def printed(out, pattern):
    m = re.search(pattern, out, re.M)
    if not m:
        raise Failure("the program did not print %r:\n%s" % (pattern, tail(out)))
    return int(m.group(1))


def expect(what, got, want):
    if got != want:
        raise Failure("%s: %r, expected %r" % (what, got, want))


def check_run(vmemu, prog, variant, tmp):
    report = os.path.join(tmp, "report-%s.json" % variant)
    native = execute([prog])
    if native.status != 0:
        raise Failure("natively: status %d" % native.status)
    r = execute([vmemu, "--profile", "heap", "--report", report, prog])
    if r.status != 0:
        raise Failure("status %d\n%s" % (r.status, tail(r.err)))
    want, got = native.out, r.out
    if not host_maps_zero_page():
        strip = re.compile(r"^(site_a faults|child cow faults) .*$", re.M)
        want, got = strip.sub("", want), strip.sub("", got)
    if want != got:
        raise Failure("stdout differs from the native run:\n%s" % line_diff(want, got))
    out = r.out
    peak = printed(out, r"^peak bytes (\d+)$")
    a_faults = printed(out, r"^site_a faults (\d+)$")
    c_touched = printed(out, r"^site_c touched pages (\d+) of")
    child_cow = printed(out, r"^child cow faults (\d+)$")
    expect("the program's peak", peak, A_BYTES + C_BYTES)
    expect("pages site C touched", c_touched, C_TOUCHED)
    procs = read_report(report)["heap_profile"]  # validated against the schema
    expect("sections (pid, ppid)", sorted((p["pid"], p["ppid"]) for p in procs),
           [(1000, 0), (1002, 1000)])
    parent = next(p for p in procs if p["pid"] == 1000)
    child = next(p for p in procs if p["pid"] == 1002)

    # The peak: the program's bytes plus libc's own from before main.
    libc = sum(s["peak_bytes"] for s in parent["sites"]
               if not any(f.get("function") in PROGRAM_FUNCS for f in s["frames"]))
    expect("peak bytes (the program's %d + libc's own %d)" % (peak, libc),
           parent["peak"]["bytes"], peak + libc)
    a, b, c = site(parent, "site_a"), site(parent, "site_b"), site(parent, "site_c")
    expect("site A peak bytes, blocks", (a["peak_bytes"], a["peak_blocks"]), (A_BYTES, A_BLOCKS))
    expect("site C peak bytes, blocks", (c["peak_bytes"], c["peak_blocks"]), (C_BYTES, 1))
    expect("site A allocations", a["allocations"], A_BLOCKS)

    # Site A's faults: what the program's getrusage counted, zero-fill only.
    expect("site A faults (all classes)", sum(a["faults"].values()), a_faults)
    other = {k: v for k, v in a["faults"].items() if v and k not in ZERO_FILL}
    expect("site A faults not zero-fill", other, {})
    if a["resident_pages_at_peak"] < A_BYTES // 4096:
        raise Failure("site A resident at the peak: %d pages" % a["resident_pages_at_peak"])
    expect("site A resident at exit", a["resident_pages_at_exit"], 0)

    # Site C: the half it touched (musl's malloc writes the block's last page itself).
    c_res = c_touched + (1 if variant.startswith("musl") else 0)
    expect("site C resident at exit", c["resident_pages_at_exit"], c_res)
    expect("site C zero-fill faults", c["faults"]["anon"] + c["faults"]["zero_page"], c_res)

    expect("site B allocations, peak bytes, exit blocks",
           (b["allocations"], b["peak_bytes"], b["exit_blocks"]), (4000, 0, 0))
    t = [s for s in parent["sites"] if s["frames"] and s["frames"][0]["function"] == "thread_fn"]
    expect("thread_fn's two sites: allocations, exit blocks, exit bytes",
           sorted((s["allocations"], s["exit_blocks"], s["exit_bytes"]) for s in t),
           [(1, 0, 0), (1, 1, 3000)])

    # The child: inherited blocks, its copy-on-write faults charged to site C.
    cc = site(child, "site_c")
    expect("child: site C inherited bytes", cc["exit_bytes"], C_BYTES)
    expect("child: site C cow faults", cc["faults"]["cow"], child_cow)
    expect("child: allocations", child["allocations"], 0)

    tl = parent["timeline"]
    if not tl or len(tl) > 1024:
        raise Failure("timeline of %d samples" % len(tl))
    for x, y in zip(tl, tl[1:]):
        if y["call"] <= x["call"] or y["fault_seq"] < x["fault_seq"]:
            raise Failure("timeline out of order: %r then %r" % (x, y))
    if max(s["bytes"] for s in tl) > parent["peak"]["bytes"]:
        raise Failure("a timeline sample above the peak")

    # The text summary.
    pk = parent["peak"]
    line = "==1000== peak: {:,} bytes in {:,} blocks at call {:,} (fault #{:,})".format(
        pk["bytes"], pk["blocks"], pk["call"], pk["fault_seq"])
    if line not in r.err.splitlines():
        raise Failure("no line %r in stderr:\n%s" % (line, tail(r.err)))
    lines = r.err.splitlines()
    i = lines.index("==1000== top sites by bytes at the peak:")
    if not re.match(r"==1000==        #0  0x[0-9a-f]+ site_a\+\d+$", lines[i + 2]):
        raise Failure("site A is not first by bytes at the peak:\n%s" % "\n".join(lines[i:i + 4]))
    if "==1002== HEAP PROFILE (--profile heap), forked from 1000" not in lines:
        raise Failure("no summary of the child:\n%s" % tail(r.err))


def main():
    o = e2e_options(__doc__, lambda ap: (ap.add_argument("-k", default=""),
                                         ap.add_argument("--jobs", type=int, default=2)))
    tmp = tempfile.mkdtemp(prefix="heapprof_e2e.")
    variants = built_variants(o.samples, "heapprof")
    checks = []

    def add(name, fn):
        if o.k in name:
            checks.append((name, fn))

    for v, prog in variants:
        add("profile-" + v, lambda v=v, prog=prog: check_run(o.vmemu, prog, v, tmp))

    def stripped():
        prog = os.path.join(tmp, "heapprof-stripped")
        subprocess.run(["strip", "-o", prog, os.path.join(o.samples, "heapprof-glibc")],
                       check=True)
        r = execute([o.vmemu, "--profile", "heap", prog])
        want = ("vmemu: %s has no symbols: --profile heap needs a program that is not "
                "stripped\n" % os.path.realpath(prog))
        if r.status != 126 or r.err != want:
            raise Failure("status %d, stderr %r" % (r.status, r.err))

    def with_check():
        r = execute([o.vmemu, "--check", "heap", "--profile", "heap",
                     os.path.join(o.samples, "heapprof-glibc")])
        want = "vmemu: --check heap and --profile heap cannot be used together\n"
        if r.status == 0 or r.err != want:
            raise Failure("status %d, stderr %r" % (r.status, r.err))

    if variants:
        add("stripped", stripped)
        add("with-check", with_check)
    rc = finish_checks(checks, "no heapprof sample built in %s" % o.samples, o.jobs)
    shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
