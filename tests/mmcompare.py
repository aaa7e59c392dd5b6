#!/usr/bin/env python3
"""Memory-API comparison: guest programs run natively and under vmemu, same results.

Usage: mmcompare.py --vmemu PATH --samples BUILD/samples [-k SUBSTRING] [--jobs N]

Every program of CASES (samples/*.c, one per area of the Linux memory API: MAP_SHARED
files, shared anonymous memory and the mmap flags, SIGBUS past the end of a file, mremap,
madvise, mincore and mlock, brk) is run for every variant that was built (NAME-glibc,
NAME-glibc-pie, NAME-musl, NAME-musl-pie), natively and under vmemu. A case passes when:
  - the native run ends as the program is designed to (exit 0, or SIGBUS: status 135);
    a different native result means the program itself is wrong on this machine;
  - vmemu's exit status equals the native one (128+N for signal N, as the shell shows it);
  - vmemu's stdout equals the native stdout byte for byte (the programs print what they
    observed, never addresses, and flush stdout before a fatal access);
  - for `shared_file FILE`, the bytes of FILE after exit are the same (stores reach the file
    through msync, munmap and exit);
  - for the SIGBUS cases, vmemu's --report names the crash: signal 7, code BUS_ADRERR.
Each variant is compared with its own native run, so a libc difference is not a failure.
On a mismatch the differing lines are shown as "native:" / "vmemu:" pairs.

Each check prints "PASS label" or "FAIL label: reason"; the last line is "N passed, M
failed"; the exit status is 1 when a check failed. Python 3 standard library only.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

VARIANTS = ("glibc", "glibc-pie", "musl", "musl-pie")
SIGBUS_STATUS = 128 + 7
FILE_ARG = "@FILE"  # replaced by a per-run path whose bytes are compared after exit

# (sample, args, status the native run must have)
CASES = (
    ("shared_file", (), 0),
    ("shared_file", (FILE_ARG,), 0),
    ("shared_anon", (), 0),
    ("sigbus", ("read",), SIGBUS_STATUS),
    ("sigbus", ("write",), SIGBUS_STATUS),
    ("sigbus", ("private",), SIGBUS_STATUS),
    ("sigbus", ("truncate",), SIGBUS_STATUS),
    ("sigbus", ("shmem",), SIGBUS_STATUS),
    ("mremap", (), 0),
    ("madvise", (), 0),
    ("mincore_mlock", (), 0),
    ("brk", (), 0),
)

from harness import (read_report, Failure, add_to_number, execute, host_maps_zero_page, line_diff,
                     rewrite_lines, run_checks, tail, zero_page_note)

# What a host kernel without the zero page on read faults prints differently from vmemu
# (which maps it, as mainline Linux does): sample -> rewrite_lines rules of vmemu's stdout.
NO_ZERO_PAGE = {
    # the read-populated pages were allocated by the read: their writes take no fault
    "madvise": {"... minor faults writing the read-populated pages": add_to_number(-2)},
}


def file_diff(a, b):
    """None when the byte strings are equal, else where they first differ."""
    if a == b:
        return None
    if len(a) != len(b):
        return "file sizes differ: native %d bytes, vmemu %d bytes" % (len(a), len(b))
    first = next(i for i in range(len(a)) if a[i] != b[i])
    count = sum(1 for i in range(len(a)) if a[i] != b[i])
    return ("file contents differ: %d bytes, the first at offset %d (page %d): "
            "native %r, vmemu %r" % (count, first, first // 4096, bytes(a[first:first + 1]),
                                     bytes(b[first:first + 1])))


def read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise Failure("cannot read %s after the run: %s" % (path, e))


def check_case(vmemu, binary, args, want_status, tmp, label):
    """Runs one case natively and under vmemu; returns None or the reason it failed."""
    tag = label.replace(" ", "_").replace("/", "_")
    native_file = os.path.join(tmp, tag + ".native")
    vm_file = os.path.join(tmp, tag + ".vmemu")
    report = os.path.join(tmp, tag + ".json")
    nargs = [native_file if a == FILE_ARG else a for a in args]
    vargs = [vm_file if a == FILE_ARG else a for a in args]

    native = execute([binary] + nargs)
    if native.status != want_status:
        raise Failure("the native run ended with status %d, not %d (the program is wrong on "
                      "this machine):\n%s" % (native.status, want_status, tail(native.out)))
    vm = execute([vmemu, "--report", report, "--", binary] + vargs)
    problems = []
    if vm.status != native.status:
        problems.append("exit status: native %d, vmemu %d" % (native.status, vm.status)
                        + ("; vmemu's stderr: " + tail(vm.err) if vm.err.strip() else ""))
    expected = vm.out
    name = os.path.basename(binary).rsplit("-", 2 if binary.endswith("-pie") else 1)[0]
    if not host_maps_zero_page() and name in NO_ZERO_PAGE:
        expected = rewrite_lines(vm.out, NO_ZERO_PAGE[name])
    if expected != native.out:
        problems.append("stdout differs%s:\n" % ("" if expected == vm.out else
                                                  " (vmemu's as a host without the zero "
                                                  "page on read faults shows it)")
                        + line_diff(native.out, expected))
    if FILE_ARG in args:
        d = file_diff(read_bytes(native_file), read_bytes(vm_file))
        if d:
            problems.append(d)
    if want_status == SIGBUS_STATUS and vm.status == SIGBUS_STATUS:
        problems += check_sigbus_report(report)
    return "\n  ".join(problems) if problems else None


def check_sigbus_report(path):
    try:
        with open(path) as f:
            rep = read_report(f)
        crash = rep["processes"][0]["crash"]
    except (OSError, ValueError, KeyError, IndexError, TypeError) as e:
        return ["no crash in the --report JSON (%s: %s)" % (type(e).__name__, e)]
    if not isinstance(crash, dict):
        return ["the --report JSON has crash %r, expected the SIGBUS" % (crash,)]
    if crash.get("signal") != 7 or crash.get("code") != "BUS_ADRERR":
        return ["the --report crash is signal %r code %r, expected 7 BUS_ADRERR"
                % (crash.get("signal"), crash.get("code"))]
    return []


def build_cases(samples):
    """(label, binary, args, status) for every built variant; labels of missing samples."""
    cases, missing = [], []
    for name, args, status in CASES:
        built = [v for v in VARIANTS if os.path.exists(os.path.join(samples, name + "-" + v))]
        shown = " ".join("FILE" if a == FILE_ARG else a for a in args)
        if not built:
            missing.append(("%s %s" % (name, shown)).strip())
        for v in built:
            label = ("%s-%s %s" % (name, v, shown)).strip()
            cases.append((label, os.path.join(samples, name + "-" + v), args, status))
    return cases, missing


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vmemu", required=True, help="path of the vmemu executable")
    ap.add_argument("--samples", required=True, help="directory of the built samples")
    ap.add_argument("--jobs", type=int, default=2, help="parallel runs (default 2)")
    ap.add_argument("-k", dest="filter", default="",
                    help="run only the cases whose label contains this")
    opts = ap.parse_args()

    vmemu = os.path.abspath(opts.vmemu)
    samples = os.path.abspath(opts.samples)
    cases, missing = build_cases(samples)
    cases = [c for c in cases if opts.filter in c[0]]
    missing = [m for m in missing if opts.filter in m]
    tmp = tempfile.mkdtemp(prefix="vmemu-mmcompare-")
    start = time.monotonic()
    print(zero_page_note(), flush=True)
    passed = failed = 0
    try:
        for m in missing:
            failed += 1
            print("FAIL %s: no variant of the sample was built" % m, flush=True)
        ok, bad = run_checks([(label, lambda c=(binary, args, status, label):
                               check_case(vmemu, c[0], c[1], c[2], tmp, c[3]))
                              for label, binary, args, status in cases], opts.jobs)
        passed += ok
        failed += bad
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("(%.1f s)" % (time.monotonic() - start))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
