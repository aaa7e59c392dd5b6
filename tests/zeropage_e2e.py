#!/usr/bin/env python3
"""The zero page on anonymous read faults: vmemu follows the host's kernel by default.

Usage: zeropage_e2e.py --vmemu PATH --samples BUILD/samples

samples/zeropage.c reads, then writes, 64 fresh anonymous pages and prints the minor faults
of each phase and whether the resident set grew after the reads. Hosts differ: some
kernels map the shared zero page on the read (64 + 64 faults, no growth), others allocate
a page (64 + 0, growth). For every built variant:
  - `vmemu --zero-page host` (the default) prints what the native run prints on this host;
  - `--zero-page on` prints "write faults 64" and no growth, `--zero-page off` "write faults
    0" and growth, on any host;
  - `--stats` says which it did and why ("Zero page on anonymous read faults: yes (as the
    host's kernel does)").
Prints PASS/FAIL per check and "N passed, M failed". Python 3 standard library only.
"""
import sys

from harness import Failure, built_variants, e2e_options, execute, finish_checks, same_as_native

FORCED = {"on": ("read faults 64, write faults 64\n"
                 "resident set after the reads: did not grow\n"),
          "off": ("read faults 64, write faults 0\n"
                  "resident set after the reads: grew by the pages read\n")}


def forced(vmemu, binary, mode):
    vm = execute([vmemu, "--zero-page", mode, "--stats", "--", binary])
    if vm.status != 0 or vm.out != FORCED[mode]:
        raise Failure("--zero-page %s: status %d, printed %r" % (mode, vm.status, vm.out))
    want = "Zero page on anonymous read faults: %s (--zero-page)" % ("yes" if mode == "on"
                                                                       else "no")
    if want not in vm.err:
        raise Failure("--stats does not say %r" % want)
    return None


def host(vmemu, binary):
    vm = same_as_native(vmemu, [binary], ["--zero-page", "host", "--stats"])
    mapped = "write faults 64" in vm.out
    want = "Zero page on anonymous read faults: %s (as the host's kernel does)" % (
        "yes" if mapped else "no")
    if want not in vm.err:
        raise Failure("--stats does not say %r" % want)
    return None


def main():
    o = e2e_options(__doc__)
    checks = []
    for v, binary in built_variants(o.samples, "zeropage"):
        checks.append(("zeropage-%s follows the host" % v, lambda b=binary: host(o.vmemu, b)))
        for mode in ("on", "off"):
            checks.append(("zeropage-%s --zero-page %s" % (v, mode),
                           lambda b=binary, m=mode: forced(o.vmemu, b, m)))
    return finish_checks(checks, "no zeropage sample built in %s" % o.samples)


if __name__ == "__main__":
    sys.exit(main())
