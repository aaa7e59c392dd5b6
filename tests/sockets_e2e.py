#!/usr/bin/env python3
"""Sockets end to end (issue 17): samples/sockets.c natively and under vmemu.

Usage: sockets_e2e.py --vmemu PATH --samples BUILD/samples [-k SUBSTRING] [--jobs N]

- `sockets`, every built variant (glibc, glibc-pie, musl, musl-pie): TCP and UDP on
  127.0.0.1, AF_UNIX stream with a path and an abstract name, SCM_RIGHTS and SO_PEERCRED
  across fork, blocking accept/connect/recv/send that sleep in vmemu's scheduler,
  MSG_WAITALL, SO_RCVTIMEO, nonblocking accept, poll on a listener, shutdown, seqpacket,
  sendmmsg/recvmmsg and a server thread. The native run exits 0 (every check of the
  sample holds) and the vmemu run prints the same stdout with the same status.
- `sockets refuse` under vmemu, every variant: AF_UNIX names under /proc give EACCES,
  other families EAFNOSUPPORT, options that carry pointers ENOPROTOOPT (exact lines).
Prints PASS/FAIL per check and "N passed, M failed"; status 1 when a check failed.
Python 3 standard library only.
"""
import os
import sys

from harness import built_variants, e2e_options, execute, finish_checks, line_diff, same_as_native, tail


REFUSE_EXPECTED = """bind /proc/self/cwd/sock: -1 EACCES
connect //./proc/1/root/x: -1 EACCES
socket AF_NETLINK: -1 errno 97
socket AF_PACKET: -1 errno 97
SO_ATTACH_FILTER: -1 errno 92
level SOL_PACKET: -1 errno 92
"""


def build_checks(vmemu, samples, variants):
    checks = []

    def refuse(prog):
        def check():
            vm = execute([vmemu, "--", prog, "refuse"])
            if vm.status != 0:
                return "status %d (stderr: %s)" % (vm.status, tail(vm.err))
            if vm.out != REFUSE_EXPECTED:
                return "stdout differs:\n" + line_diff(REFUSE_EXPECTED, vm.out)
            return None
        return check

    for v in variants:
        prog = os.path.join(samples, "sockets-" + v)
        checks.append(("sockets " + v, lambda b=prog: same_as_native(vmemu, [b]) and None))
        checks.append(("sockets refuse " + v, refuse(prog)))
    return checks


def main():
    o = e2e_options(__doc__, lambda ap: ap.add_argument(
        "-k", dest="filter", default="", help="run only the checks whose name contains this"))
    variants = [v for v, _ in built_variants(o.samples, "sockets")]
    checks = [(n, c) for n, c in build_checks(o.vmemu, os.path.abspath(o.samples), variants)
              if o.filter in n]
    return finish_checks(checks, "no sockets sample built in %s" % o.samples)


if __name__ == "__main__":
    sys.exit(main())
