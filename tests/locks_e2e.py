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
import argparse
import os
import sys

from harness import Failure, execute, line_diff, run_checks, tail

VARIANTS = ("glibc", "glibc-pie", "musl", "musl-pie")
SAMPLES = ("locks", "fifo")


def native_and_vmemu(vmemu, cmd):
    native = execute(cmd)
    vm = execute([vmemu, "--"] + cmd)
    if native.status != 0:
        raise Failure("natively: status %d\n%s%s" % (native.status, tail(native.out),
                                                     tail(native.err)))
    if vm.status != native.status or vm.out != native.out:
        raise Failure("status %d (natively %d), stdout:\n%s%s" % (
            vm.status, native.status, line_diff(native.out, vm.out), tail(vm.err)))
    return None


def hang(vmemu, binary):
    vm = execute([vmemu, "--", binary, "hang"])
    if vm.status == 0 or "deadlock" not in vm.err:
        raise Failure("status %d, no deadlock report:\n%s" % (vm.status, tail(vm.err)))
    if vm.err.count("waits for a file lock") != 2:
        raise Failure("the report does not name both lock waits:\n%s" % tail(vm.err))
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vmemu", required=True)
    ap.add_argument("--samples", required=True)
    o = ap.parse_args()
    vmemu = os.path.abspath(o.vmemu)
    checks = []
    for name in SAMPLES:
        for v in VARIANTS:
            binary = os.path.join(os.path.abspath(o.samples), "%s-%s" % (name, v))
            if os.path.exists(binary):
                checks.append(("%s-%s (native output)" % (name, v),
                               lambda b=binary: native_and_vmemu(vmemu, [b])))
                if name == "locks":
                    checks.append(("locks-%s hang (deadlock report)" % v,
                                   lambda b=binary: hang(vmemu, b)))
    if not checks:
        print("FAIL no locks or fifo sample built in %s" % o.samples)
        print("0 passed, 1 failed")
        return 1
    passed, failed = run_checks(checks, 2)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
