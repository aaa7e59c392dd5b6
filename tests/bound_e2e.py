#!/usr/bin/env python3
"""vmemu's own work follows what is resident, never a guest-chosen virtual size.

Usage: bound_e2e.py --vmemu PATH --samples BUILD/samples [--limit SECONDS]

samples/bigreserve.c reserves 64 TiB PROT_NONE, mlocks, munlocks and madvises it, asks
mincore about it, msyncs a 1 TiB shared mapping of a one-page file, forks and exits. On
Linux each of these costs what is mapped, a few milliseconds in all. For every built
variant the check runs it natively (exit 0) and under vmemu, plain and (glibc variants,
which keep their symbols) with --check heap, whose leak search walks the address space
at exit: each vmemu run must print the native stdout, exit 0 and end within --limit
seconds (default 3: the release build takes well under a tenth of a second, and vmemu
before the page-table walks took minutes).

The same holds for the number of processes ever created: samples/fork_heavy forks and
reaps children one at a time (one child alive at any moment). vmemu's peak resident size
with CHURN_MANY children must exceed that with CHURN_FEW by less than CHURN_SLACK_KB (vmemu
that kept every reaped process grew by about 21 KiB a child, 75 MiB here), and both runs
must print the native stdout. Prints PASS/FAIL per check, the times, and "N passed, M
failed". Python 3 standard library only.
"""
import argparse
import os
import sys
import time

from harness import Failure, execute, line_diff, run_checks, tail

VARIANTS = ("glibc", "glibc-pie", "musl", "musl-pie")
CHURN_FEW, CHURN_MANY, CHURN_SLACK_KB = 300, 3000, 4096


def check(vmemu, binary, opts, limit):
    native = execute([binary])
    if native.status != 0:
        raise Failure("the native run ended with status %d:\n%s" % (native.status,
                                                                      tail(native.out)))
    t0 = time.monotonic()
    vm = execute([vmemu] + opts + ["--", binary], timeout=max(limit * 4, 30))
    took = time.monotonic() - t0
    if vm.status != 0:
        raise Failure("vmemu exited with status %d: %s" % (vm.status, tail(vm.err)))
    if vm.out != native.out:
        raise Failure("stdout differs:\n" + line_diff(native.out, vm.out))
    if took > limit:
        raise Failure("took %.2f s, more than %.1f s" % (took, limit))
    print("  %s %s: %.3f s" % (os.path.basename(binary), " ".join(opts) or "(plain)", took))
    return None


def churn(vmemu, binary):
    """fork_heavy with CHURN_FEW, then CHURN_MANY, children: peak RSS growth bound."""
    rss = {}
    for n in (CHURN_FEW, CHURN_MANY):
        cmd = [binary, str(n), "1"]
        native = execute(cmd)
        pid = os.fork()
        if pid == 0:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            out = os.open(os.devnull, os.O_WRONLY)
            os.dup2(out, 1)
            # A sanitizer build holds freed memory in quarantine: measure without it.
            env = dict(os.environ)
            env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                         "quarantine_size_mb=0"]))
            os.execve(vmemu, [vmemu, "--"] + cmd, env)
        _, status, usage = os.wait4(pid, 0)
        if os.waitstatus_to_exitcode(status) != native.status:
            raise Failure("fork_heavy %d: vmemu exited with status %d, natively %d" % (
                n, os.waitstatus_to_exitcode(status), native.status))
        vm = execute([vmemu, "--"] + cmd)
        if vm.out != native.out:
            raise Failure("fork_heavy %d: stdout differs:\n%s" % (n, line_diff(native.out,
                                                                                vm.out)))
        rss[n] = usage.ru_maxrss
    grew = rss[CHURN_MANY] - rss[CHURN_FEW]
    print("  %s: peak RSS %d KiB with %d children, %d KiB with %d (+%d KiB)" % (
        os.path.basename(binary), rss[CHURN_FEW], CHURN_FEW, rss[CHURN_MANY], CHURN_MANY, grew))
    if grew >= CHURN_SLACK_KB:
        raise Failure("peak RSS grew by %d KiB for %d more reaped children (bound %d KiB)" % (
            grew, CHURN_MANY - CHURN_FEW, CHURN_SLACK_KB))
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vmemu", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--limit", type=float, default=3.0)
    o = ap.parse_args()
    vmemu = os.path.abspath(o.vmemu)
    checks = []
    for v in VARIANTS:
        binary = os.path.join(os.path.abspath(o.samples), "bigreserve-" + v)
        if not os.path.exists(binary):
            continue
        checks.append(("bigreserve-%s" % v,
                       lambda b=binary: check(vmemu, b, [], o.limit)))
        if v.startswith("glibc"):
            checks.append(("bigreserve-%s --check heap" % v,
                           lambda b=binary: check(vmemu, b, ["--check", "heap"], o.limit)))
    churner = os.path.join(os.path.abspath(o.samples), "fork_heavy-musl")
    if os.path.exists(churner):
        checks.append(("fork churn: memory follows live processes",
                       lambda: churn(vmemu, churner)))
    if not checks:
        print("FAIL bigreserve: no variant built in %s" % o.samples)
        print("0 passed, 1 failed")
        return 1
    passed, failed = run_checks(checks, 1)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
