#!/usr/bin/env python3
"""System V IPC inside vmemu: semaphores, message queues and shared memory.

Usage: sysvipc_e2e.py --vmemu PATH --samples BUILD/samples

- samples/sysvipc.c, every built variant: the native run and the vmemu run print the same
  lines (a shared-memory segment shared across fork with its shm_nattch, its
  "/SYSV00000000 (deleted)" line in /proc/self/maps, IPC_RMID then detach; a semaphore a
  child sleeps on until the parent posts, SEM_UNDO, IPC_NOWAIT, semtimedop's timeout,
  EINTR and EIDRM for a sleeper; typed messages, a blocking msgrcv, msgtyp > 0, 0, < 0,
  MSG_EXCEPT, E2BIG, MSG_NOERROR, ENOMSG, a full queue, EIDRM for a blocked receiver) and
  exit 0.
- `vmemu --stats` on the glibc variant twice: the same fault counts (the segment's pages
  are vmemu frames, faulted in the same way every run).
Prints PASS/FAIL per check and "N passed, M failed". Python 3 standard library only.
"""
import os
import re
import sys

from harness import e2e_options, Failure, built_variants, execute, finish_checks, line_diff, same_as_native, tail

def maps_named(vmemu, binary):
    """The native output under vmemu, with the segment named in the guest's maps."""
    vm = same_as_native(vmemu, [binary])
    if "/SYSV00000000 (deleted)" not in vm.out:
        raise Failure("the segment is not in the guest's /proc/self/maps:\n%s" % tail(vm.out))
    return None


def fault_lines(err):
    """The fault counters of a --stats report (every process's)."""
    return [l.strip() for l in err.splitlines()
            if re.search(r"(page faults|zero page|new anonymous|page-cache hit|COW|shared file"
                         r"|swap-cache|swap-in|file read|re-read|Stack growth|Invalid accesses"
                         r"|past the end)", l)]


def stats_repeat(vmemu, binary):
    runs = [execute([vmemu, "--stats", "--", binary]) for _ in range(2)]
    for r in runs:
        if r.status != 0:
            raise Failure("status %d\n%s" % (r.status, tail(r.err)))
    a, b = fault_lines(runs[0].err), fault_lines(runs[1].err)
    if not a:
        raise Failure("no fault counts in the report:\n%s" % tail(runs[0].err))
    if a != b:
        raise Failure("fault counts differ between two runs:\n%s" % line_diff(
            "\n".join(a) + "\n", "\n".join(b) + "\n"))
    return None


def main():
    o = e2e_options(__doc__)
    vmemu = o.vmemu
    checks = []
    for v, binary in built_variants(o.samples, "sysvipc"):
        checks.append(("sysvipc-%s (native output)" % v, lambda b=binary: maps_named(vmemu, b)))
    glibc = os.path.join(os.path.abspath(o.samples), "sysvipc-glibc")
    if os.path.exists(glibc):
        checks.append(("sysvipc-glibc --stats twice: the same fault counts",
                       lambda: stats_repeat(vmemu, glibc)))
    return finish_checks(checks, "no sysvipc sample built in %s" % o.samples)


if __name__ == "__main__":
    sys.exit(main())
