#!/usr/bin/env python3
"""File locks and FIFOs between guest processes (issue 17 part 4).

Usage: locks_e2e.py --vmemu PATH --samples BUILD/samples

- samples/locks.c and samples/fifo.c, every built variant: the native run and the vmemu
  run print the same lines and exit 0 (POSIX, flock and OFD locks between processes, a
  F_SETLKW that waits for the parent's unlock, EDEADLK; a FIFO whose reader or writer
  opens first and waits for the other, ENXIO without a reader).
- `locks hang` under vmemu: two processes each wait for the other's flock lock (Linux
  hangs); vmemu's deadlock report names both waits and ends the run at once.
Prints PASS/FAIL per check and "N passed, M failed". Python 3 standard library only.
"""
import os
import sys

from harness import e2e_options, Failure, built_variants, execute, finish_checks, same_as_native, tail

SAMPLES = ("locks", "fifo")


def hang(vmemu, binary):
    vm = execute([vmemu, "--", binary, "hang"])
    if vm.status == 0 or "deadlock" not in vm.err:
        raise Failure("status %d, no deadlock report:\n%s" % (vm.status, tail(vm.err)))
    if vm.err.count("waits for a file lock") != 2:
        raise Failure("the report does not name both lock waits:\n%s" % tail(vm.err))
    return None


def main():
    o = e2e_options(__doc__)
    vmemu = o.vmemu
    checks = []
    for name in SAMPLES:
        for v, binary in built_variants(o.samples, name):
            checks.append(("%s-%s (native output)" % (name, v),
                           lambda b=binary: same_as_native(vmemu, [b]) and None))
            if name == "locks":
                checks.append(("locks-%s hang (deadlock report)" % v,
                               lambda b=binary: hang(vmemu, b)))
    return finish_checks(checks, "no locks or fifo sample built in %s" % o.samples)


if __name__ == "__main__":
    sys.exit(main())
