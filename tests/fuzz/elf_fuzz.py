#!/usr/bin/env python3
"""The ELF fuzzer: mutated static programs must be refused in one line or run; vmemu must
never crash, hang or fail an internal check.

Usage: elf_fuzz.py --vmemu PATH --samples BUILD/samples [--runs N] [--seed S]
                   [--timeout SECONDS] [--keep DIR]

Each run takes one seed program (hello, heap_bugs; glibc and musl, static and static-PIE),
applies 1 to 4 field-aware mutations drawn from the seed: an ELF header field, a program
header field, a section header field, a .symtab entry, a run of flipped bytes, or a
truncation, each set to a value biased towards edges (0, 1, -1, sign bits, page and file
boundaries, off-by-one of the original), and runs it under vmemu (a quarter of the runs
with --check heap). Outcomes:
  refused      exit 126 with exactly one "vmemu: ..." line on stderr
  ran          the guest ran to an exit status of its own
  guest signal the guest was killed by a signal (status 128+N, with vmemu's report)
  vmemu crash  vmemu died by a signal, or printed an internal error or a sanitizer report
  hang         no end within --timeout seconds
The last two are failures: each prints a reproducer (the mutated file is kept in --keep,
or a temporary folder, with the exact vmemu command). Prints the outcome counts and
"N passed, M failed". Python 3 standard library only.
"""
import argparse
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

from fuzzlib import RUN_ENV, vmemu_failure

SEEDS = ("hello", "heap_bugs")
VARIANTS = ("glibc", "glibc-pie", "musl", "musl-pie")
EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
PHDR = struct.Struct("<IIQQQQQQ")
SHDR = struct.Struct("<IIQQQQIIQQ")
SYM = struct.Struct("<IBBHQQ")
EHDR_FIELDS = [(16, "H"), (18, "H"), (20, "I"), (24, "Q"), (32, "Q"), (40, "Q"), (48, "I"),
               (52, "H"), (54, "H"), (56, "H"), (58, "H"), (60, "H"), (62, "H")]
PHDR_FIELDS = [(0, "I"), (4, "I"), (8, "Q"), (16, "Q"), (24, "Q"), (32, "Q"), (40, "Q"),
               (48, "Q")]
SHDR_FIELDS = [(0, "I"), (4, "I"), (8, "Q"), (16, "Q"), (24, "Q"), (32, "Q"), (40, "I"),
               (44, "I"), (48, "Q"), (56, "Q")]
SYM_FIELDS = [(0, "I"), (4, "B"), (6, "H"), (8, "Q"), (16, "Q")]
MASK = {"B": 0xff, "H": 0xffff, "I": 0xffffffff, "Q": 0xffffffffffffffff}


def edge_value(rng, orig, fmt, size):
    """A value for a field of format fmt whose original value is orig."""
    m = MASK[fmt]
    choices = [0, 1, m, m >> 1, (m >> 1) + 1, orig + 1, orig - 1, orig ^ 1, orig << 1,
               orig >> 1, size, size + 1, size - 1, 0x1000, 0xfff, 0x400000, 0x7ffffffff000,
               0xffff800000000000, rng.getrandbits(8 * struct.calcsize(fmt))]
    return rng.choice(choices) & m


def poke(data, off, fmt, value):
    n = struct.calcsize("<" + fmt)
    if 0 <= off and off + n <= len(data):
        data[off:off + n] = struct.pack("<" + fmt, value)


def peek(data, off, fmt):
    n = struct.calcsize("<" + fmt)
    if 0 <= off and off + n <= len(data):
        return struct.unpack_from("<" + fmt, data, off)[0]
    return 0


def mutate(rng, data):
    """Applies one mutation to data (a bytearray); returns a word saying which."""
    size = len(data)
    # An earlier truncation may have left less than an ELF header: read it zero-padded.
    e = EHDR.unpack(bytes(data[:EHDR.size]).ljust(EHDR.size, b"\0"))
    phoff, shoff, phnum, shnum = e[5], e[6], e[10], e[12]
    kind = rng.choice(("ehdr", "phdr", "phdr", "shdr", "sym", "flip", "truncate"))
    if kind == "ehdr":
        off, fmt = rng.choice(EHDR_FIELDS + [(4, "B"), (5, "B"), (6, "B"), (7, "B")])
        poke(data, off, fmt, edge_value(rng, peek(data, off, fmt), fmt, size))
    elif kind == "phdr" and phnum:
        base = phoff + PHDR.size * rng.randrange(phnum)
        off, fmt = rng.choice(PHDR_FIELDS)
        poke(data, base + off, fmt, edge_value(rng, peek(data, base + off, fmt), fmt, size))
    elif kind in ("shdr", "sym") and shnum and shoff + SHDR.size * shnum <= size:
        if kind == "sym":
            for i in range(shnum):
                sh = SHDR.unpack_from(data, shoff + SHDR.size * i)
                if sh[1] == 2 and sh[5] >= SYM.size:  # SHT_SYMTAB
                    base = sh[4] + SYM.size * rng.randrange(sh[5] // SYM.size)
                    off, fmt = rng.choice(SYM_FIELDS)
                    poke(data, base + off, fmt,
                         edge_value(rng, peek(data, base + off, fmt), fmt, size))
                    return kind
        base = shoff + SHDR.size * rng.randrange(shnum)
        off, fmt = rng.choice(SHDR_FIELDS)
        poke(data, base + off, fmt, edge_value(rng, peek(data, base + off, fmt), fmt, size))
        kind = "shdr"
    elif kind == "truncate" and size > 1:
        del data[rng.randrange(1, size):]
    else:
        at = rng.randrange(size)
        for i in range(rng.randrange(1, 9)):
            if at + i < len(data):
                data[at + i] ^= 1 << rng.randrange(8)
        kind = "flip"
    return kind


def classify(p, timed_out):
    failed = vmemu_failure(p, timed_out)
    if failed:
        return failed
    lines = [x for x in p.stderr.splitlines() if x.strip()]
    if p.returncode == 126 and len(lines) == 1 and lines[0].startswith("vmemu: "):
        return "refused"
    if p.returncode > 128:
        return "guest signal"
    return "ran"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vmemu", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--keep", default=None, help="folder for the files of failures")
    o = ap.parse_args()
    vmemu = os.path.abspath(o.vmemu)
    seeds = [os.path.join(os.path.abspath(o.samples), "%s-%s" % (s, v))
             for s in SEEDS for v in VARIANTS]
    seeds = [s for s in seeds if os.path.exists(s)]
    if not seeds:
        print("FAIL no seed program in %s" % o.samples)
        print("0 passed, 1 failed")
        return 1
    blobs = {s: open(s, "rb").read() for s in seeds}
    keep = o.keep or tempfile.mkdtemp(prefix="vmemu-elf-fuzz-")
    os.makedirs(keep, exist_ok=True)
    work = tempfile.mkdtemp(prefix="vmemu-elf-fuzz-run-")
    rng = random.Random(o.seed)
    outcomes = {}
    failures = 0
    env = RUN_ENV
    try:
        for run in range(o.runs):
            seed = rng.choice(seeds)
            data = bytearray(blobs[seed])
            kinds = [mutate(rng, data) for _ in range(rng.randrange(1, 5))]
            path = os.path.join(work, "prog")
            with open(path, "wb") as f:
                f.write(data)
            os.chmod(path, 0o755)
            opts = ["--check", "heap"] if rng.randrange(4) == 0 else []
            cmd = [vmemu] + opts + ["--", path]
            timed_out = False
            p = None
            try:
                p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                                   timeout=o.timeout, env=env, cwd=work, text=True,
                                   errors="replace")
            except subprocess.TimeoutExpired:
                timed_out = True
            what = classify(p, timed_out)
            outcomes[what] = outcomes.get(what, 0) + 1
            if what in ("vmemu crash", "hang"):
                failures += 1
                kept = os.path.join(keep, "run%d-%s" % (run, os.path.basename(seed)))
                shutil.copy(path, kept)
                print("FAIL run %d (%s from %s, %s): %s\n  reproduce: %s\n  %s"
                      % (run, "+".join(kinds), os.path.basename(seed), " ".join(opts) or "plain",
                         what, " ".join([vmemu] + opts + ["--", kept]),
                         (p.stderr.strip().splitlines() or [""])[-1] if p else ""), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not o.keep and failures == 0:
            shutil.rmtree(keep, ignore_errors=True)
    print("outcomes of %d runs (seed %d): %s" % (o.runs, o.seed, ", ".join(
        "%s %d" % (k, v) for k, v in sorted(outcomes.items()))))
    print("%d passed, %d failed" % (o.runs - failures, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
