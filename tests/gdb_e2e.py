#!/usr/bin/env python3
"""The gdb stub end to end: gdb in batch mode debugs samples run by `vmemu --gdb PORT`.

Usage: gdb_e2e.py --vmemu PATH --samples BUILD/samples [-k SUBSTRING] [--gdb PATH]

Each check starts vmemu on a free port, waits for its "waiting for gdb" line, runs gdb
-batch with a command file against the same program, and checks exact lines of gdb's
output, the program's stdout and vmemu's exit status:
  - session (hello, every variant): `break main` stops at main with argc=3 (the program
    runs with two arguments); `p argv[1]` reads the guest stack and string through the
    stub; `info registers rip` names <main>, and after one `stepi` <main+N> with N > 0;
    `monitor stats` names pid 1000 and the program; `monitor pte` of the image's first
    page shows all four levels and a present, read-only, user page in the r--p image
    area; `monitor maps` lists the [stack]; a register write (`set $rdi = 2`: argc) and a
    memory write (`set {char} argv[1] = 'X'`) change what the program prints (argv[2]'s
    line is gone, "Xlpha" instead of "alpha"); `continue` runs to the end: gdb reports the
    exit, stdout is complete, vmemu exits 0;
  - syscall step (hello-glibc): from `break write`, single steps up to and over the
    `syscall` instruction: RAX is then the bytes written (stdout is a file, so libc writes
    the whole output at once: its length) and the two bytes before RIP are 0f 05;
  - segv (nullderef-glibc): `continue` stops with SIGSEGV at the faulting store in main,
    continuing again ends the program with SIGSEGV (gdb says so, vmemu exits 139);
  - detach (hello-musl): gdb quits after stopping at main: the guest runs on to its end
    without gdb (complete stdout, status 0);
  - port in use: --gdb on a port that is taken fails with one `vmemu: --gdb N: Address
    already in use` line and status 1.
Each check prints "PASS name" or "FAIL name: reason"; the last line is "N passed, M
failed"; the exit status is 1 when a check failed. A hang fails the check (timeouts),
never CI. Python 3 standard library only.
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from harness import CHILD_ENV, Failure, run_checks, tail

VARIANTS = ("glibc", "glibc-pie", "musl", "musl-pie")
TIMEOUT = 60  # seconds for gdb, and for vmemu after gdb ended
ARGS = ("alpha", "beta")


def free_port():
    """A TCP port nobody listens on now (the kernel picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Session:
    """vmemu --gdb on a sample and gdb -batch with a command file; after run(): .gdb
    (gdb's output lines, its file-transfer warning removed), .out (the program's stdout),
    .err (vmemu's stderr) and .status (vmemu's, 128+N for signal N)."""

    def __init__(self, opts, tmp, program, args=()):
        self.opts = opts
        self.tmp = tmp
        self.program = program
        self.args = list(args)

    def run(self, commands):
        port = free_port()
        script = os.path.join(self.tmp, "cmds-%d.gdb" % port)
        with open(script, "w") as f:
            f.write("target remote :%d\n" % port)
            f.write("\n".join(commands) + "\n")
        out = open(os.path.join(self.tmp, "out-%d" % port), "w+b")
        err = open(os.path.join(self.tmp, "err-%d" % port), "w+b")
        vm = subprocess.Popen([self.opts.vmemu, "--gdb", str(port), self.program] + self.args,
                              stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=CHILD_ENV)
        try:
            deadline = time.monotonic() + 20
            while b"waiting for gdb" not in open(err.name, "rb").read():
                if vm.poll() is not None or time.monotonic() > deadline:
                    raise Failure("vmemu did not wait for gdb: %s" %
                                  tail(open(err.name, "rb").read().decode("utf-8", "replace")))
                time.sleep(0.05)
            try:
                g = subprocess.run([self.opts.gdb, "-nx", "-batch", "-x", script, self.program],
                                   stdin=subprocess.DEVNULL, capture_output=True,
                                   timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                raise Failure("gdb timed out after %ds" % TIMEOUT)
            try:
                rc = vm.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                raise Failure("vmemu did not end within %ds after gdb" % TIMEOUT)
        finally:
            if vm.poll() is None:
                vm.kill()
                vm.wait()
        self.status = 128 - rc if rc < 0 else rc
        text = (g.stdout + g.stderr).decode("utf-8", "replace")
        self.gdb = [l for l in text.splitlines() if "does not support file transfer" not in l]
        out.seek(0)
        err.seek(0)
        self.out = out.read().decode("utf-8", "replace")
        self.err = err.read().decode("utf-8", "replace")
        out.close()
        err.close()
        return self

    def expect(self, pattern, what):
        """The match of the first gdb output line that fully matches pattern."""
        for line in self.gdb:
            m = re.fullmatch(pattern, line)
            if m:
                return m
        raise Failure("%s: no gdb line matches %r in:\n%s" % (what, pattern, "\n".join(self.gdb)))


def image_start(variant):
    return "0x555555554000" if variant.endswith("-pie") else "0x400000"


def check_session(opts, tmp, variant):
    prog = os.path.join(opts.samples, "hello-" + variant)
    s = Session(opts, tmp, prog, ARGS).run([
        "break main", "continue",
        "p argc", "p argv[1]",
        "info registers rip", "stepi", "info registers rip",
        "monitor stats",
        "monitor pte " + image_start(variant),
        "monitor maps",
        "set $rdi = 2", "set {char} argv[1] = 'X'",
        "continue"])
    s.expect(r"Breakpoint 1, main \(argc=3, argv=0x[0-9a-f]+\) at .*hello\.c:\d+", "break main")
    s.expect(r"\$1 = 3", "p argc")
    s.expect(r'\$2 = 0x[0-9a-f]+ "alpha"', "p argv[1]")
    rips = [l for l in s.gdb if l.startswith("rip ")]
    if len(rips) != 2 or not rips[0].endswith("<main>") or not re.search(r"<main\+\d+>$", rips[1]):
        raise Failure("info registers rip before/after stepi: %r" % rips)
    s.expect(r"pid 1000 \(hello-%s\): \d+ syscalls" % re.escape(variant), "monitor stats")
    s.expect(r"faults: minor \d+ major \d+ .*", "monitor stats")
    s.expect(r"pte %s \(page %s\):" % (image_start(variant), image_start(variant)), "monitor pte")
    for level in ("PML4E", "PDPTE", "PDE", "PTE"):
        s.expect(r"  %s +0x[0-9a-f]{16}" % level, "monitor pte " + level)
    s.expect(r"  present: frame 0x[0-9a-f]+ read-only user accessed.*", "monitor pte leaf")
    s.expect(r"  area %s-0x[0-9a-f]+ r--p image" % image_start(variant), "monitor pte area")
    s.expect(r"vmemu: address space of 'hello-%s' \(pid 1000\)" % re.escape(variant),
             "monitor maps")
    s.expect(r".* rw-p .* stack .*\[stack\]", "monitor maps [stack]")
    s.expect(r"\[Inferior 1 \(Remote target\) exited normally\]", "exit")
    want = "hello, world\nargv[0] = %s\nargv[1] = Xlpha\n3.14159\n" % prog
    if s.out != want:
        raise Failure("stdout %r, expected %r" % (s.out, want))
    if s.status != 0:
        raise Failure("vmemu status %d, expected 0; stderr: %s" % (s.status, tail(s.err)))


def check_syscall_step(opts, tmp):
    prog = os.path.join(opts.samples, "hello-glibc")
    s = Session(opts, tmp, prog).run([
        "break write", "continue",
        "while *(unsigned short *) $pc != 0x050f",
        "stepi",
        "end",
        "stepi",
        "p $rax",
        "p/x *(unsigned short *) ($pc - 2)",
        "continue"])
    s.expect(r"\$2 = 0x50f", "the syscall instruction just stepped over")
    s.expect(r"\[Inferior 1 \(Remote target\) exited normally\]", "exit")
    if not s.out.startswith("hello, world\n") or s.status != 0:
        raise Failure("stdout %r, status %d" % (s.out, s.status))
    # stdout is a file: fully buffered, written by one write at exit.
    s.expect(r"\$1 = %d" % len(s.out.encode()), "RAX after the write syscall")


def check_segv(opts, tmp):
    prog = os.path.join(opts.samples, "nullderef-glibc")
    s = Session(opts, tmp, prog).run(["continue", "x/i $pc", "continue"])
    s.expect(r"Program received signal SIGSEGV, Segmentation fault\.", "SIGSEGV stop")
    s.expect(r"0x[0-9a-f]+ in main \(\) at .*nullderef\.c:\d+", "stop location")
    s.expect(r"=> 0x[0-9a-f]+ <main\+\d+>:\s+movl\s+\$0x1,\(%rax\)", "faulting instruction")
    s.expect(r"Program terminated with signal SIGSEGV, Segmentation fault\.", "death")
    if s.status != 139:
        raise Failure("vmemu status %d, expected 139" % s.status)


def check_detach(opts, tmp):
    prog = os.path.join(opts.samples, "hello-musl")
    s = Session(opts, tmp, prog, ARGS).run(["break main", "continue"])
    s.expect(r"Breakpoint 1, main \(argc=3, .*", "break main")
    s.expect(r"\[Inferior 1 \(Remote target\) detached\]", "detach at gdb's end")
    want = "hello, world\nargv[0] = %s\nargv[1] = alpha\nargv[2] = beta\n3.14159\n" % prog
    if s.out != want or s.status != 0:
        raise Failure("stdout %r, status %d" % (s.out, s.status))


def check_port_in_use(opts, tmp):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        p = subprocess.run([opts.vmemu, "--gdb", str(port),
                            os.path.join(opts.samples, "hello-glibc")],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT,
                           env=CHILD_ENV)
    err = p.stderr.decode("utf-8", "replace")
    want = "vmemu: --gdb %d: Address already in use\n" % port
    if p.returncode != 1 or err != want:
        raise Failure("status %d, stderr %r; expected 1 and %r" % (p.returncode, err, want))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vmemu", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--gdb", default=shutil.which("gdb") or "gdb")
    ap.add_argument("-k", dest="filter", default="")
    opts = ap.parse_args()
    opts.vmemu = os.path.abspath(opts.vmemu)
    opts.samples = os.path.abspath(opts.samples)
    if not shutil.which(opts.gdb):
        print("FAIL gdb: %s not found (run .ci/setup)" % opts.gdb)
        print("0 passed, 1 failed")
        return 1
    tmp = tempfile.mkdtemp(prefix="vmemu-gdb-e2e-")
    start = time.monotonic()
    try:
        variants = [v for v in VARIANTS
                    if os.access(os.path.join(opts.samples, "hello-" + v), os.X_OK)]
        checks = [("session-" + v, lambda v=v: check_session(opts, tmp, v)) for v in variants]
        checks += [("syscall-step", lambda: check_syscall_step(opts, tmp)),
                   ("segv", lambda: check_segv(opts, tmp)),
                   ("detach", lambda: check_detach(opts, tmp)),
                   ("port-in-use", lambda: check_port_in_use(opts, tmp))]
        checks = [(n, c) for n, c in checks if opts.filter in n]
        passed, failed = run_checks(checks, 1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("(%.1f s)" % (time.monotonic() - start))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
