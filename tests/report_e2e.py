#!/usr/bin/env python3
"""The JSON report itself: its schema, its strings and its timeline.

Usage: report_e2e.py --vmemu PATH --samples DIR

Checks, each on vmemu runs with --report (every report read is validated against
tests/schema/report.schema.json by harness.read_report):
  - schema: a report validates, and mutated copies of it (a renamed counter, a missing
    sample field, an unknown member, a number written as a string, an unknown event) are
    each refused: the validation can fail.
  - utf8: a guest argv holding bytes that are not UTF-8 gives a valid report whose argv
    and command hold each such byte as the code point of the same number (U+0080..U+00FF,
    what the hand-written writer's \\u00XX escapes decoded to), valid UTF-8 unchanged.
  - timeline determinism: two runs of childfaults (fork, exec, exit) give the same
    timeline, wall_ms aside.
  - timeline events: the events are, in order, start (1000), fork, exec, exit (1001),
    exit (1000); a crash's last sample is "signal", an out-of-memory kill's "oom_kill";
    --timeline 0 records the events only.
  - timeline samples: each process's periodic samples are exactly the multiples of the
    final interval between its first and its last sample (with --timeline 1, 7 and on a
    run long enough to double the interval: fewer than 512 periodic samples per process,
    and the interval doubled only when the one before would have given 512);
    its last sample has the counters of its entry in "processes" (faults by class, resident
    and page-table pages), and with swap, swap_in/swap_pages as its faults and its VMAs say.
  - cow sharing: fork_cow's child shares N pages more at fork with an N-page area, and K+P
    fewer at its exit when it copies K of them and its parent copied P first.
Python 3 standard library plus jsonschema (python3-jsonschema), through harness.py.
"""

import copy
import itertools
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Failure, Once, e2e_options, execute, finish_checks, read_report,  # noqa: E402
                     tail, validate_report)

VARIANT = "glibc"
TIMELINE_CAP = 512  # include/vmemu/timeline.h


class Runner(Once):
    """vmemu runs with --report, once per command line."""

    def __init__(self, vmemu, samples, tmp):
        super().__init__()
        self.vmemu = vmemu
        self.samples = samples
        self.tmp = tmp
        self.serial = itertools.count(1)

    def path(self, name):
        return os.path.join(self.samples, "%s-%s" % (name, VARIANT))

    def run(self, opts, args, key=None, status=0):
        """The report of vmemu OPTS --report F -- ARGS (once per key when one is given)."""
        def go():
            rfile = os.path.join(self.tmp, "r%d.json" % next(self.serial))
            r = execute([self.vmemu] + list(opts) + ["--report", rfile, "--"] + list(args))
            if status is not None and r.status != status:
                raise Failure("status %d, expected %d: %s" % (r.status, status, tail(r.err)))
            try:
                return read_report(rfile)
            except (OSError, ValueError) as e:
                raise Failure("no usable report (%s): %s" % (e, tail(r.err)))
        return self.once(key, go) if key is not None else go()

    def childfaults(self, opts=()):
        return self.run(opts, [self.path("childfaults"), self.path("faults"), "300"],
                        key=("childfaults",) + tuple(opts))


def events(rep, pid=None):
    return [(s["pid"], s["event"]) for s in rep["timeline"]["samples"]
            if s["event"] != "tick" and (pid is None or s["pid"] == pid)]


def without_wall(rep):
    t = copy.deepcopy(rep["timeline"])
    for s in t["samples"]:
        s.pop("wall_ms")
    return t


def check_schema(R):
    rep = R.childfaults()
    validate_report(rep)

    def rename(r):
        f = r["processes"][0]["faults"]
        f["minor_faults"] = f.pop("minor")

    def drop_seq(r):
        r["timeline"]["samples"][0].pop("seq")

    def unknown(r):
        r["page_faults"] = 1

    def as_string(r):
        r["processes"][0]["rss_pages"] = str(r["processes"][0]["rss_pages"])

    def bad_event(r):
        r["timeline"]["samples"][-1]["event"] = "tock"

    def vma_member(r):
        r["processes"][0]["vmas"][0]["swap"] = 0

    for mutate in (rename, drop_seq, unknown, as_string, bad_event, vma_member):
        bad = copy.deepcopy(rep)
        mutate(bad)
        try:
            validate_report(bad)
        except Failure:
            continue
        return "a report mutated by %s() validated" % mutate.__name__
    return None


def check_utf8(R):
    args = [b"\xff", "é".encode(), b"a\xc3(", b"\xed\xa0\x80"]
    rep = R.run([], [R.path("hello")] + args)
    want = ["\u00ff", "é", "a\u00c3(", "\u00ed\u00a0\u0080"]
    if rep["argv"][1:] != want:
        return "argv %r, expected %r" % (rep["argv"][1:], want)
    cmd = rep["processes"][0]["command"]
    if not cmd.endswith(" ".join(want)):
        return "command %r does not end with %r" % (cmd, " ".join(want))
    return None


def check_determinism(R):
    a = R.childfaults()
    b = R.run([], [R.path("childfaults"), R.path("faults"), "300"])
    ta, tb = without_wall(a), without_wall(b)
    if ta != tb:
        for i, (x, y) in enumerate(zip(ta["samples"], tb["samples"])):
            if x != y:
                return "sample %d differs: %r vs %r" % (i, x, y)
        return "timelines differ: %d vs %d samples" % (len(ta["samples"]), len(tb["samples"]))
    return None


def check_events(R):
    rep = R.childfaults()
    want = [(1000, "start"), (1001, "fork"), (1001, "exec"), (1001, "exit"), (1000, "exit")]
    if events(rep) != want:
        return "events %r, expected %r" % (events(rep), want)
    only = R.childfaults(("--timeline", "0"))
    if events(only) != want or len(only["timeline"]["samples"]) != len(want):
        return "--timeline 0: samples %r" % ([(s["pid"], s["event"]) for s in
                                                only["timeline"]["samples"]],)
    if only["timeline"]["interval"] != 0:
        return "--timeline 0: interval %r" % only["timeline"]["interval"]
    crash = R.run([], [R.path("nullderef")], status=139)
    if events(crash)[-1] != (1000, "signal"):
        return "nullderef: events %r end without a signal" % events(crash)
    oom = R.run(["--mem", "1M", "--swap", "0"], [R.path("workingset"), "1024", "1"],
                status=128 + 9)
    if events(oom)[-1] != (1000, "oom_kill"):
        return "workingset without memory: events %r end without oom_kill" % events(oom)
    return None


def check_samples(rep, what, start=1):
    """Raises Failure unless every process's periodic samples are exactly the multiples of
    the interval after its first sample and up to its last, and its last sample has the
    counters of its "processes" entry."""
    tl = rep["timeline"]
    interval = tl["interval"]
    if interval < start or interval % start or (interval // start) & (interval // start - 1):
        raise Failure("%s: interval %d from %d" % (what, interval, start))
    by_pid = {}
    for s in tl["samples"]:
        by_pid.setdefault(s["pid"], []).append(s)
    seqs = [s["seq"] for s in tl["samples"]]
    if seqs != sorted(seqs):
        raise Failure("%s: samples out of seq order" % what)
    for p in rep["processes"]:
        got = by_pid.get(p["pid"])
        if not got:
            raise Failure("%s: no sample of pid %d" % (what, p["pid"]))
        first, last = got[0], got[-1]
        if first["event"] not in ("start", "fork") or \
                last["event"] not in ("exit", "signal", "oom_kill"):
            raise Failure("%s: pid %d runs from %s to %s" % (what, p["pid"], first["event"],
                                                              last["event"]))
        ticks = [s["seq"] for s in got if s["event"] == "tick"]
        lo = first["seq"] // interval * interval + interval
        want = list(range(lo, last["seq"] + 1, interval))
        if ticks != want:
            raise Failure("%s: pid %d periodic samples at %s..., expected %s... (interval %d,"
                          " %d vs %d)" % (what, p["pid"], ticks[:6], want[:6], interval,
                                          len(ticks), len(want)))
        if len(ticks) >= TIMELINE_CAP:
            raise Failure("%s: pid %d has %d periodic samples" % (what, p["pid"], len(ticks)))
        half = interval // 2
        if interval > start and (half < start or len(range(
                first["seq"] // half * half + half, last["seq"] + 1, half)) < TIMELINE_CAP):
            raise Failure("%s: pid %d: interval %d, but %d would have given fewer than %d "
                          "periodic samples" % (what, p["pid"], interval, half, TIMELINE_CAP))
        mism = [(k, last[k], v) for k, v in (("faults", p["faults"]),
                                              ("rss_pages", p["rss_pages"]),
                                              ("pt_pages", p["page_table_pages"]))
                if last[k] != v]
        if mism:
            raise Failure("%s: pid %d last sample differs from its process entry: %s"
                          % (what, p["pid"], mism))
    return interval


def check_ticks(R):
    for opts in ((), ("--timeline", "7")):
        rep = R.childfaults(opts)
        want = int(opts[1]) if opts else 1
        interval = check_samples(rep, "childfaults %s" % " ".join(opts), want)
        if interval != want:
            return "childfaults %s: interval %d, expected %d" % (" ".join(opts), interval, want)
    long = R.run([], [R.path("faults"), "3000", "4"])
    interval = check_samples(long, "faults 3000 4")
    if interval < 16:
        return "faults 3000 4 (12000 faults): final interval %d, expected 16 or more" % interval
    return None


def check_swap(R):
    rep = R.run(["--mem", "1M", "--swap", "16M", "--policy", "fifo"],
                [R.path("workingset"), "400", "3"])
    check_samples(rep, "workingset with swap")
    p = rep["processes"][0]
    last = [s for s in rep["timeline"]["samples"] if s["pid"] == p["pid"]][-1]
    if last["swap_in"] != p["faults"]["swap_in"] or last["swap_in"] == 0:
        return "last swap_in %d, faults.swap_in %d" % (last["swap_in"], p["faults"]["swap_in"])
    swapped = sum(v["swapped"] for v in p["vmas"])
    if last["swap_pages"] != swapped:
        return "last swap_pages %d, the VMAs hold %d swapped pages" % (last["swap_pages"],
                                                                       swapped)
    if last["swap_out"] < rep["paging"]["swap_outs"] or \
            max(s["swap_pages"] for s in rep["timeline"]["samples"]) == 0:
        return "swap_out %d (paging.swap_outs %d), no sample with swap pages" % (
            last["swap_out"], rep["paging"]["swap_outs"])
    return None


def check_cow_shared(R):
    def child_of(args):
        rep = R.run([], [R.path("fork_cow")] + args)
        first, child = rep["processes"][0], rep["processes"][1]
        if first["cow_shared_at_fork"] != 0 or first["cow_shared_at_exit"] != 0:
            raise Failure("the first process has cow_shared %d/%d" % (
                first["cow_shared_at_fork"], first["cow_shared_at_exit"]))
        return child["cow_shared_at_fork"], child["cow_shared_at_exit"]
    small = child_of(["032", "000", "000", "000"])
    plain = child_of(["064", "000", "000", "000"])
    mixed = child_of(["064", "016", "008", "024"])
    if (plain[0] - small[0], plain[1] - small[1]) != (32, 32):
        return "32 more pages: at fork %d -> %d, at exit %d -> %d (expected +32 each)" % (
            small[0], plain[0], small[1], plain[1])
    if mixed[0] != plain[0] or plain[1] - mixed[1] != 24:
        return "K=16 P=8: at fork %d (plain %d), at exit %d (plain %d, expected 24 fewer)" % (
            mixed[0], plain[0], mixed[1], plain[1])
    if not 0 < mixed[1] < mixed[0]:
        return "at exit %d, at fork %d" % (mixed[1], mixed[0])
    return None


def check_stats_cost(R):
    """--stats with --report: the recorder's line counts the samples the report keeps, and
    takes at least as many (thinning drops some; never more kept than taken)."""
    rfile = os.path.join(R.tmp, "stats.json")
    r = execute([R.vmemu, "--stats", "--report", rfile, "--", R.path("faults"), "3000"])
    if r.status != 0:
        return "status %d: %s" % (r.status, tail(r.err))
    m = re.search(r"Timeline samples: (\d+) taken, (\d+) kept; recording took ([0-9.]+) ms",
                  r.err)
    if not m:
        return "no timeline line in --stats: %s" % tail(r.err)
    taken, kept = int(m.group(1)), int(m.group(2))
    n = len(read_report(rfile)["timeline"]["samples"])
    if kept != n or taken < kept:
        return "taken %d, kept %d, the report has %d samples" % (taken, kept, n)
    plain = execute([R.vmemu, "--stats", "--", R.path("hello")])
    if "Timeline samples" in plain.err:
        return "a timeline line without --report or --html"
    return None


def check_unwritable(R):
    """--report or --html to a path that cannot be written: one line, status 2, and the
    program does not run (as /usr/bin/time -o refuses before it starts)."""
    for opt in ("--report", "--html"):
        path = os.path.join(R.tmp, "no-such-dir", "out")
        r = execute([R.vmemu, opt, path, "--", R.path("hello")])
        lines = r.err.strip().splitlines()
        if r.status != 2 or r.out != "" or len(lines) != 1 or path not in lines[0]:
            return "%s %s: status %d, stdout %r, stderr %r" % (opt, path, r.status, r.out,
                                                               r.err)
    return None


def main():
    opt = e2e_options(__doc__)
    with tempfile.TemporaryDirectory(prefix="vmemu-report-") as tmp:
        R = Runner(opt.vmemu, opt.samples, tmp)
        checks = []
        if all(os.path.exists(R.path(n)) for n in ("childfaults", "faults", "hello",
                                                     "nullderef", "workingset", "fork_cow")):
            checks = [
                ("schema: a report validates, mutated ones do not", lambda: check_schema(R)),
                ("utf8: argv bytes that are not UTF-8", lambda: check_utf8(R)),
                ("timeline: identical on two runs (wall_ms aside)",
                 lambda: check_determinism(R)),
                ("timeline: start, fork, exec, exit; signal; oom_kill; --timeline 0",
                 lambda: check_events(R)),
                ("timeline: periodic samples on the interval, last = final counters",
                 lambda: check_ticks(R)),
                ("timeline: swap counters", lambda: check_swap(R)),
                ("cow_shared_at_fork and cow_shared_at_exit", lambda: check_cow_shared(R)),
                ("--stats: the timeline's samples and its cost", lambda: check_stats_cost(R)),
                ("--report, --html: an unwritable path is refused before the run",
                 lambda: check_unwritable(R)),
            ]
        return finish_checks(checks, "no %s samples built in %s" % (VARIANT, opt.samples))


if __name__ == "__main__":
    sys.exit(main())
