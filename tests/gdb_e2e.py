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
  - watch (watch, every variant): `watch counter` from the first instruction (no
    breakpoint: no int3 written) stops three times with gdb's "Hardware watchpoint 1:
    counter / Old value / New value" lines for 0->1, 1->3, 3->6 (the loop adds 1, 2, 3);
    `rwatch limit` then stops for the loop's last read (Value = 3); the program's output
    is complete, and the guest's page faults in --report (minor + major) are at most those
    of a run without gdb, with no segv: a trap is refused before the MMU counts anything
    (each of the 4+ traps would otherwise add one), while gdb's own reads fault pages in
    uncounted, which can only save the guest some faults later;
  - signal discard (watch-glibc): `signal 0` at the SIGUSR1 stop discards it (the handler
    never runs: "usr1 0"); `handle SIGUSR1 nopass` (watch-musl) does the same; a plain
    `continue` (watch-glibc-pie) delivers it ("usr1 1");
  - segv discard (nullderef-glibc): `signal 0` at the SIGSEGV stop runs the store again,
    which faults again (a second SIGSEGV stop), as on Linux;
  - info proc mappings (watch-glibc): the image's first area (0x400000, r--p, offset 0,
    the program's path) and the [stack] line with the same bounds as `monitor maps`;
  - fork (watch-glibc fork): "[Detaching after fork from child process 1001]", the child
    runs on without gdb (its exit status 7 reaches the parent);
  - exec (watch-musl exec): "process 1000 is executing new program: PATH", gdb reloads
    the symbols and `break main` stops again in the new image with argc=2;
  - ctrl-c (watch-glibc spin, the remote protocol spoken directly): after `c`, a 0x03
    byte stops the looping guest with a T02 stop reply; vKill ends it (status 137);
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


from harness import read_report, CHILD_ENV, Failure, execute, line_diff, run_checks, tail

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

    def __init__(self, opts, tmp, program, args=(), vmemu_opts=()):
        self.opts = opts
        self.tmp = tmp
        self.program = program
        self.args = list(args)
        self.vmemu_opts = list(vmemu_opts)

    def run(self, commands):
        port = free_port()
        script = os.path.join(self.tmp, "cmds-%d.gdb" % port)
        with open(script, "w") as f:
            f.write("target remote :%d\n" % port)
            f.write("\n".join(commands) + "\n")
        out = open(os.path.join(self.tmp, "out-%d" % port), "w+b")
        err = open(os.path.join(self.tmp, "err-%d" % port), "w+b")
        vm = subprocess.Popen([self.opts.vmemu, "--gdb", str(port)] + self.vmemu_opts +
                              [self.program] + self.args,
                              stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=CHILD_ENV)
        try:
            deadline = time.monotonic() + 20
            while b"waiting for gdb" not in open(err.name, "rb").read():
                if vm.poll() is not None or time.monotonic() > deadline:
                    raise Failure("vmemu did not wait for gdb: %s" %
                                  tail(open(err.name, "rb").read().decode("utf-8", "replace")))
                time.sleep(0.05)
            try:
                g = subprocess.run([self.opts.gdb, "-nx", "-batch", "-x", script, "--args",
                                    self.program] + self.args,
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
        self.gdb = text.splitlines()
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

    def expect_run(self, want_out, want_status):
        """The program printed exactly want_out and vmemu ended with want_status."""
        if self.out != want_out:
            raise Failure("stdout differs:\n" + line_diff(want_out, self.out))
        if self.status != want_status:
            raise Failure("vmemu status %d, expected %d; stderr: %s" %
                          (self.status, want_status, tail(self.err)))


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
    s.expect(r"\[Inferior 1 \(process 1000\) exited normally\]", "exit")
    s.expect_run("hello, world\nargv[0] = %s\nargv[1] = Xlpha\n3.14159\n" % prog, 0)


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
    s.expect(r"\[Inferior 1 \(process 1000\) exited normally\]", "exit")
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
    s.expect(r"\[Inferior 1 \(process 1000\) detached\]", "detach at gdb's end")
    s.expect_run("hello, world\nargv[0] = %s\nargv[1] = alpha\nargv[2] = beta\n3.14159\n"
                 % prog, 0)


def check_port_in_use(opts, tmp):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        r = execute([opts.vmemu, "--gdb", str(port), os.path.join(opts.samples, "hello-glibc")],
                    timeout=TIMEOUT)
    want = "vmemu: --gdb %d: Address already in use\n" % port
    if r.status != 1 or r.err != want:
        raise Failure("status %d, stderr %r; expected 1 and %r" % (r.status, r.err, want))


WATCH_OUT = "counter 6 usr1 %d\n"  # samples/watch.c without arguments


def faults_of(path):
    with open(path) as f:
        return read_report(f)["processes"][0]["faults"]


def check_watch(opts, tmp, variant):
    prog = os.path.join(opts.samples, "watch-" + variant)
    plain = os.path.join(tmp, "plain-%s.json" % variant)
    r = execute([opts.vmemu, "--report", plain, prog], timeout=TIMEOUT)
    if r.status != 0 or r.out != WATCH_OUT % 1:
        raise Failure("run without gdb: status %d, stdout %r" % (r.status, r.out))
    report = os.path.join(tmp, "gdb-%s.json" % variant)
    s = Session(opts, tmp, prog, vmemu_opts=("--report", report)).run([
        "watch counter", "continue", "continue", "continue",
        "rwatch limit", "continue", "delete", "continue", "continue"])
    s.expect(r"Hardware watchpoint 1: counter", "watch inserted as a hardware watchpoint")
    values = [l for l in s.gdb if l.startswith(("Old value = ", "New value = "))]
    want = ["Old value = 0", "New value = 1", "Old value = 1", "New value = 3",
            "Old value = 3", "New value = 6"]
    if values != want:
        raise Failure("watch counter: %r, expected %r\n%s" % (values, want, "\n".join(s.gdb)))
    s.expect(r"Hardware read watchpoint 2: limit", "rwatch inserted")
    s.expect(r"Value = 3", "rwatch stop")
    s.expect(r"\[Inferior 1 \(process 1000\) exited normally\]", "exit")
    s.expect_run(WATCH_OUT % 1, 0)
    watched, alone = faults_of(report), faults_of(plain)
    if (watched["minor"] + watched["major"] > alone["minor"] + alone["major"] or
            watched["segv"] != 0):
        raise Failure("faults with watchpoints %r, without gdb %r" % (watched, alone))


def check_signal(opts, tmp, variant, commands, usr1):
    prog = os.path.join(opts.samples, "watch-" + variant)
    s = Session(opts, tmp, prog).run(commands)
    s.expect(r"Program received signal SIGUSR1, User defined signal 1\.", "SIGUSR1 stop")
    s.expect(r"\[Inferior 1 \(process 1000\) exited normally\]", "exit")
    s.expect_run(WATCH_OUT % usr1, 0)


def check_segv_discard(opts, tmp):
    prog = os.path.join(opts.samples, "nullderef-glibc")
    s = Session(opts, tmp, prog).run(["continue", "signal 0", "kill"])
    stops = [l for l in s.gdb if l == "Program received signal SIGSEGV, Segmentation fault."]
    if len(stops) != 2:
        raise Failure("%d SIGSEGV stops, expected 2:\n%s" % (len(stops), "\n".join(s.gdb)))
    if s.status != 137:
        raise Failure("vmemu status %d, expected 137 (killed by gdb)" % s.status)


def check_proc_mappings(opts, tmp):
    prog = os.path.join(opts.samples, "watch-glibc")
    s = Session(opts, tmp, prog).run(["info proc mappings", "monitor maps", "continue",
                                      "continue"])
    s.expect(r"process 1000", "info proc header")
    s.expect(r" +0x400000 +0x401000 +0x1000 +0x0 +r--p +%s" % re.escape(prog), "image line")
    stack = s.expect(r" +0x([0-9a-f]+) +0x([0-9a-f]+) +0x[0-9a-f]+ +0x0 +rw-p +\[stack\]",
                     "[stack] line")
    vm = s.expect(r" *([0-9a-f]+)-([0-9a-f]+) rw-p .* stack .*\[stack\]", "monitor maps [stack]")
    if [int(x, 16) for x in stack.groups()] != [int(x, 16) for x in vm.groups()]:
        raise Failure("[stack] %s in info proc mappings, %s in monitor maps" %
                      (stack.groups(), vm.groups()))
    s.expect_run(WATCH_OUT % 1, 0)


def check_fork(opts, tmp):
    prog = os.path.join(opts.samples, "watch-glibc")
    s = Session(opts, tmp, prog, ["fork"]).run(["continue"])
    s.expect(r"\[Detaching after fork from child process 1001\]", "fork event")
    s.expect(r"\[Inferior 1 \(process 1000\) exited normally\]", "exit")
    s.expect_run("child exit 7\n", 0)


def check_threads(opts, tmp):
    """A breakpoint in a thread function stops the thread that hit it; `info threads` lists
    the process's threads; `thread 1` switches to the first one (registers from its saved
    context) and `bt` walks its stack."""
    prog = os.path.join(opts.samples, "threads-glibc")
    s = Session(opts, tmp, prog, ["barrier"]).run(
        ["break barrier_worker", "continue", "info threads", "thread 1", "bt 2", "delete",
         "continue"])
    hit = s.expect(r"Thread (\d+) hit Breakpoint 1, barrier_worker \(arg=0x1\) at .*",
                   "breakpoint in a thread")
    if hit.group(1) == "1":
        raise Failure("the breakpoint was reported in the first thread")
    listed = [l for l in s.gdb if re.match(r"[* ] +\d+ +Thread 1000\.10\d\d ", l)]
    if len(listed) < 2:
        raise Failure("info threads lists %d threads:\n%s" % (len(listed), "\n".join(s.gdb)))
    s.expect(r"\* +%s +Thread 1000\.\d+ +barrier_worker .*" % hit.group(1),
             "the stopped thread marked current")
    s.expect(r"\[Switching to thread 1 \(Thread 1000\.1000\)\]", "thread 1")
    s.expect(r"#1  0x[0-9a-f]+ in .*pthread_.*join.*", "the first thread's stack (in join)")
    s.expect(r"\[Inferior 1 \(process 1000\) exited normally\]", "exit")
    s.expect_run("barrier: serial threads 3, sum 30\n", 0)


def check_exec(opts, tmp):
    prog = os.path.join(opts.samples, "watch-musl")
    s = Session(opts, tmp, prog, ["exec"]).run(["break main", "continue", "continue",
                                                "p argc", "continue"])
    s.expect(r"process 1000 is executing new program: %s" % re.escape(prog), "exec event")
    hits = [l for l in s.gdb if l.startswith("Breakpoint 1, main (argc=")]
    if len(hits) != 2:
        raise Failure("break main hit %d times, expected 2 (before and after the exec):\n%s"
                      % (len(hits), "\n".join(s.gdb)))
    s.expect(r"\$1 = 2", "argc in the new image")
    s.expect_run("exec done\n", 0)


class Remote:
    """The remote protocol spoken directly (acknowledged mode)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(b"$%s#%02x" % (data, sum(data) & 0xff))

    def reply(self):
        """The next packet's data (acknowledged)."""
        while True:
            m = re.search(rb"\$([^#]*)#[0-9a-f]{2}", self.buf)
            if m:
                self.buf = self.buf[m.end():]
                self.sock.sendall(b"+")
                return m.group(1)
            chunk = self.sock.recv(4096)
            if not chunk:
                raise Failure("vmemu closed the connection")
            self.buf += chunk


def check_ctrl_c(opts, tmp):
    port = free_port()
    err = open(os.path.join(tmp, "err-ctrlc"), "w+b")
    vm = subprocess.Popen([opts.vmemu, "--gdb", str(port),
                           os.path.join(opts.samples, "watch-glibc"), "spin"],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                          env=CHILD_ENV)
    try:
        deadline = time.monotonic() + 20
        while b"waiting for gdb" not in open(err.name, "rb").read():
            if vm.poll() is not None or time.monotonic() > deadline:
                raise Failure("vmemu did not wait for gdb")
            time.sleep(0.05)
        r = Remote(port)
        r.send(b"?")
        if r.reply() != b"T05thread:3e8;":
            raise Failure("first stop reply")
        r.send(b"c")
        time.sleep(0.3)  # the guest loops (the `c` packet has no reply while it runs)
        r.sock.sendall(b"\x03")
        stop = r.reply()
        if stop != b"T02thread:3e8;":
            raise Failure("stop reply after Ctrl-C %r, expected T02thread:3e8;" % stop)
        r.send(b"vKill;3e8")
        if r.reply() != b"OK":
            raise Failure("vKill")
        rc = vm.wait(timeout=TIMEOUT)
        if rc != 137:
            raise Failure("vmemu status %d, expected 137" % rc)
    finally:
        if vm.poll() is None:
            vm.kill()
            vm.wait()
        err.close()


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
        checks += [("watch-" + v, lambda v=v: check_watch(opts, tmp, v)) for v in variants]
        checks += [
            ("signal-0", lambda: check_signal(opts, tmp, "glibc", ["continue", "signal 0"], 0)),
            ("signal-nopass", lambda: check_signal(
                opts, tmp, "musl", ["handle SIGUSR1 nopass", "continue", "continue"], 0)),
            ("signal-pass", lambda: check_signal(
                opts, tmp, "glibc-pie", ["continue", "continue"], 1)),
            ("segv-discard", lambda: check_segv_discard(opts, tmp)),
            ("proc-mappings", lambda: check_proc_mappings(opts, tmp)),
            ("fork", lambda: check_fork(opts, tmp)),
            ("exec", lambda: check_exec(opts, tmp)),
            ("threads", lambda: check_threads(opts, tmp)),
            ("ctrl-c", lambda: check_ctrl_c(opts, tmp))]
        checks = [(n, c) for n, c in checks if opts.filter in n]
        passed, failed = run_checks(checks, 1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("(%.1f s)" % (time.monotonic() - start))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
