#!/usr/bin/env python3
"""Instructions that fault at user level (CPL 3), natively and under vmemu.

Usage: priv_e2e.py --vmemu PATH --samples BUILD/samples [-k SUBSTRING] [--jobs N]

samples/privinsn.c runs each instruction Linux refuses at CPL 3 (port I/O: in, out, ins,
outs, rep outs; cli, sti, hlt; moves to and from control and debug registers; rdmsr,
wrmsr; lgdt, lidt, lldt, ltr, lmsw; invlpg, wbinvd, invd, clts, swapgs, sysretq, xsetbv)
under a SIGSEGV handler and prints what the handler saw: the signal, si_code, si_addr,
uc_mcontext's trap number and error code, whether RIP in the ucontext is the instruction
itself, and whether the instruction after it ran; then whether popf can change IOPL or IF.
Checks:
  - output: every variant (glibc, musl, PIE or not) prints the native stdout (SIGSEGV,
    SI_KERNEL, si_addr 0, trap 13, error code 0, RIP at the instruction, nothing after it
    run) and exits 0, and vmemu says nothing on stderr;
  - crash: `privinsn crash NAME` with no handler dies of SIGSEGV natively (status 139);
    under vmemu too, with the same stdout, a crash report that names SI_KERNEL, the #GP and
    the instruction at RIP, and a --report "crash" object with code SI_KERNEL and RIP at the
    instruction.
Each check prints "PASS name" or "FAIL name: reason"; the last line is "N passed, M
failed"; the exit status is 1 when a check failed. Python 3 standard library only.
"""

import argparse
import itertools
import os
import shutil
import sys
import tempfile
import time

from harness import read_report, Failure, Once, execute, line_diff, run_checks, tail

VARIANTS = ("glibc", "glibc-pie", "musl", "musl-pie")
# Probes run with no handler: one of each family (port I/O in both directions and a string
# form, interrupt flag, hlt, control register, descriptor table, swapgs).
CRASHES = ("out_dx", "in_imm", "rep_outsb", "cli", "hlt", "mov_to_cr3", "lgdt", "swapgs")
SIGSEGV = 11


class Runner(Once):
    """Native runs, once per program and arguments; vmemu runs with --report."""

    def __init__(self, vmemu, samples, tmp):
        super().__init__()
        self.vmemu = vmemu
        self.samples = samples
        self.tmp = tmp
        self.serial = itertools.count(1)  # next() is atomic: checks run in threads

    def path(self, variant):
        return os.path.join(self.samples, "privinsn-%s" % variant)

    def native(self, prog, args):
        return self.once(("native", prog, tuple(args)), lambda: execute([prog] + list(args)))

    def vm(self, prog, args):
        rfile = os.path.join(self.tmp, "%s-%d.json" % (os.path.basename(prog), next(self.serial)))
        r = execute([self.vmemu, "--report", rfile, "--", prog] + list(args))
        try:
            with open(rfile) as f:
                r.report = read_report(f)
        except (OSError, ValueError) as e:
            raise Failure("no usable --report (%s); status %d, stderr: %s"
                          % (e, r.status, tail(r.err)))
        return r


def compare(R, prog, args, want_status):
    native = R.native(prog, args)
    if native.status != want_status:
        raise Failure("native run exited %d, expected %d: %s"
                      % (native.status, want_status, tail(native.err)))
    r = R.vm(prog, args)
    for marker in ("Sanitizer", "runtime error:"):
        if marker in r.err:
            raise Failure("sanitizer report on stderr: %s" % tail(r.err, 800))
    if r.status != native.status:
        raise Failure("status %d, native %d; stdout:\n%s\nstderr: %s"
                      % (r.status, native.status, tail(r.out), tail(r.err)))
    if r.out != native.out:
        raise Failure("stdout differs from the native run's:\n" + line_diff(native.out, r.out))
    return r


def check_output(R, variant):
    def go():
        r = compare(R, R.path(variant), [], 0)
        if r.err.strip():
            return "vmemu wrote to stderr: %s" % tail(r.err)
        return None
    return go


def check_crash(R, variant, probe):
    def go():
        r = compare(R, R.path(variant), ["crash", probe], 128 + SIGSEGV)
        for want in ("killed by SIGSEGV (SI_KERNEL)", "#GP", "<probe_%s+" % probe):
            if want not in r.err:
                return "crash report lacks %r:\n%s" % (want, tail(r.err, 1200))
        crash = r.report["processes"][0].get("crash") or {}
        if crash.get("code") != "SI_KERNEL" or not crash.get("symbol", "").startswith(
                "probe_%s+" % probe):
            return "crash object %r" % ({k: crash.get(k) for k in ("code", "symbol", "rip")},)
        return None
    return go


def build_checks(R):
    checks = [("output privinsn-%s" % v, check_output(R, v)) for v in VARIANTS]
    for v in ("glibc", "musl-pie"):
        for probe in CRASHES:
            checks.append(("crash privinsn-%s %s (status 139)" % (v, probe),
                           check_crash(R, v, probe)))
    return checks


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vmemu", required=True, help="path of the vmemu executable")
    ap.add_argument("--samples", required=True, help="directory of the built samples")
    ap.add_argument("--jobs", type=int, default=2, help="parallel checks (default 2)")
    ap.add_argument("-k", dest="filter", default="",
                    help="run only the checks whose name contains this")
    opts = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="vmemu-priv-e2e-")
    start = time.monotonic()
    try:
        R = Runner(os.path.abspath(opts.vmemu), os.path.abspath(opts.samples), tmp)
        checks = [c for c in build_checks(R) if opts.filter in c[0]]
        passed, failed = run_checks(checks, opts.jobs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed (%.1f s)" % (passed, failed, time.monotonic() - start))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
