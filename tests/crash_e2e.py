#!/usr/bin/env python3
"""Crash reports of the crash samples (nullderef, recursion, rodata, exec_nx, uaf_munmap,
wild, sig_segv crash) under vmemu, for every libc and link variant: the exit status, the
cause in words, the backtrace and the disassembly around RIP, and the same backtrace and
disassembly in the --report JSON. The expected frames are not copied from vmemu's output:
each return address must follow a call instruction in `objdump -d` of the sample whose
target is the function of the frame below (or an indirect call), and the "=>" line must
be RIP with the instruction of the "code:" line."""
import argparse
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import read_report, Failure, Once, execute, run_checks, tail  # noqa: E402

VARIANTS = ("glibc", "musl", "glibc-pie", "musl-pie")
SEGV_STATUS = 128 + 11
BT_MAX_FRAMES = 24  # include/vmemu/backtrace.h
FRAME_RE = re.compile(r"^    #(\d+) +0x([0-9a-f]+)(?: (\S+?)(?:\+(\d+))?)?$")
DIS_RE = re.compile(r"^    (=>|  ) 0x([0-9a-f]+)(?: <[^>]+>)?:  (.*)$")
CALL_RE = re.compile(r"^\s*([0-9a-f]+):\s+call\s+(\*?)([0-9a-f]*)")

# The libc function that calls main, per libc.
MAIN_CALLER = {"glibc": "__libc_start_call_main", "musl": "libc_start_main_stage2"}


def objdump_calls(path):
    """{return address: (target or None for an indirect call)} of every call in path, plus
    the start of every symbol: {name: address} (at the load address of the file)."""
    p = subprocess.run(["objdump", "-d", "--no-show-raw-insn", path], capture_output=True,
                       text=True, check=True)
    calls, pending, prev = {}, False, None
    for line in p.stdout.splitlines():
        m = re.match(r"^\s*([0-9a-f]+):", line)
        if not m:
            continue
        addr = int(m.group(1), 16)
        if pending:
            calls[addr] = prev
        c = CALL_RE.match(line)
        pending = c is not None
        if c:
            prev = None if c.group(2) else int(c.group(3), 16)
    syms = {}
    p = subprocess.run(["nm", path], capture_output=True, text=True, check=True)
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3:
            syms.setdefault(parts[2], int(parts[0], 16))
    return calls, syms


def block(err, title):
    """The indented lines under '  title:' in a crash report."""
    lines = err.splitlines()
    try:
        i = lines.index("  %s:" % title)
    except ValueError:
        raise Failure("no '%s:' block in:\n%s" % (title, tail(err, 2000)))
    out = []
    for line in lines[i + 1:]:
        if not line.startswith("    "):
            break
        out.append(line)
    return out


def field(err, name):
    for line in err.splitlines():
        if line.startswith("  %-10s" % (name + ":")):
            return line[12:]
    raise Failure("no '%s:' line in:\n%s" % (name, tail(err, 2000)))


def parse_frames(lines):
    frames = []
    for i, line in enumerate(lines):
        m = FRAME_RE.match(line)
        if not m or int(m.group(1)) != i:
            raise Failure("bad backtrace line %r" % line)
        frames.append((int(m.group(2), 16), m.group(3), int(m.group(4) or 0)))
    return frames


class Sample:
    """One sample variant: its run under vmemu and the facts of its binary."""

    def __init__(self, vmemu, path, args):
        self.path = path
        self.report = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
        self.run = execute([vmemu, "--report", self.report, path] + args)
        self.calls, self.syms = objdump_calls(path)
        m = re.search(r"rip:\s+0x([0-9a-f]+)", self.run.err)
        self.rip = int(m.group(1), 16) if m else None
        # a PIE runs at a bias: objdump shows link-time addresses
        self.bias = 0
        if self.rip is not None and "main" in self.syms:
            frames = parse_frames(block(self.run.err, "backtrace"))
            for addr, name, off in frames:
                if name == "main":
                    self.bias = addr - off - self.syms["main"]
                    break
        with open(self.report) as f:
            self.json = read_report(f)
        os.unlink(self.report)

    def crash(self):
        return self.json["processes"][0]["crash"]


def check_call_chain(s, frames, first_caller):
    """Every frame after #0 up to first_caller (the libc function that called main; the
    start-up code above it tail-calls) is a return address after a call into the frame
    below it, and frame #1 is in first_caller."""
    names = [f[1] for f in frames]
    last = names.index(first_caller) + 1 if first_caller in names else len(frames)
    for i in range(1, last):
        ret, name, off = frames[i]
        link = ret - s.bias
        if link not in s.calls:
            raise Failure("frame #%d 0x%x (%s+%d) follows no call instruction" % (i, ret, name, off))
        target = s.calls[link]
        callee = frames[i - 1][1]
        if target is not None and callee in s.syms and i > 1 and \
                target != s.syms[callee]:
            raise Failure("frame #%d: the call before 0x%x goes to 0x%x, not to %s" %
                          (i, ret, target, callee))
    if len(frames) < 2 or frames[1][1] != first_caller:
        raise Failure("frame #1 is %r, expected %s" % (frames[1:2], first_caller))


def check_disassembly(s):
    lines = block(s.run.err, "disassembly")
    marked = [DIS_RE.match(x) for x in lines]
    if None in marked:
        raise Failure("bad disassembly line in %r" % lines)
    at = [i for i, m in enumerate(marked) if m.group(1) == "=>"]
    if len(at) != 1:
        raise Failure("%d '=>' lines in %r" % (len(at), lines))
    m = marked[at[0]]
    insn = field(s.run.err, "code").split("  ")[-1].strip()
    # The disassembly names call and jump targets ("call 0x4011d0 <recurse>"); code: does not.
    if int(m.group(2), 16) != s.rip or re.sub(r" <[^>]*>$", "", m.group(3)) != insn:
        raise Failure("'=>' line %r is not rip 0x%x with %r" % (lines[at[0]], s.rip, insn))
    if len(lines) != at[0] + 4 or (at[0] != 3 and not re.search(r" <[^+>]+>:", lines[0])):
        raise Failure("expected 3 instructions (or all from the function's start) before "
                      "rip and 3 after: %r" % lines)
    crash = s.crash()
    if crash["disassembly"] != [x[4:] for x in lines]:
        raise Failure("JSON disassembly %r differs from %r" % (crash["disassembly"], lines))


def check_json_backtrace(s, frames_text):
    want = [re.sub(r"^#\d+ +", "", x.strip()) for x in frames_text]
    if s.crash()["backtrace"] != want:
        raise Failure("JSON backtrace %r differs from %r" % (s.crash()["backtrace"], want))


def make_checks(vmemu, samples_dir):
    once = Once()
    checks = []

    def sample(name, variant, args=()):
        path = os.path.join(samples_dir, "%s-%s" % (name, variant))
        return once.once(path + repr(args), lambda: Sample(vmemu, path, list(args)))

    def crash_check(name, variant, args, fault_re, cause=None, top="main", disasm=True):
        def fn():
            s = sample(name, variant, args)
            libc = variant.split("-")[0]
            if s.run.status != SEGV_STATUS:
                return "status %d, expected %d: %s" % (s.run.status, SEGV_STATUS, tail(s.run.err))
            if not re.fullmatch(fault_re, field(s.run.err, "fault")):
                return "fault line %r does not match %r" % (field(s.run.err, "fault"), fault_re)
            if cause is not None:
                want = cause.replace("PATH", os.path.abspath(s.path))
                causes = [x[12:] for x in s.run.err.splitlines() if x.startswith("  cause:")]
                if want not in causes:
                    return "no cause line %r in %r" % (want, causes)
            text = block(s.run.err, "backtrace")
            frames = parse_frames(text)
            if name == "exec_nx":
                if frames[0][0] != s.syms["code"] + s.bias or frames[1][1] != "main":
                    return "exec_nx frames %r: expected the array code, then main" % frames[:2]
                if s.calls.get(frames[1][0] - s.bias, 0) is not None:
                    return "main's frame 0x%x does not follow an indirect call" % frames[1][0]
                check_call_chain(s, frames[1:], MAIN_CALLER[libc])
            elif name == "recursion":
                if len(frames) != BT_MAX_FRAMES or any(f[1] != "recurse" for f in frames):
                    return "expected %d recurse frames: %r" % (BT_MAX_FRAMES, text[:4])
                if len({f[0] for f in frames[1:]}) != 1:
                    return "the recurse frames return to different places: %r" % text[:4]
                check_call_chain(s, frames[:3], "recurse")
            else:
                if frames[0][0] != s.rip or frames[0][1] != top:
                    return "frame #0 %r is not rip 0x%x in %s" % (text[0], s.rip, top)
                check_call_chain(s, frames, MAIN_CALLER[libc])
            check_json_backtrace(s, text)
            if disasm:
                check_disassembly(s)
            elif "  disassembly:" in s.run.err.splitlines():
                return "a disassembly of the data jumped to"
            return None
        checks.append(("%s-%s%s" % (name, variant, " " + " ".join(args) if args else ""), fn))

    for v in VARIANTS:
        if not os.path.exists(os.path.join(samples_dir, "nullderef-" + v)):
            continue
        crash_check("nullderef", v, (),
                    r"write of 4 bytes at 0x0{16}: NULL pointer dereference")
        crash_check("recursion", v, (),
                    r"write of \d+ bytes? at 0x[0-9a-f]{16}: stack overflow: beyond the stack "
                    r"limit")
        crash_check("rodata", v, (), r"write of 1 byte at 0x[0-9a-f]{16}: write to read-only "
                    r"memory", "write to read-only data (a string literal or a const object): "
                    ".rodata of PATH")
        crash_check("exec_nx", v, (), r"exec at 0x[0-9a-f]{16}: execute of non-executable memory",
                    "execute of data (a jump or call into data: a bad function pointer): .data "
                    "of PATH", disasm=False)
        crash_check("uaf_munmap", v, (), r"read of 1 byte at 0x00007e0000000010: address not "
                    r"mapped")
        crash_check("wild", v, (), r"read of 1 byte at 0x00007e0000000000: address not mapped")
        crash_check("sig_segv", v, ("crash",), r"write of 1 byte at 0x[0-9a-f]{16}: access to "
                    r"PROT_NONE memory")
    return checks


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--vmemu", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    passed, failed = run_checks(make_checks(a.vmemu, a.samples), a.jobs)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
