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
import os
import sys

from harness import e2e_options, built_variants, finish_checks, same_as_native

def main():
    o = e2e_options(__doc__)
    vmemu = o.vmemu
    checks = []
    for v, binary in built_variants(o.samples, "ids_sched"):
        for name, mode in (("", []), (" --deterministic", ["--deterministic"])):
            checks.append(("ids_sched-%s%s (native output)" % (v, name),
                           lambda b=binary, m=mode: same_as_native(vmemu, [b], m) and None))
    return finish_checks(checks, "no ids_sched sample built in %s" % o.samples)


if __name__ == "__main__":
    sys.exit(main())
