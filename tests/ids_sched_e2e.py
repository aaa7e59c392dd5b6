#!/usr/bin/env python3
"""Identity, scheduling, limits and POSIX timer syscalls give the native answers.

Usage: ids_sched_e2e.py --vmemu PATH --samples BUILD/samples

samples/ids_sched.c, every built variant: the native run, `vmemu -- binary` and
`vmemu --deterministic -- binary` print the same lines (getres*id, set*id keeping the
current ids, setgroups, capget/capset, setrlimit, the sched_* calls, getcpu, personality,
and POSIX timers: SIGEV_SIGNAL one-shot and interval, SIGEV_NONE, overruns while blocked,
SIGEV_THREAD_ID with TIMER_ABSTIME, timer_delete), exit 0, and vmemu reports no
unimplemented syscall on stderr.
Prints PASS/FAIL per check and "N passed, M failed". Python 3 standard library only.
"""
import argparse
import os
import sys

from harness import Failure, execute, finish_checks, line_diff, tail

VARIANTS = ("glibc", "glibc-pie", "musl", "musl-pie")


def compare(vmemu, binary, mode):
    native = execute([binary])
    if native.status != 0:
        raise Failure("natively: status %d\n%s%s" % (native.status, tail(native.out),
                                                     tail(native.err)))
    vm = execute([vmemu] + mode + ["--", binary])
    if vm.status != native.status or vm.out != native.out:
        raise Failure("status %d (natively %d), stdout:\n%s%s" % (
            vm.status, native.status, line_diff(native.out, vm.out), tail(vm.err)))
    if "unimplemented syscall" in vm.err:
        raise Failure("unimplemented syscall reported:\n%s" % tail(vm.err))
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vmemu", required=True)
    ap.add_argument("--samples", required=True)
    o = ap.parse_args()
    vmemu = os.path.abspath(o.vmemu)
    checks = []
    for v in VARIANTS:
        binary = os.path.join(os.path.abspath(o.samples), "ids_sched-" + v)
        if not os.path.exists(binary):
            continue
        for name, mode in (("", []), (" --deterministic", ["--deterministic"])):
            checks.append(("ids_sched-%s%s (native output)" % (v, name),
                           lambda b=binary, m=mode: compare(vmemu, b, m)))
    return finish_checks(checks, "no ids_sched sample built in %s" % o.samples)


if __name__ == "__main__":
    sys.exit(main())
