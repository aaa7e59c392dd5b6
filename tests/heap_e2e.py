#!/usr/bin/env python3
"""The heap checker end to end: samples/heap_bugs.c under vmemu --check heap[,guard].

Usage: heap_e2e.py --vmemu PATH --samples BUILD/samples [-k SUBSTRING] [--jobs N]

Every mode of heap_bugs runs for each build found (glibc and musl, static and static PIE).
Checks, per mode:
  - the report's headline exactly (addresses as 0x..., since where libc's own startup
    allocations put the block differs between the libcs), with "pid P tid T"; its first
    frames (the faulting instruction's function, then its callers), the "allocated at" /
    "freed at" sites;
  - every access class at the instruction, in the compact arena: 1-byte and 8-byte reads
    and writes just after and just before a block, reads and writes of a freed block
    (heap-buffer-overflow / -underflow / heap-use-after-free, READ or WRITE of size N,
    "N bytes after/before/inside the S-byte block"), the program going on (status 0);
  - the exit status: the guest's (0; 139 for guard mode's faults) and with
    --error-exitcode 7, 7 when an error was reported; the summary line's error count;
  - reuse: 40,000 blocks of 80 bytes freed, then 2,000 of 1,000 bytes: the native
    stdout, "0 errors", and the same peak_vm_pages as the first phase alone (freed memory
    of one size serves another);
  - clean and churn (20,000 rounds of allocations, reallocs, frees and libc's string
    functions on heap strings through 4,000 slots): the
    native stdout, status 0, "0 errors" and no other heap line;
  - vmemu's copies for a syscall (sys-write-after: write() of 20 bytes from a 13-byte
    block; sys-read-after: read() of 16 bytes into it; sys-read-freed: read() into a freed
    block): "READ/WRITE of size N at <first bad byte> in write/read", the stack from the
    syscall in libc through sys_touch and main, the block's sites;
  - double, invalid and middle frees, realloc of a freed block, leaks;
  - guard mode: a one-byte overflow faults at once (SIGSEGV, the crash report's heap line
    says "0 bytes after the 13-byte block"), a use after free faults with the crash
    report's heap-use-after-free, and a write before the block is found at free;
  - fork: a child's double free of an inherited block is reported once, as the child's
    (pid 1001), and each process gets its own summary;
  - thread: a second thread's overread is reported with its tid (1001) and pid 1000;
  - maps: the checker's area in /proc/self/maps ([vmemu heap]) and in --report's vmas
    (kind "checker"), and the exact 512 pages it adds to peak_vm_pages;
  - a stripped program: exit 126 with the one-line message.
Each check prints "PASS name" or "FAIL name: reason"; the last line is "N passed, M
failed"; the exit status is 1 when a check failed. Python 3 standard library only.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

from harness import read_report, Failure, built_variants, execute, run_checks, tail

ADDR = r"0x[0-9a-f]+"
FRAME = r"    #%d  " + ADDR + r" %s(\+\d+)?"
HEAD = r"vmemu: heap: pid 1000 tid 1000: "

# The access modes of heap_bugs (touch()): (mode, kind, READ/WRITE, size, where, block size,
# freed).
ACCESSES = (
    ("read1-after", "heap-buffer-overflow", "READ", 1, "0 bytes after", 13, False),
    ("read1-before", "heap-buffer-underflow", "READ", 1, "1 byte before", 13, False),
    ("write1-after", "heap-buffer-overflow", "WRITE", 1, "0 bytes after", 13, False),
    ("write1-before", "heap-buffer-underflow", "WRITE", 1, "1 byte before", 13, False),
    ("read8-after", "heap-buffer-overflow", "READ", 8, "0 bytes after", 16, False),
    ("read8-before", "heap-buffer-underflow", "READ", 8, "8 bytes before", 16, False),
    ("write8-after", "heap-buffer-overflow", "WRITE", 8, "0 bytes after", 16, False),
    ("write8-before", "heap-buffer-underflow", "WRITE", 8, "8 bytes before", 16, False),
    ("read-freed", "heap-use-after-free", "READ", 1, "8 bytes inside", 16, True),
    ("write-freed", "heap-use-after-free", "WRITE", 1, "8 bytes inside", 16, True),
)


# The syscall modes of heap_bugs (sys_touch()): (mode, kind, READ/WRITE, size, syscall,
# where the first bad byte is, block size, freed).
SYSCOPIES = (
    ("sys-write-after", "heap-buffer-overflow", "READ", 20, "write", "0 bytes after", 13, False),
    ("sys-read-after", "heap-buffer-overflow", "WRITE", 16, "read", "0 bytes after", 13, False),
    ("sys-read-freed", "heap-use-after-free", "WRITE", 8, "read", "0 bytes inside", 16, True),
)

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


class Args(dict):
    """heap_bugs' arguments for a mode: the mode, and for churn a round count that keeps
    the sanitizer build's run short (still 20,000 allocations through 4,000 slots)."""

    def __missing__(self, mode):
        return [mode, "20000"] if mode == "churn" else [mode]


ARGS = Args()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vmemu", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("-k", default="")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="heap_e2e.")
    variants = dict(built_variants(a.samples, "heap_bugs"))

    def run(v, mode, check="heap", extra=()):
        return execute([a.vmemu, "--check", check] + list(extra) + [variants[v]] + ARGS[mode])

    checks = []

    def add(name, fn):
        if a.k in name:
            checks.append((name, fn))

    def error_exitcode(v, mode, check="heap"):
        r7 = run(v, mode, check, extra=("--error-exitcode", "7"))
        if r7.status != 7:
            raise Failure("--error-exitcode 7 gave %d" % r7.status)

    for v in variants:
        def quiet(mode, v=v):
            def fn():
                native = execute([variants[v]] + ARGS[mode])
                r = run(v, mode)
                if r.status != 0 or r.out != native.out or native.status != 0:
                    raise Failure("status %d, stdout %r (native %d, %r)"
                                  % (r.status, r.out, native.status, native.out))
                hl = heap_lines(r.err)
                if len(hl) != 1 or summary_errors(r.err) != 0:
                    raise Failure("expected only the summary line:\n%s" % tail(r.err))
                if v.startswith("musl") and not re.match(
                        r"vmemu: heap: pid 1000: (\d+) allocations, \1 frees", hl[0]):
                    raise Failure("musl frees every block of the %s run: %s" % (mode, hl[0]))
            return fn
        add("clean-" + v, quiet("clean"))
        add("churn-" + v, quiet("churn"))

        def reuse(v=v):
            # 40,000 freed blocks of 80 bytes make room for 2,000 of 1,000 bytes: released
            # memory of one size class serves another, so the second phase reserves no
            # more of the area than the first did alone (class lists alone took 512 pages
            # more).
            pages = []
            for phases in ("1", "2"):
                rep = os.path.join(tmp, "reuse-%s-%s.json" % (v, phases))
                native = execute([variants[v], "reuse", phases])
                r = execute([a.vmemu, "--check", "heap", "--report", rep, variants[v], "reuse",
                             phases])
                if r.status != 0 or r.out != native.out or summary_errors(r.err) != 0:
                    raise Failure("reuse %s: status %d, stdout %r (native %r)\n%s"
                                  % (phases, r.status, r.out, native.out, tail(r.err)))
                with open(rep) as f:
                    pages.append(read_report(f)["processes"][0]["peak_vm_pages"])
            if pages[0] != pages[1]:
                raise Failure("peak_vm_pages %d after one phase, %d after two" % tuple(pages))
        add("reuse-" + v, reuse)

        for mode, kind, op, size, where, bsize, freed in ACCESSES:
            def access(mode=mode, kind=kind, op=op, size=size, where=where, bsize=bsize,
                       freed=freed, v=v):
                r = run(v, mode)
                if r.status != 0 or r.out != "done %s\n" % mode:
                    raise Failure("status %d, stdout %r\n%s" % (r.status, r.out, tail(r.err)))
                head = HEAD + r"%s: %s of size %d at %s, %s the %d-byte block at %s%s" % (
                    kind, op, size, ADDR, where, bsize, ADDR, r" \(freed\)" if freed else "")
                sites = {"  allocated at:": ["make_block", "touch", "main"]}
                if freed:
                    sites["  freed at:"] = ["drop_block", "touch", "main"]
                expect_block(r.err, head, ["touch", "main"], sites)
                if summary_errors(r.err) != 1 or len(heap_lines(r.err)) != 2:
                    raise Failure("one report and the summary expected:\n%s" % tail(r.err))
                if mode == "read1-before":
                    error_exitcode(v, mode)
            add("%s-%s" % (mode, v), access)

        # vmemu's own copies for a syscall, checked as ASan's interceptors do: the address
        # is the first bad byte, the size the whole range the call was given, the stack
        # starts at the syscall instruction in libc (musl's write and read go through
        # its cancellation point first).
        for mode, kind, op, size, call, where, bsize, freed in SYSCOPIES:
            def syscopy(mode=mode, kind=kind, op=op, size=size, call=call, where=where,
                        bsize=bsize, freed=freed, v=v):
                r = run(v, mode)
                if r.status != 0 or r.out != "done %s\n" % mode:
                    raise Failure("status %d, stdout %r\n%s" % (r.status, r.out, tail(r.err)))
                head = HEAD + r"%s: %s of size %d at %s in %s, %s the %d-byte block at %s%s" % (
                    kind, op, size, ADDR, call, where, bsize, ADDR, r" \(freed\)" if freed else "")
                lines = r.err.splitlines()
                at = [i for i, l in enumerate(lines) if re.fullmatch(head, l)]
                if not at:
                    raise Failure("no line matching %r in:\n%s" % (head, tail(r.err)))
                names = []
                for l in lines[at[0] + 1:]:
                    m = re.fullmatch(r"    #(\d+)  %s (\S+?)(\+\d+)?" % ADDR, l)
                    if not m:
                        break
                    names.append(m.group(2))
                if call not in names[:2] or names[names.index(call) + 1:][:2] != ["sys_touch",
                                                                               "main"]:
                    raise Failure("stack %r: expected %s (at most one libc frame before it), "
                                  "sys_touch, main" % (names, call))
                sites = {"  allocated at:": ["make_block", "sys_touch", "main"]}
                if freed:
                    sites["  freed at:"] = ["drop_block", "sys_touch", "main"]
                expect_block(r.err, head, [], sites)
                if summary_errors(r.err) != 1 or len(heap_lines(r.err)) != 2:
                    raise Failure("one report and the summary expected:\n%s" % tail(r.err))
            add("%s-%s" % (mode, v), syscopy)

        def in_main(mode, headline, frees, frames=("main",), errors=1, v=v):
            def fn():
                r = run(v, mode)
                # uaf prints the byte it read from the freed block first.
                out = (r"-?\d+\n" if mode == "uaf" else "") + "done %s\n" % mode
                if r.status != 0 or not re.fullmatch(out, r.out):
                    raise Failure("status %d, stdout %r" % (r.status, r.out))
                sites = {"  allocated at:": ["make_block", "main"]}
                if frees:
                    sites["  freed at:"] = ["drop_block", "main"]
                expect_block(r.err, headline, list(frames), sites)
                if summary_errors(r.err) != errors:
                    raise Failure("error count: %s" % tail(r.err))
                error_exitcode(v, mode)
            return fn

        add("overflow-" + v, in_main("overflow",
            HEAD + r"heap-buffer-overflow: WRITE of size 1 at %s, 0 bytes after the 13-byte "
            r"block at %s" % (ADDR, ADDR), False))
        add("underflow-" + v, in_main("underflow",
            HEAD + r"heap-buffer-underflow: WRITE of size 1 at %s, 1 byte before the 16-byte "
            r"block at %s" % (ADDR, ADDR), False))
        add("use-after-free-" + v, in_main("uaf",
            HEAD + r"heap-use-after-free: READ of size 1 at %s, 4 bytes inside the 16-byte "
            r"block at %s \(freed\)" % (ADDR, ADDR), True))
        add("double-free-" + v, in_main("double",
            HEAD + r"double-free: free\(%s\) of the 24-byte block already freed" % ADDR,
            True, ("drop_block", "main")))
        # The block freed into its middle is never freed: a leak too.
        add("invalid-free-middle-" + v, in_main("middle",
            HEAD + r"invalid-free: free\(%s\) points 8 bytes inside the 32-byte block at %s"
            % (ADDR, ADDR), False, ("drop_block", "main"), 2))
        add("realloc-freed-" + v, in_main("realloc_freed",
            HEAD + r"realloc-of-freed-block: realloc\(%s\) of the 16-byte block already freed"
            % ADDR, True))

        def invalid(v=v):
            r = run(v, "invalid")
            expect_block(r.err, HEAD + r"invalid-free: free\(%s\) of memory malloc did not "
                         r"return" % ADDR, ["drop_block", "main"], {})
            if r.status != 0 or summary_errors(r.err) != 1:
                raise Failure("status %d:\n%s" % (r.status, tail(r.err)))
        add("invalid-free-" + v, invalid)

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
            want = [r"vmemu: heap: pid 1001 tid 1001: double-free: free\(%s\) of the 24-byte "
                    r"block already freed" % ADDR,
                    r"vmemu: heap: pid 1001: 0 allocations, 1 free, 0 bytes allocated; 0 bytes "
                    r"lost in 0 blocks, \d+ bytes still reachable in \d+ blocks?; 1 error",
                    r"vmemu: heap: pid 1000: \d+ allocations?, 1 free, \d+ bytes allocated; 0 "
                    r"bytes lost in 0 blocks, \d+ bytes still reachable in \d+ blocks?; 0 errors"]
            if len(hl) != len(want) or not all(re.fullmatch(w, l) for w, l in zip(want, hl)):
                raise Failure("heap lines:\n%s" % "\n".join(hl))
            expect_block(r.err, want[0], ["drop_block", "fork_inherited"],
                         {"  allocated at:": ["make_block", "fork_inherited", "main"],
                          "  freed at:": ["drop_block", "fork_inherited", "main"]})
            error_exitcode(v, "fork")
        add("fork-child-double-free-" + v, fork)

        def thread(v=v):
            # The second thread (tid 1001) of process 1000 reads one byte past its block.
            r = run(v, "thread")
            if r.status != 0 or r.out != "done thread\n":
                raise Failure("status %d, stdout %r" % (r.status, r.out))
            expect_block(r.err, r"vmemu: heap: pid 1000 tid 1001: heap-buffer-overflow: READ of "
                         r"size 1 at %s, 0 bytes after the 13-byte block at %s" % (ADDR, ADDR),
                         ["thread_main"], {"  allocated at:": ["make_block", "thread_main"]})
            if summary_errors(r.err) != 1:
                raise Failure("error count: %s" % tail(r.err))
        add("thread-" + v, thread)

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
                p = read_report(f)["processes"][0]
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

        def guard_uaf(v=v):
            rep = os.path.join(tmp, "uaf-%s.json" % v)
            r = run(v, "uaf", check="heap,guard", extra=("--report", rep))
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
                c = read_report(f)["processes"][0]["crash"]
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
        add("guard-use-after-free-" + v, guard_uaf)

        def guard_underflow(v=v):
            # In guard mode the block ends at its page's end: a write before it changes the
            # red zone in front, found when the block is freed.
            r = run(v, "underflow", check="heap,guard")
            if r.status != 0 or r.out != "done underflow\n":
                raise Failure("status %d, stdout %r" % (r.status, r.out))
            expect_block(r.err, HEAD + r"heap-buffer-underflow: write of 1 byte at %s, 1 byte "
                         r"before the 16-byte block at %s \(red zone changed, found at free\)"
                         % (ADDR, ADDR), ["drop_block", "main"],
                         {"  allocated at:": ["make_block", "main"]})
            if summary_errors(r.err) != 1:
                raise Failure("error count: %s" % tail(r.err))
        add("guard-underflow-" + v, guard_underflow)

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
