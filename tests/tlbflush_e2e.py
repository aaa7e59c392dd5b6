#!/usr/bin/env python3
"""Unicorn TLB flushes happen only where a translation is taken away, and none is missing.

Usage: tlbflush_e2e.py --vmemu PATH --samples BUILD/samples

samples/tlbflush.c in every built variant, natively and under vmemu with --report, its
runs with NNN = 000 and 200 compared (same stack layout; the only difference is the loop):
  upgrade    200 fresh read-only mappings made writable by mprotect, then written: not one
             full flush more than with 000 (fresh mappings and permission upgrades are
             never cached by Unicorn, so need none), whatever the cause.
  downgrade  the same, each page then made read-only again: exactly 200 more pages dropped
             one by one from Unicorn's TLB (the one mprotect per page that takes a
             permission) and not one full flush more.
  bulk32     200 ranges of 32 written pages, each made read-only by one mprotect and then
             unmapped: exactly 2 * 32 * 200 more single pages, not one full flush more
             (32 pages: as many as vmemu drops one by one).
  bulk33     the same with 33 pages: exactly 2 * 200 more full flushes, all of the cause
             "downgrade", and not one single page more. In both, a write to the first and
             to the last page after the mprotect faults (same output as natively).
  working    2048 pages read round after round, 200 rounds: Unicorn's TLB starts with 256
             entries and grows only at a flush, so vmemu flushes (cause "grow") when the
             refills since the last flush (fills that took no page fault) pass twice the
             size it models: at least one such
             flush, at most 8 (256 doubled up to 65536), and the 200 rounds (409,600
             reads) add fewer than one fill per 8 reads (without the grow flushes every
             read missed).
  The grow flushes follow the fills, so the exact counts above leave them out.
  pingpong   two threads of one process pass a token 200 times: every switch is between
             threads of one address space, so the "switch" cause stays 0 in both runs
             (Linux keeps the TLB across such switches too: same CR3), while the report's
             context switches grow.
  stale      the accesses a missing flush would let through: a read after munmap and a
             write after mprotect(PROT_READ) raise SIGSEGV, a page unmapped and mapped
             again reads zero, copy-on-write after fork keeps each side's data, and a
             second thread's mprotect and munmap of a page the first thread had just
             used make the first thread's next access fault: the same output as natively.
Prints PASS/FAIL per check and "N passed, M failed". Python 3 standard library only.
"""
import json
import os
import sys
import tempfile

from harness import (Failure, built_variants, e2e_options, execute, finish_checks, same_as_native,
                     tail)

CAUSES = ("downgrade", "switch", "exec", "code", "reclaim", "debug", "grow")
EXACT = CAUSES[:-1]  # "grow" follows the fills: see "working"
WORKING_PAGES = 2048
N = 200


def report_run(vmemu, binary, mode, n):
    """Runs binary MODE NNN under vmemu --report; returns (stdout, first process)."""
    with tempfile.TemporaryDirectory(prefix="tlbflush-") as d:
        rep = os.path.join(d, "r.json")
        r = execute([vmemu, "--report", rep, "--", binary, mode, "%03d" % n])
        if r.status != 0:
            raise Failure("%s %03d: vmemu status %d: %s" % (mode, n, r.status, tail(r.err)))
        with open(rep) as f:
            return r.out, json.load(f)["processes"][0]


def causes(proc):
    """(full flushes, {cause: flushes}, single pages invalidated) of the report's process."""
    tlb = proc["tlb"]
    c = tlb.get("unicorn_flush_causes")
    if not isinstance(c, dict) or any(k not in c for k in CAUSES + ("page_invalidations",)):
        raise Failure("report: tlb.unicorn_flush_causes missing or incomplete: %r" % c)
    return tlb["unicorn_flushes"], {k: c[k] for k in CAUSES}, c["page_invalidations"]


def switches(proc):
    """Context switches of all the threads of the report's process."""
    return sum(t.get("switches", 0) for t in proc.get("threads", []))


def check_counts(vmemu, binary, mode):
    same_as_native(vmemu, [binary, mode, "%03d" % N])
    _, p0 = report_run(vmemu, binary, mode, 0)
    _, pn = report_run(vmemu, binary, mode, N)
    (f0, c0, i0), (fn, cn, i_n) = causes(p0), causes(pn)
    f0, fn = f0 - c0["grow"], fn - cn["grow"]  # no other cause shares a grow flush here
    delta = {k: cn[k] - c0[k] for k in EXACT}
    if mode == "upgrade":
        if fn != f0 or any(delta.values()) or i_n != i0:
            raise Failure("upgrade: %d flushes with %03d, %d with 000 (by cause %r), %d more "
                          "single pages" % (fn, N, f0, delta, i_n - i0))
    elif mode in ("downgrade", "bulk32", "bulk33"):
        pages, flushes = {"downgrade": (N, 0), "bulk32": (2 * 32 * N, 0),
                          "bulk33": (0, 2 * N)}[mode]
        want = dict.fromkeys(EXACT, 0)
        want["downgrade"] = flushes
        if fn - f0 != flushes or delta != want or i_n - i0 != pages:
            raise Failure("%s: %d more flushes (want %d), by cause %r; %d more single pages "
                          "(want %d)" % (mode, fn - f0, flushes, delta, i_n - i0, pages))
    elif mode == "working":
        fills = pn["tlb"]["fills"] - p0["tlb"]["fills"]
        if not 1 <= cn["grow"] <= 8 or fills * 8 >= WORKING_PAGES * N:
            raise Failure("working: %d grow flushes (want 1 to 8), %d more fills for %d reads "
                          "(want fewer than 1 in 8)" % (cn["grow"], fills, WORKING_PAGES * N))
    elif mode == "pingpong":
        if c0["switch"] != 0 or cn["switch"] != 0:
            raise Failure("pingpong: switch flushes %d (000) and %d (%03d), want 0"
                          % (c0["switch"], cn["switch"], N))
        if fn != f0:
            raise Failure("pingpong: %d flushes with %03d, %d with 000 (by cause %r)"
                          % (fn, N, f0, delta))
        s0, sn = switches(p0), switches(pn)
        if sn < s0 + N:
            raise Failure("pingpong: %d context switches with %03d, %d with 000: the threads "
                          "did not take turns" % (sn, N, s0))


def main():
    o = e2e_options(__doc__)
    variants = built_variants(o.samples, "tlbflush")
    checks = []
    for variant, binary in variants:
        for mode in ("upgrade", "downgrade", "bulk32", "bulk33", "working", "pingpong"):
            checks.append(("%s %s" % (mode, variant),
                           lambda b=binary, m=mode: check_counts(o.vmemu, b, m)))
        for n in (1, 20):
            checks.append(("stale %03d %s" % (n, variant),
                           lambda b=binary, n=n: same_as_native(o.vmemu, [b, "stale",
                                                                          "%03d" % n])))
    return finish_checks(checks, [] if variants else ["tlbflush (no variant built)"])


if __name__ == "__main__":
    sys.exit(main())
