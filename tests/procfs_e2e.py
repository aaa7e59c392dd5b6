#!/usr/bin/env python3
"""The guest's /proc under vmemu: the same view of its own memory as on Linux.

Usage: procfs_e2e.py --vmemu PATH --samples BUILD/samples

Checks, each printed as "PASS label" or "FAIL label: reason":
  - procself (samples/procself.c), every variant built (glibc, glibc-pie, musl, musl-pie),
    natively and under vmemu: the same stdout and exit status. It prints only what Linux
    makes exact: status/stat/statm deltas around writing 100 anonymous pages, the smaps
    entries and maps lines of its new mappings, /proc/self/exe, comm, cmdline;
  - vmemu only, with busybox (skipped when /bin/busybox is missing): /proc/meminfo's
    MemTotal is the --mem pool (64M -> 65536 kB, 16M -> 16384 kB) and MemFree is below it;
    /proc/cpuinfo describes one processor whose flags agree with the CPUID the guest sees
    (`procself cpuid` under vmemu lists the features CPUID reports and those it does not);
    /proc/1000/status is the guest's own, /proc/1001/status does not exist; /proc/self/maps
    names the program and the stack.
The last line is "N passed, M failed"; the exit status is 1 when a check failed.
Python 3 standard library only.
"""

import argparse
import os
import re
import sys

VARIANTS = ("glibc", "glibc-pie", "musl", "musl-pie")
BUSYBOX = "/bin/busybox"

from harness import (Failure, add_to_number, execute, host_maps_zero_page, line_diff,
                     rewrite_lines, run_checks, tail, zero_page_note)

NREAD_KB = 40  # procself reads 10 untouched pages of a PROT_READ mapping


def smaps_all_resident(line):
    """The read-only mapping's smaps line when every page read is a private resident page."""
    size = re.search(r"Size (\d+) kB", line).group(1)
    for key in ("Rss", "Pss", "Private_Clean", "Referenced", "Anonymous"):
        line = re.sub(r"\b%s \d+ kB" % key, "%s %s kB" % (key, size), line)
    return line


# How a host kernel that allocates a page on an anonymous read fault (no zero page) shows
# procself's read pages, from vmemu's output (vmemu maps the zero page, as mainline does).
NO_ZERO_PAGE = {
    "status VmRSS delta:": add_to_number(NREAD_KB, " kB"),
    "status RssAnon delta:": add_to_number(NREAD_KB, " kB"),
    "statm resident delta:": add_to_number(NREAD_KB // 4),
    "smaps read-only:": smaps_all_resident,
}


def vm_ok(vmemu, args):
    """Runs vmemu with args; the run must exit 0. Returns its stdout."""
    r = execute([vmemu] + args)
    if r.status != 0:
        raise Failure("vmemu %s exited with status %d: %s"
                      % (" ".join(args), r.status, tail(r.err)))
    return r.out


def check_procself(vmemu, binary):
    native = execute([binary])
    if native.status != 0:
        raise Failure("the native run ended with status %d (the program is wrong on this "
                      "machine):\n%s%s" % (native.status, tail(native.out), tail(native.err)))
    vm = execute([vmemu, "--", binary])
    problems = []
    if vm.status != native.status:
        problems.append("exit status: native %d, vmemu %d; vmemu's stderr: %s"
                        % (native.status, vm.status, tail(vm.err)))
    expected = vm.out if host_maps_zero_page() else rewrite_lines(vm.out, NO_ZERO_PAGE)
    if expected != native.out:
        problems.append("stdout differs%s:\n" % ("" if expected == vm.out else
                                                  " (vmemu's as a host without the zero "
                                                  "page on read faults shows it)")
                        + line_diff(native.out, expected))
    if problems:
        raise Failure("\n  ".join(problems))


def meminfo_kb(text, key):
    m = re.search(r"^%s:\s+(\d+) kB$" % re.escape(key), text, re.M)
    if not m:
        raise Failure("no %s line in /proc/meminfo:\n%s" % (key, tail(text)))
    return int(m.group(1))


def check_meminfo(vmemu, mem, want_kb):
    text = vm_ok(vmemu, ["--mem", mem, BUSYBOX, "cat", "/proc/meminfo"])
    total, free = meminfo_kb(text, "MemTotal"), meminfo_kb(text, "MemFree")
    if total != want_kb:
        raise Failure("MemTotal is %d kB with --mem %s, expected %d kB" % (total, mem, want_kb))
    if not 0 < free < total:
        raise Failure("MemFree %d kB is not between 0 and MemTotal %d kB" % (free, total))


def check_cpuinfo(vmemu, procself):
    text = vm_ok(vmemu, [BUSYBOX, "cat", "/proc/cpuinfo"])
    if not text.startswith("processor\t: 0\n"):
        raise Failure("/proc/cpuinfo does not start with processor 0:\n%s" % tail(text))
    if len(re.findall(r"^processor\t:", text, re.M)) != 1:
        raise Failure("/proc/cpuinfo describes more than one processor")
    m = re.search(r"^flags\t\t: (.*)$", text, re.M)
    if not m:
        raise Failure("no flags line in /proc/cpuinfo:\n%s" % tail(text))
    flags = set(m.group(1).split())
    seen = vm_ok(vmemu, [procself, "cpuid"])
    lists = dict(line.split(":", 1) for line in seen.splitlines() if ":" in line)
    present = set(lists.get("present", "").split())
    absent = set(lists.get("absent", "").split())
    if not present:
        raise Failure("procself cpuid listed no present feature:\n%s" % tail(seen))
    problems = []
    if present - flags:
        problems.append("CPUID reports %s but cpuinfo's flags do not"
                        % " ".join(sorted(present - flags)))
    if absent & flags:
        problems.append("cpuinfo's flags have %s but CPUID does not report it"
                        % " ".join(sorted(absent & flags)))
    if problems:
        raise Failure("; ".join(problems))


def check_pid_dirs(vmemu):
    text = vm_ok(vmemu, [BUSYBOX, "cat", "/proc/1000/status"])
    if not re.search(r"^Pid:\t1000$", text, re.M) or not re.search(r"^PPid:\t1$", text, re.M):
        raise Failure("/proc/1000/status is not the guest's (pid 1000, ppid 1):\n%s"
                      % tail(text))
    r = execute([vmemu, BUSYBOX, "cat", "/proc/1001/status"])
    if r.status != 1 or "No such file or directory" not in r.err:
        raise Failure("cat /proc/1001/status: status %d, stderr %r; expected 1 and ENOENT"
                      % (r.status, tail(r.err)))


def check_maps(vmemu):
    text = vm_ok(vmemu, [BUSYBOX, "cat", "/proc/self/maps"])
    lines = text.splitlines()
    prog = os.path.realpath(BUSYBOX)
    if not any(re.search(r" r-xp [0-9a-f]{8} [0-9a-f]{2}:[0-9a-f]{2} \d+ +%s$" % re.escape(prog),
                         line) for line in lines):
        raise Failure("no r-xp line of %s in /proc/self/maps:\n%s" % (prog, tail(text)))
    if not lines or not lines[-1].endswith(" [stack]"):
        raise Failure("the last line of /proc/self/maps is not the stack:\n%s" % tail(text))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vmemu", required=True, help="path of the vmemu executable")
    ap.add_argument("--samples", required=True, help="directory of the built samples")
    opts = ap.parse_args()
    vmemu = os.path.abspath(opts.vmemu)
    samples = os.path.abspath(opts.samples)

    built = [os.path.join(samples, "procself-" + v) for v in VARIANTS
             if os.path.exists(os.path.join(samples, "procself-" + v))]
    checks = [(os.path.basename(b),
               lambda b=b: check_procself(vmemu, b)) for b in built]
    print(zero_page_note(), flush=True)
    passed = failed = 0
    if not built:
        print("FAIL procself: no procself-* variant in %s" % samples)
        failed += 1
    if os.path.exists(BUSYBOX) and built:
        checks += [
            ("meminfo --mem 64M", lambda: check_meminfo(vmemu, "64M", 65536)),
            ("meminfo --mem 16M", lambda: check_meminfo(vmemu, "16M", 16384)),
            ("cpuinfo flags agree with CPUID", lambda: check_cpuinfo(vmemu, built[0])),
            ("/proc/PID of the guest only", lambda: check_pid_dirs(vmemu)),
            ("maps names the program and the stack", lambda: check_maps(vmemu)),
        ]
    elif built:
        print("SKIP busybox checks: %s is missing (install busybox-static)" % BUSYBOX)

    ok, bad = run_checks(checks)
    passed += ok
    failed += bad
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
