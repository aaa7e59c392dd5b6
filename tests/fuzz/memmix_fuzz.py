#!/usr/bin/env python3
"""The memory-mix fuzzer: a static guest that checks itself makes random memory operations,
fork included; vmemu must give it exactly what Linux would, and never crash or hang.

Usage: memmix_fuzz.py --vmemu PATH --samples BUILD/samples [--runs N] [--ops N]
                      [--seed S] [--timeout SECONDS] [--mem SIZE[,SIZE...]] [--native]

Each run is samples/fuzz_memmix (glibc or musl, static or static-PIE) with its own seed, in
a new scratch folder (its working directory, where it keeps its scratch file), under vmemu;
every other run gets a small --mem drawn from --mem (default 1M,2M,3M,4M), so that reclaim
and swap join in. The guest keeps a model of every page (see samples/fuzz_memmix.c) and
checks every read and every call's result against it. Outcomes:
  passed         the guest ended with status 0
  data mismatch  status 3: a page or the file did not hold what the model says
  wrong result   status 4: a call returned what Linux would not have
  guest signal   the guest (status 128+N) or one of its fork children (status 5) was killed
  other exit     any other status
  vmemu crash    vmemu died by a signal, or printed an internal error or a sanitizer report
  hang           no end within --timeout seconds
Every outcome but "passed" is a failure and prints a reproducer command and the guest's
first lines on stderr. --native runs the same guests and seeds without vmemu (the model's
own check: every run must pass). Prints the outcome counts and "N passed, M failed".
Python 3 standard library only.
"""
import argparse
import os
import random
import sys
import tempfile

from fuzzlib import run_in_scratch, vmemu_failure

VARIANTS = ("glibc", "musl", "glibc-pie", "musl-pie")
STATUS = {0: "passed", 3: "data mismatch", 4: "wrong result", 5: "guest signal"}


def classify(p, timed_out, native):
    failed = None if native and not timed_out else vmemu_failure(p, timed_out)
    if failed:
        return failed
    if p.returncode > 128 or p.returncode < 0:
        return "guest signal"
    return STATUS.get(p.returncode, "other exit")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vmemu")
    ap.add_argument("--samples", required=True)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--ops", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--mem", default="1M,2M,3M,4M", help="--mem sizes of every other run")
    ap.add_argument("--native", action="store_true", help="run the guests without vmemu")
    o = ap.parse_args()
    if not o.native and not o.vmemu:
        ap.error("--vmemu is needed unless --native")
    guests = [os.path.join(os.path.abspath(o.samples), "fuzz_memmix-" + v) for v in VARIANTS]
    guests = [g for g in guests if os.path.exists(g)]
    if not guests:
        print("FAIL no fuzz_memmix sample in %s" % o.samples)
        print("0 passed, 1 failed")
        return 1
    mems = o.mem.split(",")
    rng = random.Random(o.seed)
    outcomes, failures = {}, 0
    for run in range(o.runs):
        seed = rng.getrandbits(32)
        guest = rng.choice(guests)
        mem = rng.choice(mems)
        opts = ["--mem", mem] if run % 2 else []
        guest_cmd = [guest, str(seed), str(o.ops)]
        cmd = guest_cmd if o.native else [os.path.abspath(o.vmemu)] + opts + ["--"] + guest_cmd
        p, timed_out = run_in_scratch(cmd, o.timeout, "vmemu-memmix-fuzz-")
        what = classify(p, timed_out, o.native)
        outcomes[what] = outcomes.get(what, 0) + 1
        if what != "passed":
            failures += 1
            keep = os.path.join(tempfile.gettempdir(), "vmemu-memmix-fuzz-run%d.stderr" % run)
            with open(keep, "w") as f:
                f.write(p.stderr if p else "")
            lines = [x for x in (p.stderr if p else "").splitlines()
                     if x.startswith(("fuzz_memmix", "vmemu:", "  ", "=="))][:6]
            print("FAIL run %d: %s (status %s; stderr kept in %s)\n  reproduce (in an empty "
                  "folder): %s" % (run, what, p.returncode if p else "-", keep, " ".join(cmd)))
            for line in lines:
                print("  | " + line)
            sys.stdout.flush()
    print("outcomes of %d runs (seed %d, %d operations each%s): %s" % (
        o.runs, o.seed, o.ops, ", native" if o.native else "",
        ", ".join("%s %d" % kv for kv in sorted(outcomes.items()))))
    print("%d passed, %d failed" % (o.runs - failures, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
