#!/usr/bin/env python3
"""Transparent huge pages: vmemu's counts against this host's kernel and against the pattern.

Usage: thp_e2e.py --vmemu PATH --samples BUILD/samples

samples/thp.c MADV_HUGEPAGEs a 2 MiB-aligned 64 MiB run and touches it (see its header for
the modes). For every built variant:
  - the host (probed, never assumed): the native `touch` run says what this kernel does.
    When its transparent_hugepage/enabled reads `never`, `vmemu --thp host` must take 4 KiB
    faults (16384, AnonHugePages 0); otherwise exactly 32 faults and 65536 kB, and the
    native run must agree within a tolerance: a kernel short of free 2 MiB blocks falls back
    to 4 KiB pages, so natively faults = 32 + 511 per huge page that fell back (+-16 for
    the runtime's own faults), and AnonHugePages says how many did. When the native run got
    every huge page, the read, split, fork and place modes must print what they print
    natively, byte for byte;
  - forced modes, exact counts derived from the pattern: `--thp never` 16384 faults;
    `--thp madvise` 32 (but 16384 for the `plain` mode, which does not madvise);
    `--thp always` 32 for both; `--zero-page off` turns the 32 read faults of huge zero
    pages into 32 huge pages and the writes after them into no fault;
  - splits: munmap, mprotect and MADV_DONTNEED of one page each split one huge page
    (thp_split_pmd +3, AnonHugePages 59392 kB), and fork then write: 4 copies in the child,
    4 whole reuses in the parent;
  - swap-out under a small pool (--mem 40M): huge pages fall back when no 2 MiB block is
    free, reclaim splits before it swaps (--stats "for swap-out" > 0), data intact;
  - MAP_HUGETLB (the `hugetlb` modes): without --hugetlb vmemu's pool is empty, so the
    mapping fails with ENOMEM and a MAP_NORESERVE one gets SIGBUS (exit 135) at its first
    touch: compared with the native run when this host has no huge pages either
    (/proc/sys/vm/nr_hugepages = 0); with --hugetlb 3: 2 faults for 4 MiB (3 MiB rounded
    up), the pool's free and reserved counts as Linux moves them, EINVAL for an unaligned
    munmap, and SIGBUS at the fourth 2 MiB page of a MAP_NORESERVE mapping. 1 GiB pages are
    EINVAL under vmemu (its CPU has no pdpe1gb), whatever the host says;
  - shared hugetlb pages (samples/hugetlb_shared.c, --hugetlb 3): a MAP_SHARED|MAP_HUGETLB
    page first touched after fork is the same page in parent and child, a SysV SHM_HUGETLB
    segment of 3 MiB reserves 2 pages at shmget, refuses a segment the pool cannot cover
    (ENOMEM) and a 4 KiB-aligned shmat (EINVAL), and is shared by a child's attachment;
    the pool's free and reserved counts after each step; without a pool each mode fails
    as natively on a host with no huge pages; mremap of a MAP_HUGETLB area as Linux >= 5.16
    does it: lengths rounded up to 2 MiB, EINVAL to grow or off a 2 MiB boundary, a shrink
    that ends the tail's promise, a move that keeps the page (no fault after it); an
    MFD_HUGETLB memfd: 2 MiB ftruncate only, write() EINVAL, two shared mappings of one
    pool page, a private one that copies it, its pages back when it is closed;
  - the report: --stats says the mode and where it came from, the JSON counts 32 thp faults
    and the 2 MiB TLB entries' hits (>= 511 per huge page: one walk each).
Prints PASS/FAIL per check and "N passed, M failed". Python 3 standard library only.
"""
import os
import re
import sys
import tempfile

from harness import read_report, Failure, built_variants, e2e_options, execute, finish_checks, same_as_native

SPAN_PAGES = 16384
HUGE = 32



def host_hugepages():
    """The host's vm.nr_hugepages, or -1 when it cannot be read."""
    try:
        with open("/proc/sys/vm/nr_hugepages") as f:
            return int(f.read())
    except (OSError, ValueError):
        return -1

def host_mode():
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            m = re.search(r"\[(\w+)\]", f.read())
            return m.group(1) if m else "madvise"
    except OSError:
        return "madvise"


def counts(out):
    f = re.search(r"touch faults (\d+)", out)
    a = re.search(r"AnonHugePages (\d+) kB", out)
    if not f or not a:
        raise Failure("unexpected output:\n%s" % out)
    return int(f.group(1)), int(a.group(1))


def expect(vmemu, binary, flags, mode, faults, anon):
    vm = execute([vmemu] + flags + ["--", binary, mode])
    if vm.status != 0:
        raise Failure("%s %s: status %d\n%s" % (" ".join(flags), mode, vm.status, vm.err[-800:]))
    got = counts(vm.out)
    if got != (faults, anon):
        raise Failure("%s %s: faults %d, AnonHugePages %d kB; want %d and %d" % (
            " ".join(flags), mode, got[0], got[1], faults, anon))
    return vm


def host(vmemu, binary):
    native = execute([binary, "touch"])
    if native.status != 0:
        raise Failure("natively: status %d" % native.status)
    nf, na = counts(native.out)
    if host_mode() == "never":
        expect(vmemu, binary, ["--thp", "host"], "touch", SPAN_PAGES, 0)
        print("note: host mode never: 4 KiB pages, natively %d faults" % nf, flush=True)
        return None
    vm = expect(vmemu, binary, ["--thp", "host", "--stats"], "touch", HUGE, HUGE * 2048)
    if "Transparent huge pages: %s (as the host's kernel does)" % host_mode() not in vm.err:
        raise Failure("--stats does not say the host's mode")
    fell_back = HUGE - na // 2048
    want = HUGE + 511 * fell_back
    if abs(nf - want) > 16:
        raise Failure("natively %d faults with AnonHugePages %d kB: expected %d +- 16" % (
            nf, na, want))
    if fell_back:
        print("note: natively %d huge pages fell back to 4 KiB (host memory fragmented)"
              % fell_back, flush=True)
        return None
    for mode in ("read", "split", "fork", "place"):
        same_as_native(vmemu, [binary, mode], ["--thp", "host"])
    return None


def forced(vmemu, binary):
    expect(vmemu, binary, ["--thp", "never"], "touch", SPAN_PAGES, 0)
    expect(vmemu, binary, ["--thp", "madvise"], "touch", HUGE, HUGE * 2048)
    expect(vmemu, binary, ["--thp", "madvise"], "plain", SPAN_PAGES, 0)
    expect(vmemu, binary, ["--thp", "always"], "plain", HUGE, HUGE * 2048)
    vm = expect(vmemu, binary, ["--thp", "always", "--stats"], "touch", HUGE, HUGE * 2048)
    if "Transparent huge pages: always (--thp)" not in vm.err:
        raise Failure("--stats does not say 'Transparent huge pages: always (--thp)'")
    return None


def reads(vmemu, binary):
    for zp, want in (("on", "read faults 32, then one write per 2 MiB: faults 32\n"),
                     ("off", "read faults 32, then one write per 2 MiB: faults 0\n")):
        vm = execute([vmemu, "--thp", "madvise", "--zero-page", zp, "--", binary, "read"])
        if vm.status != 0 or want not in vm.out or "AnonHugePages 65536 kB" not in vm.out:
            raise Failure("--zero-page %s: status %d, printed %r" % (zp, vm.status, vm.out))
    return None


def splits(vmemu, binary):
    vm = execute([vmemu, "--thp", "madvise", "--", binary, "split"])
    want = ("touch faults 32\n"
            "after the splits: AnonHugePages 59392 kB, thp_split_pmd grew by 3\n"
            "faults to use the split pages again 2\n")
    if vm.status != 0 or want not in vm.out:
        raise Failure("split: status %d, printed %r" % (vm.status, vm.out))
    vm = execute([vmemu, "--thp", "madvise", "--", binary, "fork"])
    want = ("touch faults 4, AnonHugePages 8192 kB\n"
            "child: write faults 4, AnonHugePages 0 kB\n"
            "parent: write faults 4, AnonHugePages 8192 kB\n")
    if vm.status != 0 or want not in vm.out:
        raise Failure("fork: status %d, printed %r" % (vm.status, vm.out))
    return None


def swap(vmemu, binary):
    vm = execute([vmemu, "--thp", "always", "--mem", "40M", "--stats", "--", binary, "touch"])
    if vm.status != 0:
        raise Failure("--mem 40M: status %d\n%s" % (vm.status, vm.err[-800:]))
    m = re.search(r"splits: (\d+) \(for swap-out: (\d+)\)", vm.err)
    fb = re.search(r"fallbacks to 4 KiB: (\d+)", vm.err)
    if not m or int(m.group(2)) == 0 or not fb or int(fb.group(1)) == 0:
        raise Failure("--mem 40M: no split for swap-out or no fallback:\n%s" % vm.err[-1500:])
    faults, anon = counts(vm.out)
    if faults <= HUGE or anon >= HUGE * 2048:
        raise Failure("--mem 40M: %d faults, AnonHugePages %d kB" % (faults, anon))
    return None


def report(vmemu, binary):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "r.json")
        vm = execute([vmemu, "--thp", "madvise", "--report", path, "--", binary, "touch"])
        if vm.status != 0:
            raise Failure("status %d" % vm.status)
        with open(path) as f:
            r = read_report(f)
    faults = r["processes"][0]["faults"]
    if faults["thp"] != HUGE or r["thp"]["fault_alloc"] != HUGE or r["thp"]["mode"] != "madvise":
        raise Failure("report: faults.thp %d, thp %r" % (faults["thp"], r["thp"]))
    # The 2 MiB TLB entries: each huge page needs one walk, its other pages hit (Unicorn
    # still asks for each 4 KiB page), so at least 511 hits per huge page.
    tlb = r["processes"][0]["tlb"]
    if tlb["huge_hits"] < HUGE * 511 or tlb["misses"] > 2000:
        raise Failure("report: tlb %r" % tlb)
    return None


HUGETLB_POOL = ("MAP_HUGETLB with 1 GiB pages: EINVAL\n"
                "MAP_HUGETLB of 3 MiB: mapped, 2 MiB-aligned: yes\n"
                "pool: free 3, reserved 2 more\n"
                "touch faults 2, free 1, reserved 0\n"
                "munmap of 4 KiB inside: EINVAL\n"
                "after munmap: free 3\n")


def without_1g(out):
    return "".join(l for l in out.splitlines(True) if "1 GiB pages" not in l)


def hugetlb(vmemu, binary):
    vm = execute([vmemu, "--hugetlb", "3", "--", binary, "hugetlb"])
    if vm.status != 0 or HUGETLB_POOL not in vm.out:
        raise Failure("--hugetlb 3: status %d, printed %r" % (vm.status, vm.out))
    vm = execute([vmemu, "--hugetlb", "3", "--", binary, "hugetlb-sigbus"])
    if (vm.status != 135 or not vm.out.endswith("touching huge page 3\n")
            or "no free page left in the hugetlb pool" not in vm.err):
        raise Failure("--hugetlb 3 sigbus: status %d, printed %r" % (vm.status, vm.out))
    empty = execute([vmemu, "--", binary, "hugetlb"])
    if "MAP_HUGETLB of 3 MiB: ENOMEM\n" not in empty.out or "1 GiB pages: EINVAL" not in empty.out:
        raise Failure("no pool: printed %r" % empty.out)
    host_pages = host_hugepages()
    if host_pages != 0:
        print("note: this host has huge pages reserved (%d): no native comparison" % host_pages,
              flush=True)
        return None
    for mode, status in (("hugetlb", 0), ("hugetlb-sigbus", 135)):
        native = execute([binary, mode])
        vm = execute([vmemu, "--", binary, mode])
        if (native.status, without_1g(native.out)) != (status, without_1g(vm.out)) or \
                vm.status != status:
            raise Failure("%s: natively %d %r, vmemu %d %r" % (mode, native.status, native.out,
                                                              vm.status, vm.out))
    return None


# tests/../samples/hugetlb_shared.c with --hugetlb 3, by mode: what each prints. The
# shared page first touched after fork is the child's second fault and the parent's one.
HUGETLB_SHARED = {
    "shared": ("mapped: free 3, reserved 2\n"
               "first page touched: free 2, reserved 1\n"
               "child: faults 2, sees the parent's byte: yes\n"
               "parent sees the child's bytes: yes yes, faults 1\n"
               "both touched: free 1, reserved 0\n"
               "MADV_REMOVE: EINVAL\n"
               "after munmap: free 3, reserved 0\n"),
    "shm": ("shmget of 3 MiB: free 3, reserved 2\n"
            "second segment of 8 MiB: ENOMEM\n"
            "segsz 3145728\n"
            "attached, 2 MiB-aligned: yes\n"
            "shmat at a 4 KiB-aligned address: EINVAL\n"
            "touched: free 1, reserved 0\n"
            "child sees: x y\n"
            "parent sees the child's byte: yes\n"
            "after shmdt: free 1, reserved 0\n"
            "after IPC_RMID: free 3, reserved 0\n"),
    "mremap": ("first page touched: free 2, reserved 1\n"
               "grow: EINVAL\n"
               "from inside a page: EINVAL\n"
               "shrink to 2 MiB + 4 KiB (rounded up: no change): in place\n"
               "unchanged: free 2, reserved 1\n"
               "shrink to 2 MiB - 4 KiB: in place\n"
               "shrunk: free 2, reserved 0\n"
               "move to a 4 KiB-aligned address: EINVAL\n"
               "move: moved, byte a, faults 0\n"
               "moved: free 2, reserved 0\n"
               "after munmap: free 3, reserved 0\n"),
    "memfd": ("ftruncate to 4 MiB: ok\n"
              "ftruncate to 3 MiB: EINVAL\n"
              "write: EINVAL\n"
              "two mappings: free 3, reserved 2\n"
              "the other mapping reads: q\n"
              "one page touched: free 2, reserved 1\n"
              "a private mapping reads q, then writes: shared q, private p\n"
              "private copy: free 1, reserved 1\n"
              "closed: free 3, reserved 0\n"),
}


def hugetlb_shared(vmemu, binary, modes):
    """Shared hugetlb pages with a pool of 3, and with none against the host (which has
    none: every mode stops at its first call's errno there)."""
    for mode in modes:
        vm = execute([vmemu, "--hugetlb", "3", "--", binary, mode])
        if vm.status != 0 or vm.out != HUGETLB_SHARED[mode]:
            raise Failure("%s with --hugetlb 3: status %d, printed %r" % (mode, vm.status,
                                                                           vm.out))
    host_pages = host_hugepages()
    if host_pages != 0:
        print("note: this host has huge pages reserved (%d): no native comparison" % host_pages,
              flush=True)
        return None
    for mode in modes:
        native = execute([binary, mode])
        vm = execute([vmemu, "--", binary, mode])
        if (native.status, native.out) != (vm.status, vm.out) or "ENOMEM" not in vm.out:
            raise Failure("%s without a pool: natively %d %r, vmemu %d %r"
                          % (mode, native.status, native.out, vm.status, vm.out))
    return None


def main():
    o = e2e_options(__doc__)
    checks = []
    for v, binary in built_variants(o.samples, "thp"):
        checks += [("thp-%s follows the host" % v, lambda b=binary: host(o.vmemu, b)),
                   ("thp-%s forced modes" % v, lambda b=binary: forced(o.vmemu, b)),
                   ("thp-%s huge zero page" % v, lambda b=binary: reads(o.vmemu, b)),
                   ("thp-%s splits and fork" % v, lambda b=binary: splits(o.vmemu, b)),
                   ("thp-%s swap-out splits" % v, lambda b=binary: swap(o.vmemu, b)),
                   ("thp-%s report" % v, lambda b=binary: report(o.vmemu, b)),
                   ("thp-%s MAP_HUGETLB" % v, lambda b=binary: hugetlb(o.vmemu, b))]
    for v, binary in built_variants(o.samples, "hugetlb_shared"):
        checks += [("hugetlb_shared-%s %s" % (v, m),
                    lambda b=binary, m=m: hugetlb_shared(o.vmemu, b, [m]))
                   for m in HUGETLB_SHARED]
    return finish_checks(checks, "no thp sample built in %s" % o.samples)


if __name__ == "__main__":
    sys.exit(main())
