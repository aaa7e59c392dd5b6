#!/usr/bin/env python3
"""Signals end to end: the signal samples natively and under vmemu.

Usage: signal_e2e.py --vmemu PATH --samples BUILD/samples [-k SUBSTRING] [--jobs N]

The samples (samples/sig_handler.c, sig_segv.c, sig_alarm.c, sig_fpu.c) print what their
handlers observed: siginfo fields, masks during and after handlers, SA_NODEFER,
SA_RESETHAND, SA_ONSTACK with sigaltstack, rt_sigpending, sigsuspend, sigtimedwait,
ignored signals, SIGSEGV after mprotect with the exact si_addr and si_code, a handler that
fixes the protection or moves RIP, siglongjmp, SIGFPE, alarm/pause, interval timers,
nanosleep cut short, SA_RESTART against EINTR on a pipe, and the FPU/SSE state around a
handler that clobbers it. Checks:
  - output: every sample, every variant (glibc, musl, PIE or not) gives the native stdout
    and exit status (0, with no "FAIL" line), and vmemu says nothing on stderr (no
    unimplemented syscall, no sanitizer report);
  - death by signal: a sample ended by a signal it does not catch exits with 128+N as a
    shell reports it (SIGTERM 143, SIGABRT 134, SIGSEGV 139, SIGALRM 142), natively and
    under vmemu, with the same stdout; the --report JSON names the signal, and only the
    SIGSEGV crash has a "crash" object (SEGV_ACCERR, a write);
  - counts: sig_segv's --report counts 7 SIGSEGV faults (the seven faulting accesses its
    handlers catch: two on a PROT_NONE page, one store to a PROT_READ page, the load that
    crosses into a PROT_NONE page, the store a handler fixes (run again, no second fault),
    the store a handler skips, the load of an unmapped page), 8 with the final uncaught
    one; SIGFPE is no memory fault;
  - --trace: rt_sigreturn appears once per handler that returned, each line with the pid;
    each delivery is one strace-like line ("--- SIGUSR1 {si_signo=SIGUSR1, si_code=...,
    si_pid=..., si_uid=...} ---"; sig_segv's 7 faults with si_addr).
Each check prints "PASS name" or "FAIL name: reason"; the last line is "N passed, M
failed"; the exit status is 1 when a check failed. Python 3 standard library only.
"""

import argparse
import os
import re
import shutil
import sys
import tempfile
import threading
import time

from harness import read_report, Failure, Once, execute, line_diff, run_checks, tail

VARIANTS = ("glibc", "glibc-pie", "musl", "musl-pie")
SAMPLES = ("sig_handler", "sig_segv", "sig_alarm", "sig_fpu")
SIGABRT, SIGSEGV, SIGALRM, SIGTERM = 6, 11, 14, 15

# (sample, argument, signal that ends it)
DEATHS = (
    ("sig_handler", "term", SIGTERM),
    ("sig_handler", "abort", SIGABRT),
    ("sig_segv", "crash", SIGSEGV),
    ("sig_alarm", "die", SIGALRM),
)

# sig_segv's caught memory faults (see the docstring).
SEGV_CAUGHT = 7


class Runner(Once):
    """Runs programs natively (once per program and arguments) and under vmemu (with
    --report; vm() returns the Run with .report)."""

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

    def vm(self, opts, prog, args):
        with self.lock:
            self.serial += 1
            rfile = os.path.join(self.tmp, "%d-report.json" % self.serial)
        r = execute([self.vmemu] + list(opts) + ["--report", rfile, "--", prog] + list(args))
        try:
            with open(rfile) as f:
                r.report = read_report(f)
        except (OSError, ValueError) as e:
            raise Failure("no usable --report (%s); status %d, stderr: %s"
                          % (e, r.status, tail(r.err)))
        return r


def no_sanitizer_report(r):
    for marker in ("Sanitizer", "runtime error:"):
        if marker in r.err:
            raise Failure("sanitizer report on stderr: %s" % tail(r.err, 800))


def compare(R, prog, args, want_status):
    """Runs prog natively and under vmemu: both must exit with want_status and print the
    same stdout. Returns the vmemu Run."""
    native = R.native(prog, args)
    if native.status != want_status:
        raise Failure("native run exited %d, expected %d: %s"
                      % (native.status, want_status, tail(native.err)))
    if "FAIL" in native.out:
        raise Failure("native run reports a failure:\n" + tail(native.out))
    r = R.vm([], prog, args)
    no_sanitizer_report(r)
    if r.status != native.status:
        raise Failure("status %d, native %d; stderr: %s" % (r.status, native.status,
                                                            tail(r.err)))
    if r.out != native.out:
        raise Failure("stdout differs from the native run's:\n" + line_diff(native.out, r.out))
    return r


def check_output(R, sample, variant):
    def go():
        r = compare(R, R.path(sample, variant), [], 0)
        if r.err.strip():
            return "vmemu wrote to stderr: %s" % tail(r.err)
        return None
    return go


def check_death(R, sample, arg, sig, variant):
    def go():
        r = compare(R, R.path(sample, variant), [arg], 128 + sig)
        rep = r.report
        if rep.get("exit_status") != 128 + sig or rep.get("signal") != sig:
            return "report says exit_status %r signal %r, expected %d and %d" % (
                rep.get("exit_status"), rep.get("signal"), 128 + sig, sig)
        proc = rep["processes"][0]
        if proc.get("signal") != sig:
            return "process signal %r, expected %d" % (proc.get("signal"), sig)
        crash = proc.get("crash")
        if sig == SIGSEGV:
            if not crash or crash.get("code") != "SEGV_ACCERR" or crash.get("access") != "write":
                return "crash object %r, expected SEGV_ACCERR on a write" % (crash,)
        elif crash is not None:
            return "a crash object for a signal sent by kill: %r" % (crash,)
        return None
    return go


def check_segv_counts(R, variant):
    def go():
        for args, want in (([], SEGV_CAUGHT), (["crash"], SEGV_CAUGHT + 1)):
            r = R.vm([], R.path("sig_segv", variant), args)
            got = r.report["processes"][0]["faults"]["segv"]
            if got != want:
                return "sig_segv %s: %d SIGSEGV faults counted, expected %d" % (
                    " ".join(args) or "(no argument)", got, want)
        return None
    return go


def check_trace(R):
    """sig_handler's handlers that return: kill, raise (on_info twice), the nested pair of
    the deferred and the SA_NODEFER case (2 + 2), SA_RESETHAND, SA_ONSTACK, the handler
    after sigsuspend, and the two queued ones (sigqueue, rt_tgsigqueueinfo): 11 rt_sigreturn
    calls; sigtimedwait, the ignored signals and the refused queue run none."""
    def go():
        r = R.vm(["--trace"], R.path("sig_handler"), [])
        lines = [l for l in r.err.splitlines() if "rt_sigreturn(" in l]
        if len(lines) != 11:
            return "%d rt_sigreturn lines in --trace, expected 11:\n%s" % (
                len(lines), "\n".join(lines[:12]))
        if not all(l.startswith("[1000] ") for l in lines):
            return "trace lines without the pid: %s" % lines[0]
        # One strace-like line per delivery to a handler, before the handler's calls.
        shape = re.compile(r"^\[1000\] --- (SIGUSR[12]) \{si_signo=\1, si_code=-?\d+, "
                           r"si_pid=\d+, si_uid=\d+\} ---$")
        sent = [l for l in r.err.splitlines() if " --- SIG" in l]
        if len(sent) != 11 or not all(shape.match(l) for l in sent):
            return "%d delivery lines in --trace, expected 11 of the form " \
                "'[1000] --- SIGUSR1 {si_signo=SIGUSR1, si_code=N, si_pid=N, si_uid=N} ---':" \
                "\n%s" % (len(sent), "\n".join(sent[:12]))
        r = R.vm(["--trace"], R.path("sig_segv"), [])
        faults = [l for l in r.err.splitlines() if " --- SIGSEGV" in l]
        fault_shape = re.compile(r"^\[1000\] --- SIGSEGV \{si_signo=SIGSEGV, si_code=[12], "
                                 r"si_addr=(0x[0-9a-f]+|NULL)\} ---$")
        if len(faults) != 7 or not all(fault_shape.match(l) for l in faults):
            return "sig_segv: %d SIGSEGV delivery lines in --trace, expected 7:\n%s" % (
                len(faults), "\n".join(faults[:8]))
        return None
    return go


def build_checks(R):
    checks = []
    for sample in SAMPLES:
        for v in VARIANTS:
            checks.append(("output %s-%s" % (sample, v), check_output(R, sample, v)))
    for sample, arg, sig in DEATHS:
        for v in VARIANTS:
            checks.append(("death %s-%s %s (status %d)" % (sample, v, arg, 128 + sig),
                           check_death(R, sample, arg, sig, v)))
    for v in ("glibc", "musl"):
        checks.append(("counts sig_segv-%s" % v, check_segv_counts(R, v)))
    checks.append(("trace sig_handler rt_sigreturn", check_trace(R)))
    return checks


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vmemu", required=True, help="path of the vmemu executable")
    ap.add_argument("--samples", required=True, help="directory of the built samples")
    ap.add_argument("--jobs", type=int, default=2, help="parallel checks (default 2)")
    ap.add_argument("-k", dest="filter", default="",
                    help="run only the checks whose name contains this")
    opts = ap.parse_args()

    vmemu = os.path.abspath(opts.vmemu)
    samples = os.path.abspath(opts.samples)
    tmp = tempfile.mkdtemp(prefix="vmemu-signal-e2e-")
    start = time.monotonic()
    passed = failed = 0
    try:
        R = Runner(vmemu, samples, tmp)
        variants = [v for v in VARIANTS if os.access(R.path(SAMPLES[0], v), os.X_OK)]
        missing = [R.path(s, v) for s in SAMPLES for v in VARIANTS
                   if not os.access(R.path(s, v), os.X_OK)
                   and not (v == "musl-pie" and "musl-pie" not in variants)]
        checks = [(n, c) for n, c in build_checks(R) if opts.filter in n
                  and not ("musl-pie" in n and "musl-pie" not in variants)]
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
    print("(%.1f s)" % (time.monotonic() - start))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
