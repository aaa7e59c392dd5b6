#!/usr/bin/env python3
"""Unicorn TLB flushes happen only where a translation is taken away, and none is missing.

Usage: tlbflush_e2e.py --vmemu PATH --samples BUILD/samples

samples/tlbflush.c in every built variant, natively and under vmemu with --report, its
runs with NNN = 000 and 200 compared (same stack layout; the only difference is the loop):
  upgrade    200 fresh read-only mappings made writable by mprotect, then written: not one
             full flush more than with 000 (fresh mappings and permission upgrades are
             never cached by Unicorn, so need none), whatever the cause.
  downgrade  the same, each page then made read-only again: exactly 200 more flushes, all
             of the cause "downgrade" (the one mprotect per page that takes a permission).
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

CAUSES = ("downgrade", "switch", "exec", "code", "reclaim", "debug")
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
    tlb = proc["tlb"]
    c = tlb.get("unicorn_flush_causes")
    if not isinstance(c, dict) or any(k not in c for k in CAUSES):
        raise Failure("report: tlb.unicorn_flush_causes missing or incomplete: %r" % c)
    return tlb["unicorn_flushes"], {k: c[k] for k in CAUSES}


def switches(proc):
    """Context switches of all the threads of the report's process."""
    return sum(t.get("switches", 0) for t in proc.get("threads", []))


def check_counts(vmemu, binary, mode):
    same_as_native(vmemu, [binary, mode, "%03d" % N])
    _, p0 = report_run(vmemu, binary, mode, 0)
    _, pn = report_run(vmemu, binary, mode, N)
    (f0, c0), (fn, cn) = causes(p0), causes(pn)
    delta = {k: cn[k] - c0[k] for k in CAUSES}
    if mode == "upgrade":
        if fn != f0 or any(delta.values()):
            raise Failure("upgrade: %d flushes with %03d, %d with 000 (by cause %r)"
                          % (fn, N, f0, delta))
    elif mode == "downgrade":
        want = dict.fromkeys(CAUSES, 0)
        want["downgrade"] = N
        if fn - f0 != N or delta != want:
            raise Failure("downgrade: %d more flushes (want %d), by cause %r" % (fn - f0, N,
                                                                               delta))
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
        for mode in ("upgrade", "downgrade", "pingpong"):
            checks.append(("%s %s" % (mode, variant),
                           lambda b=binary, m=mode: check_counts(o.vmemu, b, m)))
        for n in (1, 20):
            checks.append(("stale %03d %s" % (n, variant),
                           lambda b=binary, n=n: same_as_native(o.vmemu, [b, "stale",
                                                                          "%03d" % n])))
    return finish_checks(checks, [] if variants else ["tlbflush (no variant built)"])


if __name__ == "__main__":
    sys.exit(main())
