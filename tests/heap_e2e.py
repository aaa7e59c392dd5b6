#!/usr/bin/env python3
"""The heap checker end to end: samples/heap_bugs.c under vmemu --check heap[,guard].

Usage: heap_e2e.py --vmemu PATH --samples BUILD/samples [-k SUBSTRING] [--jobs N]

Every mode of heap_bugs runs for glibc and musl (static, not PIE). Checks, per mode:
  - the report's headline exactly (addresses as 0x..., since where libc's own startup
    allocations put the block differs between the libcs), its first frames (the helper
    that called malloc/free, then main), the "allocated at" / "freed at" sites;
  - the exit status: the guest's (0; 139 for the faults) and with --error-exitcode 7,
    7 when an error was reported; the summary line's error count;
  - clean mode: the native stdout, status 0, "0 errors" and no other heap line;
  - guard mode: a one-byte overflow faults at once (SIGSEGV, the crash report's heap
    line says "0 bytes after the 13-byte block");
  - fork: a child's double free of an inherited block is reported once, as the child's
    (pid 1001), and each process gets its own summary;
  - maps: the checker's area in /proc/self/maps ([vmemu heap]) and in --report's vmas
    (kind "checker"), and the exact 512 pages it adds to peak_vm_pages;
  - a stripped program: exit 126 with the one-line message.
Each check prints "PASS name" or "FAIL name: reason"; the last line is "N passed, M
failed"; the exit status is 1 when a check failed. Python 3 standard library only.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from harness import Failure, execute, run_checks, tail

ADDR = r"0x[0-9a-f]+"
FRAME = r"    #%d  " + ADDR + r" %s\+\d+"


def heap_lines(err):
    return [l for l in err.splitlines() if l.startswith("vmemu: heap: ")]


def expect_block(err, headline, frames, sites):
    """headline: regex of the first report line; frames: function names of the error's
    stack (innermost first); sites: {"allocated at:": [...], "freed at:": [...]}."""
    lines = err.splitlines()
    idx = [i for i, l in enumerate(lines) if re.fullmatch(headline, l)]
    if not idx:
        raise Failure("no line matching %r in:\n%s" % (headline, tail(err)))
    i = idx[0] + 1
    for n, fn in enumerate(frames):
        if i >= len(lines) or not re.fullmatch(FRAME % (n, fn), lines[i]):
            raise Failure("frame #%d is not %s: %r" % (n, fn, lines[i] if i < len(lines) else None))
        i += 1
    for title, fns in sites.items():
        while i < len(lines) and lines[i].strip() != title.strip():
            i += 1
        if i >= len(lines):
            raise Failure("no %r section in:\n%s" % (title, tail(err)))
        i += 1
        for n, fn in enumerate(fns):
            if not re.fullmatch(r"\s*#%d  " % n + ADDR + r" %s\+\d+" % fn, lines[i]):
                raise Failure("%s frame #%d is not %s: %r" % (title, n, fn, lines[i]))
            i += 1


def summary_errors(err):
    m = re.search(r"^vmemu: heap: pid 1000: .*; (\d+) errors?$", err, re.M)
    if not m:
        raise Failure("no summary line in:\n%s" % tail(err))
    return int(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vmemu", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("-k", default="")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="heap_e2e.")

    def run(variant, mode, check="heap", extra=()):
        prog = os.path.join(a.samples, "heap_bugs-" + variant)
        return execute([a.vmemu, "--check", check] + list(extra) + [prog, mode])

    checks = []

    def add(name, fn):
        if a.k in name:
            checks.append((name, fn))

    for v in ("glibc", "musl"):
        def clean(v=v):
            native = execute([os.path.join(a.samples, "heap_bugs-" + v), "clean"])
            r = run(v, "clean")
            if r.status != 0 or r.out != native.out or r.out != "clean 5050\n":
                raise Failure("status %d, stdout %r (native %r)" % (r.status, r.out, native.out))
            hl = heap_lines(r.err)
            if len(hl) != 1 or summary_errors(r.err) != 0:
                raise Failure("expected only the summary line:\n%s" % tail(r.err))
            if not re.match(r"vmemu: heap: pid 1000: (\d+) allocations, \1 frees", hl[0]) and v == "musl":
                raise Failure("musl frees every block of the clean run: %s" % hl[0])
        add("clean-" + v, clean)

        def found_at_free(mode, headline, frees, v=v):
            def fn():
                r = run(v, mode)
                if r.status != 0 or r.out != "done %s\n" % mode:
                    raise Failure("status %d, stdout %r" % (r.status, r.out))
                sites = {"  allocated at:": ["make_block", "main"]}
                if frees:
                    sites["  freed at:"] = ["drop_block", "main"]
                expect_block(r.err, headline, ["drop_block", "main"] if mode != "realloc_freed"
                             else ["main"], sites)
                if summary_errors(r.err) != (2 if mode == "middle" else 1):
                    raise Failure("error count: %s" % tail(r.err))
                r7 = run(v, mode, extra=("--error-exitcode", "7"))
                if r7.status != 7:
                    raise Failure("--error-exitcode 7 gave %d" % r7.status)
            return fn

        add("overflow-" + v, found_at_free("overflow",
            r"vmemu: heap: pid 1000: heap-buffer-overflow: write of 1 byte at %s, 0 bytes after the "
            r"13-byte block at %s \(red zone changed, found at free\)" % (ADDR, ADDR), False))
        add("underflow-" + v, found_at_free("underflow",
            r"vmemu: heap: pid 1000: heap-buffer-underflow: write of 1 byte at %s, 1 byte before the "
            r"16-byte block at %s \(red zone changed, found at free\)" % (ADDR, ADDR), False))
        add("double-free-" + v, found_at_free("double",
            r"vmemu: heap: pid 1000: double-free: free\(%s\) of the 24-byte block already freed" % ADDR,
            True))
        add("invalid-free-middle-" + v, found_at_free("middle",
            r"vmemu: heap: pid 1000: invalid-free: free\(%s\) points 8 bytes inside the 32-byte block "
            r"at %s" % (ADDR, ADDR), False))
        add("realloc-freed-" + v, found_at_free("realloc_freed",
            r"vmemu: heap: pid 1000: realloc-of-freed-block: realloc\(%s\) of the 16-byte block already "
            r"freed" % ADDR, True))

        def invalid(v=v):
            r = run(v, "invalid")
            expect_block(r.err, r"vmemu: heap: pid 1000: invalid-free: free\(%s\) of memory malloc did "
                         r"not return" % ADDR, ["drop_block", "main"], {})
            if r.status != 0 or summary_errors(r.err) != 1:
                raise Failure("status %d:\n%s" % (r.status, tail(r.err)))
        add("invalid-free-" + v, invalid)

        def uaf(v=v):
            rep = os.path.join(tmp, "uaf-%s.json" % v)
            r = run(v, "uaf", extra=("--report", rep))
            if r.status != 139:
                raise Failure("status %d, expected 139" % r.status)
            # The checker's words replace the generic ones about its PROT_NONE pages: the
            # fault line names the bug class and no cause line is printed.
            if not re.search(r"^  fault:    read of 1 byte at 0x0000%s: heap-use-after-free$"
                             % ADDR[2:], r.err, re.M):
                raise Failure("fault line:\n%s" % tail(r.err))
            if re.search(r"^  cause:", r.err, re.M):
                raise Failure("a cause line:\n%s" % tail(r.err))
            with open(rep) as f:
                c = json.load(f)["processes"][0]["crash"]
            # The JSON is written after the process ended: the first process keeps the
            # checker's state until then, so the heap fields are filled.
            got = (c["cause"], c["cause_text"], c["heap_kind"])
            if got != ("heap-use-after-free", None, "heap-use-after-free"):
                raise Failure("crash JSON cause, cause_text, heap_kind: %r" % (got,))
            lines = [l.strip() for l in r.err.splitlines()]
            if "heap: heap-use-after-free" not in [" ".join(l.split()) for l in lines]:
                raise Failure("no heap-use-after-free line:\n%s" % tail(r.err))
            if not any(re.fullmatch(r"%s is 4 bytes inside the 16-byte block at %s, freed"
                                    % (ADDR, ADDR), l) for l in lines):
                raise Failure("no block line:\n%s" % tail(r.err))
            if summary_errors(r.err) != 1:
                raise Failure("error count")
        add("use-after-free-" + v, uaf)

        def leak(v=v):
            r = run(v, "leak")
            got = [l for l in heap_lines(r.err) if "leak of" in l]
            # leak_some allocates 100 bytes once and 40 bytes at two call sites (the loop
            # of two is unrolled at -O1, or not: one group of 80 bytes then).
            want100 = "vmemu: heap: pid 1000: leak of 100 bytes in 1 block, allocated at:"
            if want100 not in got:
                raise Failure("no 100-byte leak:\n%s" % tail(r.err))
            forty = sorted(l for l in got if l != want100)
            ok = forty in (["vmemu: heap: pid 1000: leak of 40 bytes in 1 block, allocated at:"] * 2,
                           ["vmemu: heap: pid 1000: leak of 80 bytes in 2 blocks, allocated at:"])
            if not ok:
                raise Failure("40-byte leaks: %r" % forty)
            if summary_errors(r.err) != len(got) or "180 bytes lost in 3 blocks" not in r.err:
                raise Failure("summary:\n%s" % tail(r.err))
            expect_block(r.err, re.escape(want100), ["make_block", "leak_some", "main"], {})
        add("leak-" + v, leak)

        def fork(v=v):
            # The child frees the block it inherited twice: the double free is the child's
            # (pid 1001), with the parent's allocation site; each process gets its own
            # summary; the parent's copy of the block is still its own (it writes to it
            # after the child's frees and frees it once without a report).
            r = run(v, "fork")
            if r.status != 0 or r.out != "child status 0, block Inherited\ndone fork\n":
                raise Failure("status %d, stdout %r" % (r.status, r.out))
            hl = heap_lines(r.err)
            want = [r"vmemu: heap: pid 1001: double-free: free\(%s\) of the 24-byte block "
                    r"already freed" % ADDR,
                    r"vmemu: heap: pid 1001: 0 allocations, 1 free, 0 bytes allocated; 0 bytes "
                    r"lost in 0 blocks, \d+ bytes still reachable in \d+ blocks?; 1 error",
                    r"vmemu: heap: pid 1000: \d+ allocations?, 1 free, \d+ bytes allocated; 0 "
                    r"bytes lost in 0 blocks, \d+ bytes still reachable in \d+ blocks?; 0 errors"]
            if len(hl) != len(want) or not all(re.fullmatch(w, l) for w, l in zip(want, hl)):
                raise Failure("heap lines:\n%s" % "\n".join(hl))
            expect_block(r.err, want[0], ["drop_block", "fork_inherited"],
                         {"  allocated at:": ["make_block", "fork_inherited", "main"],
                          "  freed at:": ["drop_block", "fork_inherited", "main"]})
            r7 = run(v, "fork", extra=("--error-exitcode", "7"))
            if r7.status != 7:
                raise Failure("--error-exitcode 7 gave %d" % r7.status)
        add("fork-child-double-free-" + v, fork)

        def maps(v=v):
            # The checker's area is kind "checker" ([vmemu heap] in /proc/self/maps) and is
            # reserved in 2 MiB steps as blocks need it: this run's few blocks take one
            # step, so the area adds exactly 512 pages to the peak virtual size (the
            # program's other areas only grow, so their peak is their size at exit).
            rep = os.path.join(tmp, "maps-%s.json" % v)
            r = run(v, "maps", extra=("--report", rep))
            want = r"100000000000-100000200000 ---p 00000000 00:00 0 +\[vmemu heap\]\n" \
                r"done maps\n"
            if r.status != 0 or not re.fullmatch(want, r.out):
                raise Failure("status %d, stdout %r" % (r.status, r.out))
            with open(rep) as f:
                p = json.load(f)["processes"][0]
            pages = lambda v: (int(v["end"], 16) - int(v["start"], 16)) // 4096
            checker = [(x["start"], x["end"], x["perms"], x["file"]) for x in p["vmas"]
                       if x["kind"] == "checker"]
            if checker != [("0x100000000000", "0x100000200000", "---p", None)]:
                raise Failure("checker areas: %r" % checker)
            others = sum(pages(x) for x in p["vmas"] if x["kind"] != "checker")
            if p["peak_vm_pages"] - others != 512:
                raise Failure("peak_vm_pages %d, other areas %d pages: the checker adds %d, "
                              "not 512" % (p["peak_vm_pages"], others,
                                           p["peak_vm_pages"] - others))
        add("maps-" + v, maps)

        def guard(v=v):
            r = run(v, "overflow", check="heap,guard")
            if r.status != 139:
                raise Failure("status %d, expected 139" % r.status)
            if not re.search(r"^\s+%s is 0 bytes after the 13-byte block at %s$" % (ADDR, ADDR),
                             r.err, re.M):
                raise Failure("no block line:\n%s" % tail(r.err))
        add("guard-overflow-" + v, guard)

    def stripped():
        prog = os.path.join(tmp, "heap_bugs-stripped")
        subprocess.run(["strip", "-o", prog, os.path.join(a.samples, "heap_bugs-glibc")],
                       check=True)
        r = execute([a.vmemu, "--check", "heap", prog])
        want = "vmemu: %s has no symbols: --check heap needs a program that is not stripped\n" \
            % os.path.realpath(prog)
        if r.status != 126 or r.err != want:
            raise Failure("status %d, stderr %r" % (r.status, r.err))
    add("stripped", stripped)

    passed, failed = run_checks(checks, a.jobs)
    shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
