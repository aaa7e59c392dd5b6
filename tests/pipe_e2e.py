#!/usr/bin/env python3
"""Pipes end to end: pipe_io and busybox shell pipelines, natively and under vmemu.

Usage: pipe_e2e.py --vmemu PATH --samples BUILD/samples [-k SUBSTRING] [--jobs N]

Checks:
  - pipe_io (samples/pipe_io.c), every variant (glibc, musl, PIE or not): blocking reads
    and writes that sleep in vmemu's scheduler, 1 MiB between a parent and a child with
    checksums, poll/ppoll/select/pselect6 with timeouts, O_NONBLOCK, EPIPE/SIGPIPE,
    pipe2 flags and close-on-exec across execve. Its stdout and exit status under vmemu
    are the native ones, and natively every check of it holds (status 0);
  - `pipe_io sigpipe`, every variant: killed by SIGPIPE (status 141) in both runs;
  - shell pipelines run by busybox sh (/bin/busybox, busybox-static): `busybox sh -c
    SCRIPT` natively and `vmemu /bin/busybox sh -c SCRIPT` give the same stdout, the same
    exit status and the same stderr (vmemu's own "vmemu: " notices aside: a writer killed
    by SIGPIPE says nothing, one that only got EPIPE complains). The scripts stream more
    than a pipe holds, stop readers early (SIGPIPE upstream), copy a large file through
    cat (sendfile into a pipe), use command substitution, subshells, xargs, gzip, the
    read builtin (byte reads, then a timed read that expires on an empty pipe) and
    pipeline exit statuses.

Each check prints "PASS name" or "FAIL name: reason"; the last line is "N passed, M
failed"; the exit status is 1 when a check failed. Python 3 standard library only.
"""

import argparse
import os
import sys
import time

from harness import Failure, execute, line_diff, run_checks, tail

VARIANTS = ("glibc", "glibc-pie", "musl", "musl-pie")
BUSYBOX = "/bin/busybox"
SIGPIPE_STATUS = 128 + 13

# (name, script for busybox sh -c). Every command is a busybox applet, so that nothing
# dynamically linked is started (vmemu runs static programs only).
SCRIPTS = (
    ("sort reversed, head", "busybox seq 1 20000 | busybox sort -r | busybox head -3"),
    ("yes into head (SIGPIPE upstream)",
     "busybox yes | busybox head -c 1000000 | busybox md5sum"),
    ("count lines", "busybox seq 1 100000 | busybox wc -l"),
    ("cat of a large file through two pipes",
     "busybox cat /bin/busybox | busybox cat | busybox md5sum"),
    ("four stages, statuses",
     "busybox seq 1 50000 | busybox grep 7 | busybox sort -n | busybox tail -2; "
     "echo status=$?"),
    ("command substitution", "x=$(busybox seq 1 5 | busybox tr '\\n' ' '); echo \"[$x]\""),
    ("subshell into a pipe", "(busybox seq 1 3; echo x) | busybox cat -n"),
    ("read builtin then the rest",
     "busybox seq 1 30000 | (read a; read b; echo $a $b; busybox wc -l)"),
    ("xargs", "busybox printf 'a\\nb\\nc\\n' | busybox xargs -n1 busybox echo item"),
    ("gzip both ways",
     "busybox seq 1 20000 | busybox gzip -c | busybox gzip -dc | busybox tail -1"),
    ("exit status of the last stage",
     "busybox sh -c 'exit 3' | busybox true; echo $?; busybox true | busybox sh -c 'exit 5'"),
    ("timed read on an empty pipe",
     "(busybox sleep 1; echo late) | (read -t 0.05 x; echo \"rc=$? x=[$x]\"; read y; "
     "echo \"y=$y\")"),
    ("early exit of the reader",
     "busybox seq 1 200000 | busybox head -1; busybox seq 1 200000 | busybox sed -n 2p"),
)


def without_vmemu_lines(text):
    return "".join(l for l in text.splitlines(True) if not l.startswith("vmemu: "))


def compare(native, vm, stderr_too=False):
    """None when the two Runs agree, else the reason."""
    if native.status != vm.status:
        return "exit status: native %d, vmemu %d (vmemu stderr: %s)" % (
            native.status, vm.status, tail(vm.err))
    if native.out != vm.out:
        return "stdout differs:\n" + line_diff(native.out, vm.out)
    if stderr_too and native.err != without_vmemu_lines(vm.err):
        return "stderr differs:\n" + line_diff(native.err, without_vmemu_lines(vm.err))
    return None


def build_checks(vmemu, samples):
    checks = []

    def pipe_io(variant):
        prog = os.path.join(samples, "pipe_io-" + variant)

        def check():
            native = execute([prog])
            if native.status != 0:
                raise Failure("native run failed (status %d): %s" % (
                    native.status, tail(native.out)))
            return compare(native, execute([vmemu, prog]))
        return check

    def sigpipe(variant):
        prog = os.path.join(samples, "pipe_io-" + variant)

        def check():
            native = execute([prog, "sigpipe"])
            if native.status != SIGPIPE_STATUS:
                raise Failure("native status %d, expected %d" % (native.status,
                                                                  SIGPIPE_STATUS))
            return compare(native, execute([vmemu, prog, "sigpipe"]))
        return check

    def script(text):
        def check():
            native = execute([BUSYBOX, "sh", "-c", text])
            return compare(native, execute([vmemu, BUSYBOX, "sh", "-c", text]),
                           stderr_too=True)
        return check

    for v in VARIANTS:
        checks.append(("pipe_io " + v, pipe_io(v)))
        checks.append(("pipe_io sigpipe " + v, sigpipe(v)))
    for name, text in SCRIPTS:
        checks.append(("busybox: " + name, script(text)))
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
    start = time.monotonic()
    passed = failed = 0
    missing = [os.path.join(samples, "pipe_io-" + v) for v in VARIANTS]
    missing = [m for m in missing if not os.access(m, os.X_OK)]
    if not os.access(BUSYBOX, os.X_OK):
        missing.append(BUSYBOX + " (install busybox-static)")
    for m in missing:
        failed += 1
        print("FAIL %s: not built or not installed (target samples-all)" % m, flush=True)
    if not missing:
        checks = [(n, c) for n, c in build_checks(vmemu, samples) if opts.filter in n]
        passed, bad = run_checks(checks, opts.jobs)
        failed += bad
    print("(%.1f s)" % (time.monotonic() - start))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
