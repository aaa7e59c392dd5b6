#!/usr/bin/env python3
"""Processes end to end: fork/COW, exec, wait, pipelines and busybox shell scripts.

Usage: procs_e2e.py --vmemu PATH --samples BUILD/samples [-k SUBSTRING] [--jobs N]
                    [--busybox /bin/busybox]

Checks:
  - output: every process sample (samples/fork_cow.c, forkbomb.c, pipeline.c, execself.c,
    waitstat.c, spawn.c, fork_heavy.c, pipe_heavy.c, futex.c, events.c, and
    thread_pingpong.c's procs mode: a byte passed back and forth over two pipes), every
    variant (glibc, musl, PIE or not), gives the native stdout and exit status under vmemu (OUTPUT_CASES);
  - COW counts: fork_cow N K P M against fork_cow N 0 0 0 under vmemu --report, same
    variant. fork_cow's child writes K pages its parent still maps (K copies in the child),
    the parent writes P pages first and the child then writes them, their only owner left
    (P copies in the parent, P reuses in the child), and after the child has exited the
    parent writes the child's K pages and M more (K + M reuses in the parent). Everything
    else both processes do is the same in the two runs, so the differences must be
    exactly: child cow +K, cow_reuse +P; parent cow +P, cow_reuse +K+M (derived from the
    program, see its header comment). The report lists the parent as pid 1000 (ppid 1)
    and the child as pid 1001 (ppid 1000);
  - vfork counts: spawn vfork 040 against vfork 000: the 40 pages the vfork child writes
    in its parent's address space are 40 more anon faults of the child and none of the
    parent (Linux counts faults per task);
  - the report of multi-process runs: one entry per process in pid order from 1000 up,
    parents and exit statuses as the programs create them (pipeline: 3 stages; forkbomb
    8: 7 children blocked at the limit plus one after reaping), and "totals" the sum of
    the processes' fault counts;
  - determinism: two runs of fork_cow, pipeline, forkbomb and a busybox script give the
    same per-process counts (faults, syscalls, peak RSS, page tables) and processes;
  - vmemu only: execself dynamic PATH (execve of a dynamic program fails with ENOEXEC and
    the caller goes on; natively it would run) and spawn shell (system() and popen() run
    /bin/sh, a dynamic program here: vmemu refuses it with ENOEXEC and the libcs must
    report what they report on Linux for an ENOEXEC /bin/sh, SHELL_VMEMU);
  - busybox scripts (samples/scripts/*.sh: pipelines, subshells, command substitution,
    exec, xargs, tar and gzip calling each other, loops, here-documents): `busybox sh
    SCRIPT BUSYBOX` natively and under vmemu give the same stdout and exit status.
Each check prints "PASS name" or "FAIL name: reason"; the last line is "N passed, M
failed"; the exit status is 1 when a check failed. Python 3 standard library only.
"""

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time

from harness import read_report, Failure, Once, execute, line_diff, run_checks, tail

VARIANTS = ("glibc", "glibc-pie", "musl", "musl-pie")
SAMPLES = ("fork_cow", "forkbomb", "pipeline", "execself", "waitstat", "spawn", "fork_heavy",
           "pipe_heavy", "futex", "events", "thread_pingpong")
HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS_DIR = os.path.join(os.path.dirname(HERE), "samples", "scripts")
SCRIPTS = ("pipes.sh", "tar_gzip.sh", "xargs.sh", "exec.sh")
FIRST_PID = 1000
TIMEOUT = 60  # seconds for one run (the longest takes a few seconds)

# (sample, args) compared with the native run in every variant.
OUTPUT_CASES = (
    ("fork_cow", ()),
    ("forkbomb", ()),
    ("forkbomb", ("2",)),
    ("pipeline", ()),
    ("pipeline", ("1",)),
    ("execself", ()),
    ("waitstat", ()),
    ("spawn", ()),
    ("spawn", ("errors",)),
    ("fork_heavy", ("40", "16")),
    ("fork_heavy", ("exec", "10")),
    ("pipe_heavy", ("2", "3000")),
    ("futex", ()),
    ("events", ()),
    ("thread_pingpong", ("procs", "300")),
)

# fork_cow configurations (N, K, P, M) checked against (N, 0, 0, 0).
COW_CONFIGS = ((64, 16, 8, 24), (96, 5, 20, 40))

# spawn shell: natively /bin/sh runs the commands; under vmemu the dynamic /bin/sh is
# refused with ENOEXEC. What each libc then reports was measured natively with /bin/sh
# replaced by a text file (unshare -m, a bind mount over /usr/bin/dash), and is what their
# sources say: glibc's system() returns the status of exit(127) when posix_spawn fails
# and its popen() sets ENOMEM whatever the spawn error; musl's system() returns -1 with
# errno set to the spawn error, and so does its popen().
SHELL_NATIVE = ('system("exit 3"): exit 3\n'
                'from system\n'
                'system("echo from system"): exit 0\n'
                'popen read: from popen\n'
                'pclose: exit 2\n')
SHELL_VMEMU = {"glibc": ('system("exit 3"): exit 127\n'
                         'system("echo from system"): exit 127\n'
                         'popen: NULL ENOMEM\n'),
               "musl": ('system("exit 3"): -1 ENOEXEC\n'
                        'system("echo from system"): -1 ENOEXEC\n'
                        'popen: NULL ENOEXEC\n')}

# The per-process values that two identical runs must repeat.
REPEATED = ("pid", "ppid", "exit_status", "signal", "faults", "syscalls", "peak_rss_pages",
            "page_table_pages", "peak_page_table_pages")


class Runner(Once):
    """Runs programs natively and under vmemu; each distinct run happens once (checks share
    them). vm() returns the Run with .report (the --report JSON)."""

    def __init__(self, vmemu, samples, busybox, tmp):
        super().__init__()
        self.vmemu = vmemu
        self.samples = samples
        self.busybox = busybox
        self.tmp = tmp
        self.lock = threading.Lock()
        self.serial = 0

    def path(self, sample, variant="glibc"):
        return os.path.join(self.samples, "%s-%s" % (sample, variant))

    def native(self, argv):
        return self.once(("native",) + tuple(argv), lambda: execute(list(argv), TIMEOUT))

    def vm(self, argv, tag=0):
        """argv under vmemu --report; tag tells apart runs that must really happen twice."""
        return self.once(("vm", tag) + tuple(argv), lambda: self._vm(argv))

    def _vm(self, argv):
        with self.lock:
            self.serial += 1
            rfile = os.path.join(self.tmp, "%d-report.json" % self.serial)
        r = execute([self.vmemu, "--report", rfile, "--"] + list(argv), TIMEOUT)
        try:
            with open(rfile) as f:
                r.report = read_report(f)
        except (OSError, ValueError) as e:
            raise Failure("no usable --report (%s); status %d, stderr: %s"
                          % (e, r.status, tail(r.err)))
        finally:
            if os.path.exists(rfile):
                os.unlink(rfile)
        return r


def no_sanitizer_report(r):
    for marker in ("Sanitizer", "runtime error:"):
        if marker in r.err:
            raise Failure("sanitizer report on stderr: %s" % tail(r.err, 800))


def why(r):
    """vmemu's own lines from a run's stderr (its error or crash report), else its tail."""
    lines = [x for x in r.err.splitlines() if x.startswith("vmemu: ")]
    return "; ".join(lines[:3]) if lines else tail(r.err)


def same_as_native(R, argv):
    """Runs argv natively and under vmemu; fails unless the exit status and stdout are the
    same. Returns the vmemu Run."""
    native = R.native(argv)
    r = R.vm(argv)
    no_sanitizer_report(r)
    if r.status != native.status:
        raise Failure("status %d, native %d; stderr: %s" % (r.status, native.status, why(r)))
    if r.out != native.out:
        raise Failure("stdout differs from the native run's:\n" + line_diff(native.out, r.out))
    return r


def procs(rep, at_least=1):
    ps = rep.get("processes")
    if not isinstance(ps, list) or len(ps) < at_least:
        raise Failure("report has %s processes, expected at least %d"
                      % (len(ps) if isinstance(ps, list) else "no", at_least))
    return ps


def check_output(R, sample, variant, args):
    native = R.native([R.path(sample, variant)] + list(args))
    if native.status >= 126:  # not run, or killed: the samples exit with small codes
        raise Failure("native run exited %d: %s" % (native.status, tail(native.out + native.err)))
    same_as_native(R, [R.path(sample, variant)] + list(args))


def cow_counts(R, variant, config):
    """(parent faults, child faults) of fork_cow CONFIG under vmemu, output checked."""
    # Fixed-width arguments: the two runs compared must have the same stack layout.
    r = same_as_native(R, [R.path("fork_cow", variant)] + ["%03d" % x for x in config])
    ps = procs(r.report, 2)
    parent, child = ps[0], ps[1]
    want = [(FIRST_PID, 1), (FIRST_PID + 1, FIRST_PID)]
    got = [(parent["pid"], parent["ppid"]), (child["pid"], child["ppid"])]
    if got != want:
        raise Failure("processes (pid, ppid) %s, expected %s" % (got, want))
    if len(ps) != 2:
        raise Failure("%d processes in the report, fork_cow makes 2" % len(ps))
    return parent["faults"], child["faults"]


def check_cow(R, variant, config):
    n, k, p, m = config
    base_p, base_c = cow_counts(R, variant, (n, 0, 0, 0))
    par, chi = cow_counts(R, variant, config)
    got = {"child cow": chi["cow"] - base_c["cow"],
           "child cow_reuse": chi["cow_reuse"] - base_c["cow_reuse"],
           "parent cow": par["cow"] - base_p["cow"],
           "parent cow_reuse": par["cow_reuse"] - base_p["cow_reuse"]}
    want = {"child cow": k, "child cow_reuse": p, "parent cow": p, "parent cow_reuse": k + m}
    if got != want:
        raise Failure("differences from fork_cow %d 0 0 0: %s, expected %s (absolute: parent "
                      "cow %d reuse %d, child cow %d reuse %d)"
                      % (n, got, want, par["cow"], par["cow_reuse"], chi["cow"],
                         chi["cow_reuse"]))


def check_tree(R, argv, want):
    """The report's processes against want: a list of (ppid, exit_status) in pid order
    (ppid None: the first process's own, 1)."""
    r = same_as_native(R, argv)
    ps = procs(r.report)
    pids = [p["pid"] for p in ps]
    if pids != list(range(FIRST_PID, FIRST_PID + len(ps))):
        raise Failure("pids %s, expected consecutive from %d in order" % (pids, FIRST_PID))
    got = [(p["ppid"], p["exit_status"]) for p in ps]
    want = [(1 if pp is None else pp, st) for pp, st in want]
    if got != want:
        raise Failure("(ppid, exit_status) per process %s, expected %s" % (got, want))
    totals = r.report.get("totals")
    if not isinstance(totals, dict) or "faults" not in totals:
        raise Failure("report has no \"totals\" with \"faults\"")
    for key, value in totals["faults"].items():
        s = sum(p["faults"][key] for p in ps)
        if value != s:
            raise Failure("totals.faults.%s %d, the processes' sum %d" % (key, value, s))


def check_vfork_counts(R, variant, pages):
    """spawn vfork NNN against vfork 000: the child's anon faults grow by NNN, the
    parent's do not change (faults in a vfork child are the child's, as Linux counts them
    per task; the parent sleeps until the child exits)."""
    runs = []
    for n in (0, pages):
        r = same_as_native(R, [R.path("spawn", variant), "vfork", "%03d" % n])
        ps = procs(r.report, 2)
        runs.append((ps[0]["faults"], ps[1]["faults"]))
    (p0, c0), (p1, c1) = runs
    got = {"parent minor": p1["minor"] - p0["minor"], "parent anon": p1["anon"] - p0["anon"],
           "child minor": c1["minor"] - c0["minor"], "child anon": c1["anon"] - c0["anon"]}
    want = {"parent minor": 0, "parent anon": 0, "child minor": pages, "child anon": pages}
    if got != want:
        raise Failure("fault differences %s, expected %s" % (got, want))


def check_repeat(R, argv):
    """Two runs under vmemu: the same processes and per-process counts."""
    def summary(r):
        return [{k: p.get(k) for k in REPEATED} for p in procs(r.report)]
    a, b = R.vm(argv, 1), R.vm(argv, 2)
    for r in (a, b):
        no_sanitizer_report(r)
        if r.status != a.status:
            raise Failure("exit status %d then %d" % (a.status, b.status))
    sa, sb = summary(a), summary(b)
    if sa != sb:
        diffs = [(x["pid"], k, x[k], y[k]) for x, y in zip(sa, sb) for k in REPEATED
                 if x[k] != y[k]]
        raise Failure("the two runs differ: %s" % (diffs[:4] if diffs else
                                                     "%d vs %d processes" % (len(sa), len(sb))))


def check_dynamic(R, variant):
    dyn = os.path.join(R.samples, "hello-dynamic")
    r = R.vm([R.path("execself", variant), "dynamic", dyn])
    no_sanitizer_report(r)
    want = "before execve of %s\nexecve(dynamic ELF): -1 ENOEXEC\nstill here\n" % dyn
    if r.status != 0 or r.out != want:
        raise Failure("status %d, stdout:\n%s\nexpected 0 and:\n%s\nstderr: %s"
                      % (r.status, r.out, want, why(r)))


def check_shell(R, variant):
    argv = [R.path("spawn", variant), "shell"]
    native = R.native(argv)
    if native.status != 0 or native.out != SHELL_NATIVE:
        raise Failure("native run (is /bin/sh a POSIX shell?): status %d, stdout:\n%s"
                      % (native.status, native.out))
    r = R.vm(argv)
    no_sanitizer_report(r)
    want = SHELL_VMEMU[variant.split("-")[0]]
    if r.status != 0 or r.out != want:
        raise Failure("status %d, stdout:\n%s\nexpected 0 and:\n%s\nstderr: %s"
                      % (r.status, r.out, want, why(r)))


def check_script(R, script):
    argv = [R.busybox, "sh", os.path.join(SCRIPTS_DIR, script), R.busybox]
    native = R.native(argv)
    if "== done" not in native.out and "the last exec" not in native.out:
        raise Failure("native run did not finish: status %d, %s"
                      % (native.status, tail(native.out + native.err)))
    same_as_native(R, argv)


def build_checks(R):
    checks = []
    for sample, args in OUTPUT_CASES:
        for variant in VARIANTS:
            checks.append(("output %s-%s %s" % (sample, variant, " ".join(args)),
                           lambda s=sample, v=variant, a=args: check_output(R, s, v, a)))
    for variant in VARIANTS:
        for config in COW_CONFIGS:
            checks.append(("cow fork_cow-%s %s" % (variant, " ".join(map(str, config))),
                           lambda v=variant, c=config: check_cow(R, v, c)))
    checks += [
        ("report pipeline-glibc: 4 processes",
         lambda: check_tree(R, [R.path("pipeline")], [(None, 3), (FIRST_PID, 0),
                                                        (FIRST_PID, 0), (FIRST_PID, 3)])),
        ("report forkbomb-glibc 8: 9 processes",
         lambda: check_tree(R, [R.path("forkbomb"), "8"],
                            [(None, 0)] + [(FIRST_PID, i) for i in range(1, 8)] +
                            [(FIRST_PID, 0)])),
    ]
    for variant in ("glibc", "musl"):
        checks.append(("vmemu only: execself-%s dynamic -> ENOEXEC" % variant,
                       lambda v=variant: check_dynamic(R, v)))
        checks.append(("vmemu only: spawn-%s shell (dynamic /bin/sh)" % variant,
                       lambda v=variant: check_shell(R, v)))
    for script in SCRIPTS:
        checks.append(("busybox sh %s" % script, lambda s=script: check_script(R, s)))
    repeat = [("fork_cow-glibc", [R.path("fork_cow")]),
              ("fork_cow-musl-pie", [R.path("fork_cow", "musl-pie")]),
              ("pipeline-glibc", [R.path("pipeline")]),
              ("forkbomb-glibc", [R.path("forkbomb")]),
              ("busybox sh tar_gzip.sh",
               [R.busybox, "sh", os.path.join(SCRIPTS_DIR, "tar_gzip.sh"), R.busybox])]
    for variant in ("glibc", "musl-pie"):
        checks.append(("vfork child's faults are its own spawn-%s" % variant,
                       lambda v=variant: check_vfork_counts(R, v, 40)))
    for label, argv in repeat:
        checks.append(("repeatable counts %s" % label, lambda a=argv: check_repeat(R, a)))
    return checks


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vmemu", required=True, help="path of the vmemu executable")
    ap.add_argument("--samples", required=True, help="directory of the built samples")
    ap.add_argument("--busybox", default="/bin/busybox",
                    help="a static busybox (default /bin/busybox, Debian's busybox-static)")
    ap.add_argument("--jobs", type=int, default=2, help="parallel checks (default 2)")
    ap.add_argument("-k", dest="filter", default="",
                    help="run only the checks whose name contains this")
    opts = ap.parse_args()

    vmemu = os.path.abspath(opts.vmemu)
    samples = os.path.abspath(opts.samples)
    tmp = tempfile.mkdtemp(prefix="vmemu-procs-e2e-")
    start = time.monotonic()
    passed = failed = 0
    try:
        R = Runner(vmemu, samples, opts.busybox, tmp)
        missing = [R.path(s, v) for s in SAMPLES for v in VARIANTS
                   if not os.access(R.path(s, v), os.X_OK)]
        missing += [p for p in (os.path.join(samples, "hello-dynamic"), opts.busybox)
                    if not os.access(p, os.X_OK)]
        missing += [os.path.join(SCRIPTS_DIR, s) for s in SCRIPTS
                    if not os.path.isfile(os.path.join(SCRIPTS_DIR, s))]
        for m in missing:
            failed += 1
            print("FAIL %s: missing (target samples-all; busybox: package busybox-static)" % m,
                  flush=True)
        checks = [] if missing else [(n, c) for n, c in build_checks(R) if opts.filter in n]
        ok, bad = run_checks(checks, opts.jobs)
        passed += ok
        failed += bad
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("(%.1f s)" % (time.monotonic() - start))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
