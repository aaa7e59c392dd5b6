#!/usr/bin/env python3
"""Benchmark: vmemu against native execution and qemu-user, measured in one run.

Usage: bench.py --vmemu PATH --samples BUILD/samples [--reps 5] [--variant glibc]
                [--qemu qemu-x86_64] [--bench-unicorn BUILD/tests/bench_unicorn]

Not a test: it asserts nothing and is not registered with CTest. Every time is the median
wall-clock time of --reps runs (stdout discarded), on this machine, now; only the ratios
printed in the same run are meaningful, never numbers from another machine or day.

What the numbers mean:
  table         per sample: native, qemu-user and vmemu time in ms; vmemu/native is the
                whole cost of emulation; vmemu/qemu compares vmemu (Unicorn, i.e. QEMU's
                TCG JIT, plus vmemu's software MMU, page tables, TLB and fault handler)
                with qemu-user (the same kind of JIT, with the host kernel's MMU).
  fault cost    (a) demand-zero cost: `faults N` maps N pages and writes one byte in
                each. (t(N_big) - t(N_small)) / (N_big - N_small) is the marginal cost of
                one first-touch anonymous fault, in microseconds (start-up cancels out).
                Natively this is the Linux page fault; under vmemu it is the Unicorn TLB
                miss, vmemu's page walk, fault handler and frame zeroing.
                (a') the same on frames that are already resident: `faults N R` maps,
                touches and unmaps N pages R times; rounds after the first reuse the
                frames the first one freed (vmemu hands freed frames out last-in
                first-out), so (t(R) - t(1)) / (N * (R - 1)) is the cost of a demand-zero
                fault without the host's own first-touch fault (plus a share of the
                mmap/munmap calls).
  compute       (b) `compute ROUNDS` is a tight integer loop over a 1 MiB array that
                makes no system calls and, once its pages are mapped, no faults. Its
                vmemu/qemu ratio isolates the cost of running translated code under vmemu
                (virtual-TLB fills, hooks) against plain TCG: the "vmemu vs plain
                Unicorn/QEMU" comparison. A ratio near 1 means vmemu's memory system adds
                nothing once the working set is mapped.
  plain Unicorn (c) tests/bench_unicorn (when built, BUILD_TESTING=ON) runs one machine-code
                loop on plain Unicorn (uc_mem_map, no hooks) and on vmemu's CPU layer
                (virtual-TLB mode through vmemu's page tables) and prints both times and
                vmemu/plain: the cost of vmemu's MMU alone, with no libc, loader or
                syscalls in the way. Printed as it reports it, median of --reps runs.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

# (sample, args) timed by the table.
SELECTED = (
    ("hello", ()),
    ("malloc", ()),
    ("mmap", ()),
    ("bss", ("sparse",)),
    ("bss", ("write", "20000")),
    ("faults", ("50000",)),
    ("compute", ("20",)),
)
FAULTS_SMALL, FAULTS_BIG = 10000, 100000
RESIDENT_ROUNDS = 21
COMPUTE_ROUNDS = ("40",)


def median_time(cmd, reps):
    """Median wall time of cmd in seconds, or "exit N" when a run fails (qemu-user 7.2,
    for one, does not implement MAP_FIXED_NOREPLACE, so mmap fails its check there)."""
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        t1 = time.perf_counter()
        if p.returncode != 0:
            return "exit %d" % p.returncode
        times.append(t1 - t0)
    return statistics.median(times)


def ok(t):
    return isinstance(t, float)


def ms(t):
    return "%.1f" % (t * 1e3) if ok(t) else str(t or "-")


def ratio(a, b):
    return "%.1fx" % (a / b) if ok(a) and ok(b) and b > 0 else "-"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vmemu", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--variant", default="glibc")
    ap.add_argument("--qemu", default="qemu-x86_64")
    ap.add_argument("--bench-unicorn", default=None,
                    help="bench_unicorn executable (default: SAMPLES/../tests/bench_unicorn)")
    o = ap.parse_args()

    qemu = shutil.which(o.qemu)
    runners = [("native", [])]
    if qemu:
        runners.append(("qemu", [qemu]))
    else:
        print("(%s not found: no qemu column)" % o.qemu)
    runners.append(("vmemu", [os.path.abspath(o.vmemu)]))

    def prog(sample):
        return os.path.join(os.path.abspath(o.samples), "%s-%s" % (sample, o.variant))

    def timed(sample, args):
        return {name: median_time(pre + [prog(sample)] + list(args), o.reps)
                for name, pre in runners}

    print("median of %d runs, %s variant, times in ms" % (o.reps, o.variant))
    print("%-22s %10s %10s %10s %14s %12s" % ("sample", "native", "qemu", "vmemu",
                                             "vmemu/native", "vmemu/qemu"))
    for sample, args in SELECTED:
        t = timed(sample, args)
        print("%-22s %10s %10s %10s %14s %12s"
              % ((sample + " " + " ".join(args)).strip(), ms(t["native"]), ms(t.get("qemu")),
                 ms(t["vmemu"]), ratio(t["vmemu"], t["native"]),
                 ratio(t["vmemu"], t.get("qemu"))))

    print("\n(a) demand-zero fault cost: faults %d vs faults %d" % (FAULTS_BIG, FAULTS_SMALL))
    small = timed("faults", (str(FAULTS_SMALL),))
    big = timed("faults", (str(FAULTS_BIG),))
    for name, _ in runners:
        if not ok(small[name]) or not ok(big[name]):
            print("  %-7s failed (%s, %s)" % (name, ms(small[name]), ms(big[name])))
            continue
        us = (big[name] - small[name]) / (FAULTS_BIG - FAULTS_SMALL) * 1e6
        print("  %-7s %.2f us per fault" % (name, us))

    print("\n(a') demand-zero fault on resident frames: faults %d %d vs faults %d 1"
          % (FAULTS_SMALL, RESIDENT_ROUNDS, FAULTS_SMALL))
    once = timed("faults", (str(FAULTS_SMALL), "1"))
    again = timed("faults", (str(FAULTS_SMALL), str(RESIDENT_ROUNDS)))
    for name, _ in runners:
        if not ok(once[name]) or not ok(again[name]):
            print("  %-7s failed (%s, %s)" % (name, ms(once[name]), ms(again[name])))
            continue
        us = (again[name] - once[name]) / (FAULTS_SMALL * (RESIDENT_ROUNDS - 1)) * 1e6
        print("  %-7s %.2f us per fault (with its share of mmap/munmap)" % (name, us))

    print("\n(b) compute %s: translated code with warm TLBs" % COMPUTE_ROUNDS[0])
    t = timed("compute", COMPUTE_ROUNDS)
    print("  native %s ms, qemu %s ms, vmemu %s ms; vmemu/qemu %s, vmemu/native %s"
          % (ms(t["native"]), ms(t.get("qemu")), ms(t["vmemu"]),
             ratio(t["vmemu"], t.get("qemu")), ratio(t["vmemu"], t["native"])))

    bu = o.bench_unicorn or os.path.join(os.path.abspath(o.samples), "..", "tests",
                                         "bench_unicorn")
    print("\n(c) plain Unicorn vs vmemu's CPU layer (%s)" % os.path.normpath(bu))
    if not os.access(bu, os.X_OK):
        print("  not built (configure with BUILD_TESTING=ON and build bench_unicorn)")
        return 0
    ratios = []
    for _ in range(o.reps):
        p = subprocess.run([bu], capture_output=True, text=True)
        m = re.search(r"plain-unicorn ([\d.]+) ms, vmemu ([\d.]+) ms", p.stdout)
        if p.returncode != 0 or not m:
            print("  failed: %s" % (p.stdout + p.stderr).strip())
            return 0
        ratios.append((float(m.group(2)) / float(m.group(1)), m.group(1), m.group(2)))
    r, plain, vm = sorted(ratios)[len(ratios) // 2]
    print("  plain Unicorn %s ms, vmemu CPU layer %s ms; vmemu/plain %.2fx" % (plain, vm, r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
