#!/usr/bin/env python3
"""File syscalls that were ENOSYS under vmemu behave as on Linux.

Usage: fileops_e2e.py --vmemu PATH --samples BUILD/samples

- samples/fileops.c, every built variant (glibc, glibc-pie, musl, musl-pie): creat,
  the xattr family, utime/utimes/futimesat, readahead, preadv/pwritev and their v2 forms
  (with a MAP_SHARED mapping that must see the writes), copy_file_range (also of a file
  modified through a shared mapping), memfd_create with seals and a shared mapping,
  inotify (a non-blocking read, and a blocking one woken by a child) and epoll_pwait2.
  The native run and the vmemu run print the same lines and exit 0, and vmemu reports
  no unimplemented syscall on stderr.
Prints PASS/FAIL per check and "N passed, M failed". Python 3 standard library only.
"""
import os
import sys

from harness import e2e_options, built_variants, finish_checks, same_as_native

def main():
    o = e2e_options(__doc__)
    vmemu = o.vmemu
    checks = []
    for v, binary in built_variants(o.samples, "fileops"):
        checks.append(("fileops-%s (native output, nothing unimplemented)" % v,
                       lambda b=binary: same_as_native(vmemu, [b]) and None))
    return finish_checks(checks, "no fileops sample built in %s" % o.samples)


if __name__ == "__main__":
    sys.exit(main())
