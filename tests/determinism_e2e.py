#!/usr/bin/env python3
"""--deterministic: the guest's time and chance repeat from run to run.

Usage: determinism_e2e.py --vmemu PATH --samples BUILD/samples

samples/timechance.c prints its AT_RANDOM and getrandom bytes, the time-stamp counter, how
long a 1.5 s nanosleep took on CLOCK_MONOTONIC, how late a 10 ms interval timer's SIGALRM
stopped a loop that makes no syscall, its CPU-time clocks and the wall clock, and checks
what holds on any clock (exit 0). For every built variant:
  - natively and under vmemu with the host's clocks it passes its own checks, and two
    vmemu runs print other random bytes (the host's);
  - under `vmemu --deterministic` (SOURCE_DATE_EPOCH set) two runs print the same lines,
    every one; the sleep took the 1.5 s it asked for plus less than a millisecond of the
    program's own work; an hour's sleep (`timechance sleep 3600`) takes less than a
    minute of host time; the timer fired less than 0.1 ms after it was due (with the host's
    clocks the watchdog may let a loop run 50 ms); the wall clock starts at
    SOURCE_DATE_EPOCH; --seed 2 gives other random bytes and the same durations.
Prints PASS/FAIL per check and "N passed, M failed". Python 3 standard library only.
"""
import os
import re
import sys
import time

from harness import e2e_options, Failure, execute, finish_checks, line_diff, tail

VARIANTS = ("glibc", "glibc-pie", "musl", "musl-pie")
EPOCH = 1700000000
RANDOM_LINES = ("at_random", "getrandom")


def fields(out):
    """The sample's lines by their first word."""
    return {l.split()[0]: l for l in out.splitlines() if l.strip()}


def number(line, pattern):
    m = re.search(pattern, line)
    if not m:
        raise Failure("no %r in %r" % (pattern, line))
    return int(m.group(1))


def host_clocks(vmemu, binary):
    """Natively and under vmemu's default (host) clocks: the checks hold, chance varies."""
    native = execute([binary])
    if native.status != 0:
        raise Failure("natively: status %d\n%s" % (native.status, tail(native.out)))
    a, b = execute([vmemu, "--", binary]), execute([vmemu, "--", binary])
    for r in (a, b):
        if r.status != 0:
            raise Failure("under vmemu: status %d\n%s%s" % (r.status, tail(r.out), tail(r.err)))
    fa, fb = fields(a.out), fields(b.out)
    for key in RANDOM_LINES:
        if fa.get(key) == fb.get(key):
            raise Failure("two runs with the host's entropy printed the same %s" % fa.get(key))
    return None


def virtual(vmemu, binary, seed="1", args=()):
    cmd = ["env", "SOURCE_DATE_EPOCH=%d" % EPOCH, vmemu, "--deterministic", "--seed", seed,
           "--", binary] + list(args)
    start = time.monotonic()
    r = execute(cmd)
    took = time.monotonic() - start
    if r.status != 0:
        raise Failure("status %d\n%s%s" % (r.status, tail(r.out), tail(r.err)))
    return r, took


def deterministic(vmemu, binary):
    """--deterministic: the same lines in every run, virtual time, seeded chance."""
    (a, _), (b, _) = virtual(vmemu, binary), virtual(vmemu, binary)
    if a.out != b.out:
        raise Failure("two --deterministic runs differ:\n" + line_diff(a.out, b.out))
    f = fields(a.out)
    slept = number(f["slept"], r"slept (\d+) ns")
    if not 1500000000 <= slept < 1501000000:
        raise Failure("the 1.5 s sleep took %d ns of guest time" % slept)
    late = number(f["alarm"], r"alarm after (\d+) ns")
    if not 10000000 <= late < 10100000:
        raise Failure("the 10 ms timer stopped the loop after %d ns" % late)
    wall = number(f["realtime"], r"realtime (\d+)")
    if not EPOCH <= wall < EPOCH + 60:
        raise Failure("CLOCK_REALTIME reads %d s, SOURCE_DATE_EPOCH is %d" % (wall, EPOCH))
    hour, took = virtual(vmemu, binary, "1", ["sleep", "3600"])
    if hour.out != "slept 3600 s\n" or took >= 60:
        raise Failure("an hour's sleep printed %r and took %.1f s of host time" % (hour.out, took))
    c, _ = virtual(vmemu, binary, "2")
    fc = fields(c.out)
    for key in RANDOM_LINES:
        if fc[key] == f[key]:
            raise Failure("--seed 2 gave the same %s as --seed 1" % key)
    for key in ("slept", "alarm"):  # durations of the same code (absolute times are not:
        if fc.get(key) != f[key]:    # printing other bytes takes other work)
            raise Failure("--seed 2 changed a duration: %s / %s" % (f[key], fc.get(key)))
    return None


def main():
    o = e2e_options(__doc__)
    vmemu = o.vmemu
    checks = []
    for v in VARIANTS:
        binary = os.path.join(os.path.abspath(o.samples), "timechance-" + v)
        if os.path.exists(binary):
            checks.append(("timechance-%s host clocks" % v, lambda b=binary: host_clocks(vmemu, b)))
            checks.append(("timechance-%s --deterministic" % v,
                           lambda b=binary: deterministic(vmemu, b)))
    return finish_checks(checks, "no timechance sample built in %s" % o.samples)


if __name__ == "__main__":
    sys.exit(main())
