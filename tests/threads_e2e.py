#!/usr/bin/env python3
"""Threaded programs under vmemu give the native output, and the same counts every run.

Usage: threads_e2e.py --vmemu PATH --samples BUILD/samples

For every built variant of samples/threads.c (pthreads: mutex, condvar, rwlock, barrier,
TLS and keys, detached threads, cancellation, a robust mutex whose owner dies, ids, a
thread spinning on memory without a syscall, a parallel reduction), samples/threads_cpp.cc
(std::thread, std::async, std::atomic, std::condition_variable, thread_local) and
samples/openmp.c (static libgomp), samples/rust/threads.rs (std threads, channels,
Arc<Mutex>, a Condvar, thread::scope) and samples/go/threads.go (goroutines, channels, the
garbage collector, timers, a goroutine that only asynchronous preemption stops, os/exec
of itself) and samples/thread_pingpong.c (the bench's futex ping-pong and two computing
threads, small sizes), when built: the native run and a vmemu run must print the same
stdout and end with the same status (0: every check of the program held). A second vmemu
run with --stats must print the same stdout and the same counters as a third one, line
for line, except host times, the watchdog's count and the TLB counters (which depend on
host time): faults by class for each thread, syscalls and context switches are
deterministic. The time-driven Go program is compared under --deterministic (virtual
clock, seeded random bytes); without it its counts vary a little, as its runtime
decides by time. Prints
PASS/FAIL per check and "N passed, M failed". Python 3 standard library only.
"""
import os
import re
import sys

from harness import e2e_options, Failure, execute, finish_checks, line_diff, tail

PROGRAMS = [("threads", ("glibc", "glibc-pie", "musl", "musl-pie")),
            ("threads_cpp", ("glibc", "glibc-pie")),
            ("openmp", ("glibc", "glibc-pie")),
            ("threads_rust", ("glibc",)),
            ("threads_go", ("static",))]
# samples/thread_pingpong.c, the bench's workloads, at a small size: a token passed over a
# futex between two threads, and two threads that compute without a syscall (about 30
# slices each ended by the block budget). Its procs mode is procs_e2e's.
PINGPONG = (("glibc", ("threads", "300")), ("musl", ("threads", "300")),
            ("glibc", ("spin2", "3")))
# Go's scheduler decides by time (sysmon's 10 ms preemption, timers) and by chance (its
# random seeds, from AT_RANDOM and rdtsc): its counts are compared under --deterministic.
TIME_DRIVEN = ("threads_go",)
# --stats lines that depend on host time: times, the watchdog, and the TLB counters
# (Unicorn sizes its TLB by how full it was over a window of host time, and every fill
# is a lookup in vmemu's TLB).
HOST_TIME = re.compile(r"time \(s\)|Watchdog stops|Elapsed|seconds|TLB", re.I)


def counters(err):
    """The --stats lines of a vmemu run's stderr, host-time lines left out."""
    return [l for l in err.splitlines() if l.startswith("\t") and not HOST_TIME.search(l)]


def check(vmemu, binary, deterministic, args=(), flags=()):
    native = execute([binary] + list(args))
    vm = execute([vmemu, "--", binary] + list(args))
    if vm.out != native.out:
        raise Failure("stdout differs from the native run:\n" + line_diff(native.out, vm.out))
    if vm.status != native.status:
        raise Failure("status %d, natively %d: %s" % (vm.status, native.status, tail(vm.err)))
    if native.status != 0:
        raise Failure("the program's own checks failed (status %d):\n%s" % (native.status,
                                                                         tail(native.out)))
    if not deterministic:
        return None
    a = execute([vmemu, "--stats"] + list(flags) + ["--", binary] + list(args))
    b = execute([vmemu, "--stats"] + list(flags) + ["--", binary] + list(args))
    if a.out != native.out or b.out != native.out:
        raise Failure("a --stats run printed another stdout")
    ca, cb = counters(a.err), counters(b.err)
    if not any("Threads:" in l for l in ca):
        raise Failure("--stats printed no Threads: table:\n" + tail(a.err))
    if ca != cb:
        raise Failure("two runs counted differently:\n" + line_diff("\n".join(ca),
                                                                   "\n".join(cb)))
    return None


def crash(vmemu, binary):
    """A thread's NULL read kills the process with SIGSEGV, natively and under vmemu, and
    vmemu's crash report names the process and the faulting thread."""
    native = execute([binary, "crash"])
    vm = execute([vmemu, "--", binary, "crash"])
    if native.status != 139 or vm.status != 139:
        raise Failure("status %d natively, %d under vmemu (want 139)" % (native.status,
                                                                       vm.status))
    if not re.search(r"\(pid \d+, thread \d+ '[^']*'\) killed by SIGSEGV", vm.err):
        raise Failure("the crash report does not name the thread:\n" + tail(vm.err))
    if "NULL pointer dereference" not in vm.err or "crash_worker" not in vm.err:
        raise Failure("the crash report misses the cause or the function:\n" + tail(vm.err))
    return None


def deadlock(vmemu, binary):
    """Two threads that wait for each other's mutex: vmemu reports the deadlock, says where
    each thread waits, and ends them (SIGKILL, 137), where Linux would hang."""
    vm = execute([vmemu, "--", binary, "deadlock"])
    waits = re.findall(r"pid \d+ thread \d+ '[^']*' waits for a futex at 0x[0-9a-f]+ "
                       r"\(futex at rip 0x[0-9a-f]+\)", vm.err)
    if vm.status != 137 or "vmemu: deadlock" not in vm.err or len(waits) != 2:
        raise Failure("status %d, want 137 and a report of two waiting threads:\n%s" % (
            vm.status, tail(vm.err)))
    return None


def main():
    o = e2e_options(__doc__)
    vmemu = o.vmemu
    checks = []
    for name, variants in PROGRAMS:
        for v in variants:
            binary = os.path.join(os.path.abspath(o.samples), "%s-%s" % (name, v))
            if os.path.exists(binary):
                flags = ["--deterministic"] if name in TIME_DRIVEN else []
                checks.append(("%s-%s%s" % (name, v, " ".join([""] + flags)),
                               lambda b=binary, f=flags: check(vmemu, b, True, (), f)))
    for v in ("glibc", "musl"):
        binary = os.path.join(os.path.abspath(o.samples), "threads-" + v)
        if os.path.exists(binary):
            checks.append(("threads-%s exec (fork and exec from threads)" % v,
                           lambda b=binary: check(vmemu, b, True, ["exec"])))
            checks.append(("threads-%s exec-main (the leader execs, threads running)" % v,
                           lambda b=binary: check(vmemu, b, True, ["exec-main"])))
            checks.append(("threads-%s crash (a thread's SIGSEGV)" % v,
                           lambda b=binary: crash(vmemu, b)))
            checks.append(("threads-%s deadlock (reported, ended)" % v,
                           lambda b=binary: deadlock(vmemu, b)))
    for v, args in PINGPONG:
        binary = os.path.join(os.path.abspath(o.samples), "thread_pingpong-" + v)
        if os.path.exists(binary):
            checks.append(("thread_pingpong-%s %s" % (v, " ".join(args)),
                           lambda b=binary, a=args: check(vmemu, b, True, a)))
    return finish_checks(checks, "no threaded sample built in %s" % o.samples)


if __name__ == "__main__":
    sys.exit(main())
