#!/usr/bin/env python3
"""`vmemu sweep`: one program run at several memory sizes and replacement policies.

Usage: sweep_e2e.py --vmemu PATH --samples BUILD/samples

Checks, each printed as "PASS label" or "FAIL label: reason":
  - table and CSV: `sweep --mem 1M,2M --policy fifo,lru --csv F workingset 400 3` prints
    the heading and one row per cell, policy by policy, sizes in the order given, with
    "exit" 0 and times with 3 decimals; F has the documented header and one line per cell
    in the same order, with the same numbers as the table;
  - determinism: every cell's counts in the CSV equal those of the JSON report of a direct
    `vmemu --mem M --policy P --report R` run of the same program (1M makes workingset's
    400 pages swap, so the paging columns are not all zero);
  - parallelism: -j 1 and -j 2 print the same table apart from the time column, in an
    order that does not depend on which run ends first (sizes given largest first);
  - exit column: a guest that crashes (nullderef, 139) or is OOM-killed (workingset's
    1600 KiB in 256K of memory and 256K of swap, 137) is a normal row with counts and
    sweep exits 0; a program that does not exist gives "127" and "-" counts, its stderr on
    sweep's stderr, and sweep exits 1;
  - usage errors exit 2 with one "vmemu: sweep: " line and nothing run; --help exits 0;
  - Belady's anomaly: `sweep --policy fifo` of `belady 32` (musl: its small libc leaves
    few file pages to evict besides the blocks) over sizes around room for 3 and for 4
    blocks prints a note for fifo, whose numbers are the table's, and the larger size has
    exactly 32 (BLOCKPAGES) more major faults: with room for 4 blocks FIFO faults on 10
    references instead of 9 (the textbook string 1 2 3 4 1 2 5 1 2 3 4 5), and each
    faulting reference is one major fault per page of its block.
Every sweep runs with TMPDIR set to an empty directory, which must be empty again after.
The last line is "N passed, M failed"; the exit status is 1 when a check failed.
Python 3 standard library only.
"""

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile

import harness
from harness import Failure, execute, run_checks, tail

HEADING = ["policy", "mem", "exit", "minor", "major", "swap-in", "file-read", "swap-outs",
           "writebacks", "evictions", "refault\u2030", "time(s)"]
CSV_HEADER = ("policy,mem_bytes,exit_status,minor,major,swap_in,file_major,swap_outs,"
              "file_writebacks,evictions,refault_permille,wall_seconds")
# CSV column -> where the same number is in a --report JSON (notes/issue4.md).
REPORT_KEYS = {
    "minor": ("processes", 0, "faults", "minor"),
    "major": ("processes", 0, "faults", "major"),
    "swap_in": ("processes", 0, "faults", "swap_in"),
    "file_major": ("processes", 0, "faults", "file_major"),
    "swap_outs": ("paging", "swap_outs"),
    "file_writebacks": ("paging", "file_writebacks"),
    "evictions": ("paging", "evictions"),
    "refault_permille": ("processes", 0, "refault_permille"),
}
SIZES = {"256K": 256 << 10, "1M": 1 << 20, "2M": 2 << 20, "4M": 4 << 20}
WORKINGSET_ARGS = ["400", "3"]  # 400 pages (1600 KiB), 3 passes
BELADY_BLOCKPAGES = 32
# Around room for 3 and for 4 blocks of 32 pages next to belady's own pages (program image,
# stack, page tables): every 32K from 384K to 768K.
BELADY_SIZES = ["%dK" % k for k in range(384, 769, 32)]
NOTE_RE = re.compile(r"^note: Belady's anomaly: (\w+) has more major faults with (\S+) "
                     r"\((\d+)\) than with (\S+) \((\d+)\)$")


def sample(samples, name, variant="glibc"):
    """A variant of a sample, or None when it was not built."""
    path = os.path.join(samples, name + "-" + variant)
    return path if os.path.exists(path) else None


class Sweep:
    """Runs `vmemu sweep` in an empty TMPDIR and checks that it stays empty."""

    def __init__(self, vmemu):
        self.vmemu = vmemu
        self.tmp = tempfile.mkdtemp(prefix="sweep_e2e-")
        self.scratch = os.path.join(self.tmp, "scratch")
        os.mkdir(self.scratch)
        harness.CHILD_ENV["TMPDIR"] = self.scratch

    def run(self, args):
        r = execute([self.vmemu, "sweep"] + args)
        left = os.listdir(self.scratch)
        if left:
            raise Failure("temporary files left in TMPDIR: %s" % ", ".join(left))
        return r

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def parse_table(out):
    """The rows of a sweep table (lists of fields) after checking its heading, and the
    note lines after it."""
    lines = out.splitlines()
    if not lines or lines[0].split() != HEADING:
        raise Failure("the first line is not the table heading:\n%s" % tail(out))
    rows, notes = [], []
    for line in lines[1:]:
        if line.startswith("note: "):
            notes.append(line)
        elif notes:
            raise Failure("a table row after the notes: %r" % line)
        else:
            rows.append(line.split())
    for row in rows:
        if len(row) != len(HEADING):
            raise Failure("a row with %d fields: %r" % (len(row), row))
    return rows, notes


def expect_cells(rows, cells):
    got = [(r[0], r[1]) for r in rows]
    if got != cells:
        raise Failure("rows %s, expected %s" % (got, cells))


def report_value(report, keys):
    v = report
    for k in keys:
        v = v[k]
    return v


def check_table_and_csv(sw, workingset):
    csv_path = os.path.join(sw.tmp, "cells.csv")
    r = sw.run(["--mem", "1M,2M", "--policy", "fifo,lru", "--csv", csv_path, workingset]
               + WORKINGSET_ARGS)
    if r.status != 0 or r.err:
        raise Failure("status %d, stderr %r" % (r.status, tail(r.err)))
    rows, notes = parse_table(r.out)
    cells = [("fifo", "1M"), ("fifo", "2M"), ("lru", "1M"), ("lru", "2M")]
    expect_cells(rows, cells)
    for row in rows:
        if row[2] != "0" or not re.fullmatch(r"\d+\.\d{3}", row[-1]):
            raise Failure("exit or time column: %r" % row)
    with open(csv_path) as f:
        text = f.read()
    lines = text.splitlines()
    if not lines or lines[0] != CSV_HEADER:
        raise Failure("CSV header %r" % (lines[0] if lines else ""))
    records = list(csv.DictReader(lines))
    if len(records) != len(cells):
        raise Failure("%d CSV rows, expected %d" % (len(records), len(cells)))
    for rec, row, (policy, mem) in zip(records, rows, cells):
        if (rec["policy"], int(rec["mem_bytes"])) != (policy, SIZES[mem]):
            raise Failure("CSV row %r for cell %s %s" % (rec, policy, mem))
        if [rec["exit_status"]] + [rec[k] for k in REPORT_KEYS] != row[2:-1]:
            raise Failure("CSV row %r differs from table row %r" % (rec, row))
        if not re.fullmatch(r"\d+\.\d{3}", rec["wall_seconds"]):
            raise Failure("wall_seconds %r" % rec["wall_seconds"])
    return records


def check_determinism(sw, workingset, records):
    evicted = False
    for rec in records:
        report_path = os.path.join(sw.tmp, "direct.json")
        mem = [m for m, b in SIZES.items() if b == int(rec["mem_bytes"])][0]
        # stdout to /dev/null as in a sweep cell: glibc sizes its stdout buffer by the kind
        # of file, which changes the guest's faults.
        status = subprocess.call([sw.vmemu, "--mem", mem, "--policy", rec["policy"], "--report",
                                  report_path, workingset] + WORKINGSET_ARGS,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, env=harness.CHILD_ENV)
        if status != int(rec["exit_status"]):
            raise Failure("direct run status %d, sweep %s" % (status, rec["exit_status"]))
        with open(report_path) as f:
            report = harness.read_report(f)
        for key, where in REPORT_KEYS.items():
            if report_value(report, where) != int(rec[key]):
                raise Failure("%s %s %s: direct run %d, sweep %s" % (
                    rec["policy"], mem, key, report_value(report, where), rec[key]))
        evicted |= int(rec["swap_outs"]) > 0
    if not evicted:
        raise Failure("no cell swapped: the check compares only zeros")


def strip_time(out):
    return [line.rsplit(None, 1)[0] if not line.startswith("note: ") else line
            for line in out.splitlines()]


def check_jobs(sw, workingset):
    args = ["--mem", "4M,2M,1M", "--policy", "lru,fifo", workingset] + WORKINGSET_ARGS
    one = sw.run(["-j", "1"] + args)
    two = sw.run(["--jobs", "2"] + args)
    for r in (one, two):
        if r.status != 0:
            raise Failure("status %d: %s" % (r.status, tail(r.err)))
    rows, _ = parse_table(one.out)
    expect_cells(rows, [("lru", "4M"), ("lru", "2M"), ("lru", "1M"),
                        ("fifo", "4M"), ("fifo", "2M"), ("fifo", "1M")])
    if strip_time(one.out) != strip_time(two.out):
        raise Failure("-j 1 and -j 2 differ:\n%s" % harness.line_diff(one.out, two.out))


def check_exit_column(sw, samples):
    nullderef, workingset = sample(samples, "nullderef"), sample(samples, "workingset")
    r = sw.run(["--mem", "4M", "--policy", "fifo", nullderef])
    rows, _ = parse_table(r.out)
    if r.status != 0 or rows[0][2] != "139" or "-" in rows[0]:
        raise Failure("nullderef: status %d, row %r" % (r.status, rows[0]))
    r = sw.run(["--mem", "256K,4M", "--policy", "fifo", "--swap", "256K", workingset]
               + WORKINGSET_ARGS)
    rows, notes = parse_table(r.out)
    if r.status != 0 or [row[2] for row in rows] != ["137", "0"] or any("-" in row for row in rows):
        raise Failure("OOM: status %d, rows %r" % (r.status, rows))
    if notes:
        raise Failure("an OOM-killed run compared with a complete one: %r" % notes)
    missing = os.path.join(sw.tmp, "no-such-program")
    r = sw.run(["--mem", "1M,2M", "--policy", "clock", missing])
    rows, _ = parse_table(r.out)
    expect_cells(rows, [("clock", "1M"), ("clock", "2M")])
    if r.status != 1 or any(row[2] != "127" or row[3:-1] != ["-"] * 8 for row in rows):
        raise Failure("missing program: status %d, rows %r" % (r.status, rows))
    if ("vmemu: sweep: clock 2M: exit status 127, no report" not in r.err
            or missing not in r.err):
        raise Failure("missing program: stderr %r" % tail(r.err))


USAGE_ERRORS = [
    ["x"],                                         # no --mem
    ["--mem", "4Q", "x"],                          # bad size
    ["--mem", "1M,,2M", "x"],                      # empty size
    ["--mem", "1M", "--policy", "fifo,mru", "x"],  # unknown policy
    ["--mem", "1M"],                               # no program
    ["--mem", "1M", "--swap-file", "/tmp/s", "x"],  # the cells would share the file
    ["--mem", "1M", "-j", "0", "x"],
    ["--mem", "1M", "--no-such-option", "x"],
]


def check_usage(sw):
    for args in USAGE_ERRORS:
        r = sw.run(args)
        if r.status != 2 or r.out or len(r.err.splitlines()) != 1 \
                or not r.err.startswith("vmemu: sweep: "):
            raise Failure("%s: status %d, stdout %r, stderr %r" % (
                " ".join(args), r.status, tail(r.out), r.err))
    r = sw.run(["--help"])
    if r.status != 0 or not r.out.startswith("usage: vmemu sweep "):
        raise Failure("--help: status %d, stdout %r" % (r.status, tail(r.out)))


def check_belady(sw, belady):
    r = sw.run(["--mem", ",".join(BELADY_SIZES), "--policy", "fifo", belady,
                str(BELADY_BLOCKPAGES)])
    if r.status != 0:
        raise Failure("status %d: %s" % (r.status, tail(r.err)))
    rows, notes = parse_table(r.out)
    major = {row[1]: int(row[4]) for row in rows}
    fifo = [NOTE_RE.match(n) for n in notes]
    if not fifo or not all(m and m.group(1) == "fifo" for m in fifo):
        raise Failure("no fifo note (or a malformed one):\n%s" % r.out)
    for m in fifo:
        big, nbig, small, nsmall = m.group(2), int(m.group(3)), m.group(4), int(m.group(5))
        if (major[big], major[small]) != (nbig, nsmall):
            raise Failure("note %r does not match the table" % m.group(0))
        if nbig - nsmall != BELADY_BLOCKPAGES:
            raise Failure("%s: %d more major faults, expected one block (%d)" % (
                m.group(0), nbig - nsmall, BELADY_BLOCKPAGES))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vmemu", required=True, help="path of the vmemu executable")
    ap.add_argument("--samples", required=True, help="directory of the built samples")
    opts = ap.parse_args()
    samples = os.path.abspath(opts.samples)
    sw = Sweep(os.path.abspath(opts.vmemu))
    workingset = sample(samples, "workingset")
    passed = failed = 0
    records = []

    checks = [("usage errors exit 2", lambda: check_usage(sw))]
    if workingset and sample(samples, "nullderef"):
        checks += [
            ("table and CSV", lambda: records.extend(check_table_and_csv(sw, workingset))),
            ("counts equal direct runs", lambda: check_determinism(sw, workingset, records)),
            ("-j 1 and -j 2 give the same table", lambda: check_jobs(sw, workingset)),
            ("exit column", lambda: check_exit_column(sw, samples)),
        ]
    else:
        print("FAIL samples: workingset-glibc or nullderef-glibc missing in %s" % samples)
        failed += 1
    belady = sample(samples, "belady", "musl")
    if belady:
        checks.append(("Belady's anomaly with fifo", lambda: check_belady(sw, belady)))
    else:
        print("SKIP Belady's anomaly: belady-musl missing in %s" % samples)

    ok, bad = run_checks(checks)
    passed += ok
    failed += bad
    sw.close()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
