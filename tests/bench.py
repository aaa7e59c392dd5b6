#!/usr/bin/env python3
"""Benchmark: vmemu against native execution and qemu-user, measured in one run.

Usage: bench.py --vmemu PATH --samples BUILD/samples [--reps 5] [--variant glibc]
                [--qemu qemu-x86_64] [--bench-unicorn BUILD/tests/bench_unicorn]
                [--real-reps 3] [--zlib-mib 32] [--no-real] [--only-real]
                [--swap-reps 3] [--ws-pages 16384] [--ws-passes 8] [--no-swap] [--only-swap]
                [--forks 2000] [--fork-pages 64] [--pipe-mib 64] [--no-procs] [--only-procs]
                [--baseline OLD_VMEMU] [--only-faults] [--callgrind]
                [--pingpong N] [--spin M] [--spin-short M] [--no-threads] [--only-threads]
                [--timeline-cost] [--timeline-reps 5]
                [--quick] [--only-table] [--no-table]

Not a test: it asserts nothing and is not registered with CTest. Every time is the median
wall-clock time of --reps runs (stdout discarded), on this machine, now; only the ratios
printed in the same run are meaningful, never numbers from another machine or day.

What the numbers mean:
  table         per sample: native, qemu-user and vmemu time in ms; vmemu/native is the
                whole cost of emulation; vmemu/qemu compares vmemu (Unicorn, i.e. QEMU's
                TCG JIT, plus vmemu's software MMU, page tables, TLB and fault handler)
                with qemu-user (the same kind of JIT, with the host kernel's MMU).
  fault cost    (a) demand-zero cost: `faults N` maps N pages and writes one byte in
                each. (t(N_big) - t(N_small)) / (N_big - N_small) is the marginal cost of
                one first-touch anonymous fault, in microseconds (start-up cancels out).
                Natively this is the Linux page fault; under vmemu it is the Unicorn TLB
                miss, vmemu's page walk, fault handler and frame zeroing.
                (a') the same on frames that are already resident: `faults N R` maps,
                touches and unmaps N pages R times; rounds after the first reuse the
                frames the first one freed (vmemu hands freed frames out last-in
                first-out), so (t(R) - t(1)) / (N * (R - 1)) is the cost of a demand-zero
                fault without the host's own first-touch fault (plus a share of the
                mmap/munmap calls).
                (a'') with --baseline and --callgrind: the instructions one demand-zero
                fault costs (callgrind's count for `faults 12000` minus `faults 2000`,
                over 10000), in vmemu and in the baseline build: exact and repeatable,
                where times vary by several percent from run to run.
  compute       (b) `compute ROUNDS` is a tight integer loop over a 1 MiB array that
                makes no system calls and, once its pages are mapped, no faults. Its
                vmemu/qemu ratio isolates the cost of running translated code under vmemu
                (virtual-TLB fills, hooks) against plain TCG: the "vmemu vs plain
                Unicorn/QEMU" comparison. A ratio near 1 means vmemu's memory system adds
                nothing once the working set is mapped.
  plain Unicorn (c) tests/bench_unicorn (when built, BUILD_TESTING=ON) runs one machine-code
                loop on plain Unicorn (uc_mem_map, no hooks) and on vmemu's CPU layer
                (virtual-TLB mode through vmemu's page tables) and prints both times and
                vmemu/plain: the cost of vmemu's MMU alone, with no libc, loader or
                syscalls in the way. Printed as it reports it, median of --reps runs.
  real programs (d) the programs of tests/realprogs.py (SAMPLES/real: Lua 5.4, SQLite,
                zlib, busybox from Debian's packages; scripts from samples/real/) on the
                same inputs, median of --real-reps runs. A case of several steps (the
                SQLite file database: create, then reopen and query) is timed as the
                sum of its steps, each repetition in a fresh empty directory. The last
                row is the geometric mean of each ratio column over the cases: the
                single-number summary of "vmemu on real programs".
  swap          (e) paging to swap, median of --swap-reps runs, every vmemu run with
                --report (the counts are from its report; they are the same in every
                repetition, the runs being deterministic).
                (i) the cost of moving a page out to swap and back: `workingset PAGES
                PASSES` writes PAGES pages, then reads and writes all of them PASSES - 1
                more times, in order. With memory that fits (its peak frames at the default
                memory, rounded up to a MiB, plus 1 MiB: no eviction) and with half of
                PAGES (every touch of a later pass misses: a cyclic scan larger than memory
                defeats fifo, clock and lru alike), under the default policy (clock).
                (t_thrash - t_fit) / (swap_outs + swap_ins) is the time per page moved, in
                microseconds: the write to the swap file, the read back, the major fault,
                the reclaim scan, the unmapping and the TLB invalidations that go with it.
                (ii) the real programs of (d) with all the memory they want ("full": the
                default --mem; its report gives each step's peak frames), then with --mem
                at 1/2 and 1/4 of each step's peak under clock, and at 1/4 under lru. Per
                setting: time, time relative to full memory and to native (same inputs,
                same run), major faults (file reads and swap-ins) and swap-outs of all the
                steps. The geometric means of the ratios close the table: the slowdown of
                real programs at half and a quarter of their memory.
  processes     (f) fork-heavy and pipe-heavy workloads natively, under qemu-user and under
                vmemu, median of --reps runs, with vmemu/native and vmemu/qemu as in the
                table. `fork_heavy FORKS PAGES` writes PAGES pages of heap, then FORKS
                times forks a child that writes one of them (a COW fault), reads them all
                and exits, and waits for it: (t(FORKS) - t(0)) / FORKS is the cost of one
                fork + COW fault + exit + wait in microseconds (start-up cancels out).
                Under vmemu that is the copy of VMAs and page tables into pool frames,
                the write-protection of both sides, a context switch each way and the
                teardown of the child's address space. `pipe_heavy MIB` sends MIB MiB
                from a child to its parent through a pipe in 64 KiB writes, both sides
                checksumming the bytes; the pipe holds 64 KiB, so the two block on each
                other for every chunk: (t(MIB) - t(0)) / MIB gives MiB/s through the
                pipe with the checksum work, and under vmemu the scheduler's sleeps and
                wake-ups on host pipes. qemu-user runs the same programs with host
                fork and pipes.
  threads       (g) threads and switches, every case in alternating runs (one run of native,
                qemu-user, vmemu and the baseline in turn), median of --reps.
                (i) switch cost: `thread_pingpong threads N` has two threads of one process
                pass a token N times over a futex word (raw FUTEX_WAIT/FUTEX_WAKE: two
                wakes per round trip); `thread_pingpong procs N` has a parent and a child
                pass a byte N times over a pair of pipes. (t(N) - t(0)) / N is the cost of
                one round trip in microseconds (two switches under vmemu's one-CPU
                scheduler; natively and under qemu-user two cross-CPU wake-ups on this
                2-core machine), start-up, thread creation and fork cancelling out.
                (ii) the block hook: `thread_pingpong spin1 M` runs M million rounds of a
                tight loop in one thread; `spin1t M` the same after a second thread was
                created and joined (under vmemu the block hook is then installed and stays,
                with no switch: its cost alone); `spin2 M` two threads run M/2 million
                rounds each at the same time (under vmemu: the hook, and a switch every
                50,000 blocks). Each also with M = 0: the loop's time is t(M) - t(0), and
                spin1t 0 - spin1 0 is the start-up cost of a second thread (under vmemu
                with the hook's installation, which drops the translated code). Two loops:
                an LCG step (--spin, a block of 8 instructions bound by the latency of its
                arithmetic) and "short" (--spin-short, an add: a block of 4 instructions,
                the most blocks per second, where a per-block hook costs the most). Ratios
                to spin1 per runner; natively spin2 runs on two CPUs at once.
                (iii) the threaded samples (threads-glibc, threads_cpp-glibc, openmp-glibc,
                threads_rust-glibc, threads_go-static, those built) natively, under
                qemu-user and under vmemu, with their geometric mean.
                (iv) with --baseline: single-threaded programs (compute, fork_heavy,
                pipe_heavy, thread_pingpong spin1 with both loops, and procs) under vmemu
                and the baseline, alternating, with vmemu/baseline: whether a change made
                programs without threads slower.
  issue 21      (h) tests/bench_table.py: the real programs (Lua, SQLite, zlib, C++, Go,
                Rust, busybox sh with and without forks), malloc churn, fork_heavy, N
                fork+exec+wait round trips (`fork_heavy exec N`), pipe_heavy and the 1 GiB
                .bss touch, natively, under qemu-user and vmemu in alternating runs, with
                wall and CPU time (user+sys from wait4), vmemu/native and vmemu/qemu per
                case and their geometric means, and the peak RSS of vmemu against the
                native run's. It prints the host's THP mode. `--quick` runs only a smaller
                (h) (3 repetitions, a few minutes); `--only-table` runs only (h).
  timeline      (i) --timeline-cost (alone): what recording the report's timeline costs,
                on the real programs of (d). Each case runs under vmemu without --report
                ("none"), with --report and --timeline 0 (events only: "events"), and with
                --report and the default timeline ("timeline": a sample of every process
                at every fault at first, the interval doubling at 4096 samples), one run
                of each in turn, --timeline-reps rounds; the time is the CPU time (user +
                sys) of the vmemu process (wait4's rusage), which other engineers' builds
                on the machine disturb less than wall time. Per case: the medians and the
                cost of the timeline over "events" (sampling alone) and over "none" (the
                whole --report with its timeline: sampling, the JSON tree and the file);
                the geometric mean closes the table. "self" is the recorder's own
                measure: the host time --stats says recording took (sampling and the
                timeline's JSON), over the CPU time of that run, which the noise of
                whole runs on a shared machine (several percent) cannot hide.
"""

import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import realprogs  # noqa: E402  (the same inputs and scripts as the test suite)
import bench_table  # noqa: E402  (section (h))

# (sample, args) timed by the table.
SELECTED = (
    ("hello", ()),
    ("malloc", ()),
    ("mmap", ()),
    ("bss", ("sparse",)),
    ("bss", ("write", "20000")),
    ("faults", ("50000",)),
    ("compute", ("20",)),
)
FAULTS_SMALL, FAULTS_BIG = 10000, 100000
RESIDENT_ROUNDS = 21
COMPUTE_ROUNDS = ("40",)
PAGE = 4096
# (label, fraction of the peak, policy) of the real programs in (e)(ii); None = full memory.
SWAP_SETTINGS = (
    ("full", None, None),
    ("1/2 clock", (1, 2), "clock"),
    ("1/4 clock", (1, 4), "clock"),
    ("1/4 lru", (1, 4), "lru"),
)


def real_cases(real, zlib_mib):
    """(label, steps) of the real programs timed by (d); a step is an argv list. Paths
    of inputs are relative: every step runs in an empty directory next to in/."""
    lua, sqlite, zlib, bb = (os.path.join(real, p) for p in ("lua", "sqlite", "zlib",
                                                              "busybox"))
    src = realprogs.SRC
    create, query = os.path.join(src, "create.sql"), os.path.join(src, "query.sql")
    lua_script = lambda name, n: [lua, os.path.join(src, name), n]
    return (
        ("lua strings.lua", [lua_script("strings.lua", "20000")]),
        ("lua tables.lua", [lua_script("tables.lua", "100000")]),
        ("lua gc.lua", [lua_script("gc.lua", "150")]),
        ("lua pack.lua", [lua_script("pack.lua", "20000")]),
        ("sqlite :memory:", [[sqlite, ":memory:", create, query]]),
        ("sqlite file (2 runs)", [[sqlite, "t.db", create], [sqlite, "t.db", query]]),
        ("sqlite WAL+mmap (2 runs)",
         [[sqlite, "w.db", "-e", "PRAGMA journal_mode=WAL", create],
          [sqlite, "w.db", "-e", "PRAGMA mmap_size=67108864", query]]),
        ("zlib %d MiB" % zlib_mib, [[zlib, str(zlib_mib), "."]]),
        ("busybox sh loop", [[bb, "sh", "-c", "i=0; s=0; while [ $i -lt 20000 ]; do "
                              "i=$((i + 1)); s=$(( (s + i * i) % 1000003 )); done; echo $s"]]),
        ("busybox awk", [[bb, "awk", "{ x = toupper(substr($1, 1, 3)); gsub(/a/, \"@\", $3); "
                          "t[x] += split($0, f, \" \") } END { for (x in t) print x, t[x] }",
                          "../in/words.txt"]]),
        ("busybox sort", [[bb, "sort", "../in/words.txt"]]),
        ("busybox sed", [[bb, "sed", "-e", "s/\\([a-z]*\\) \\([0-9]*\\)/\\2:\\1/",
                          "../in/words.txt"]]),
        ("busybox gzip -6", [[bb, "gzip", "-c", "-6", "../in/blob.bin"]]),
        ("busybox sha256sum", [[bb, "sha256sum", "../in/blob.bin", "../in/words.txt"]]),
    )


def median_steps(pre, steps, top, reps):
    """Median over reps of the summed wall time of steps (each run as pre + argv), every
    repetition in a fresh directory under top; "exit N" when a step fails."""
    times = []
    for rep in range(reps):
        cwd = tempfile.mkdtemp(prefix="run-", dir=top)
        total = 0.0
        for argv in steps:
            t0 = time.perf_counter()
            p = subprocess.run(pre + argv, cwd=cwd, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            total += time.perf_counter() - t0
            if p.returncode != 0:
                shutil.rmtree(cwd, ignore_errors=True)
                return "exit %d" % p.returncode
        shutil.rmtree(cwd, ignore_errors=True)
        times.append(total)
    return statistics.median(times)


def geomean(values):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return "%.1fx" % math.exp(sum(math.log(v) for v in values) / len(values))


def bench_real(o, runners):
    """(d): the real programs natively, under qemu-user and under vmemu."""
    real = os.path.join(os.path.abspath(o.samples), "real")
    print("\n(d) real programs (%s), median of %d runs, times in ms" % (real, o.real_reps))
    if not all(os.access(os.path.join(real, p), os.X_OK)
               for p in ("lua", "sqlite", "zlib", "busybox")):
        print("  not built (target samples-real)")
        return
    print("%-26s %10s %10s %10s %14s %12s" % ("program", "native", "qemu", "vmemu",
                                             "vmemu/native", "vmemu/qemu"))
    r_native, r_qemu = [], []
    with tempfile.TemporaryDirectory(prefix="vmemu-bench-") as top:
        os.mkdir(os.path.join(top, "in"))
        realprogs.make_inputs(os.path.join(top, "in"))
        for label, steps in real_cases(real, o.zlib_mib):
            t = {name: median_steps(pre, steps, top, o.real_reps) for name, pre in runners}
            print("%-26s %10s %10s %10s %14s %12s"
                  % (label, ms(t["native"]), ms(t.get("qemu")), ms(t["vmemu"]),
                     ratio(t["vmemu"], t["native"]), ratio(t["vmemu"], t.get("qemu"))))
            sys.stdout.flush()
            if ok(t["vmemu"]) and ok(t["native"]):
                r_native.append(t["vmemu"] / t["native"])
            if ok(t["vmemu"]) and ok(t.get("qemu")):
                r_qemu.append(t["vmemu"] / t["qemu"])
    print("%-26s %10s %10s %10s %14s %12s" % ("geometric mean", "", "", "",
                                             geomean(r_native), geomean(r_qemu)))


def median_vmemu(vmemu, step_opts, steps, top, reps):
    """Median over reps of the summed wall time of steps run under vmemu, step i with the
    options step_opts[i] and --report, every repetition in a fresh directory under top.
    Returns (seconds, [report of each step of the last repetition]), or ("exit N", None)
    when a step fails."""
    times, reports = [], []
    report = os.path.join(top, "report.json")
    for _ in range(reps):
        cwd = tempfile.mkdtemp(prefix="run-", dir=top)
        total, reports = 0.0, []
        for opts, argv in zip(step_opts, steps):
            if os.path.exists(report):
                os.unlink(report)
            t0 = time.perf_counter()
            p = subprocess.run([vmemu, "--report", report] + opts + argv, cwd=cwd,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            total += time.perf_counter() - t0
            if p.returncode != 0:
                shutil.rmtree(cwd, ignore_errors=True)
                return "exit %d" % p.returncode, None
            with open(report) as f:
                reports.append(harness.read_report(f))
        shutil.rmtree(cwd, ignore_errors=True)
        times.append(total)
    return statistics.median(times), reports


def paging(reports, key):
    """The sum of report["paging"][key] over the reports (0 when there is none)."""
    return sum(r.get("paging", {}).get(key, 0) for r in reports or ())


def major_faults(reports):
    """Major faults of every process of every report."""
    return sum(p["faults"]["major"] for r in reports or () for p in r["processes"])


def mem_opt(frames):
    """--mem for a number of frames (at least vmemu's minimum, 64K), in M when exact."""
    kib = max(16, frames) * PAGE // 1024
    return "%dM" % (kib // 1024) if kib % 1024 == 0 else "%dK" % kib


def bench_swap(o):
    """(e): the cost of a page moved to swap and back, and the real programs in less
    memory than they use."""
    vmemu = os.path.abspath(o.vmemu)
    print("\n(e) swap: vmemu --report, default policy clock, median of %d runs, times in ms"
          % o.swap_reps)
    with tempfile.TemporaryDirectory(prefix="vmemu-bench-swap-") as top:
        bench_swap_cost(o, vmemu, top)
        bench_swap_real(o, vmemu, top)


def bench_swap_cost(o, vmemu, top):
    """(e)(i): workingset PAGES PASSES with memory that fits and with half of PAGES."""
    ws = os.path.join(os.path.abspath(o.samples), "workingset-%s" % o.variant)
    argv = [ws, str(o.ws_pages), str(o.ws_passes)]
    print("(i) swap-out + swap-in per page: workingset %d %d" % (o.ws_pages, o.ws_passes))
    if not os.access(ws, os.X_OK):
        print("  %s not built (target samples-all)" % ws)
        return
    t, reports = median_vmemu(vmemu, [[]], [argv], top, 1)
    if not ok(t):
        print("  failed at the default memory (%s)" % t)
        return
    peak = reports[0]["frames"]["peak_used"]
    mib = 1 << 20
    fit_mem = "%dM" % ((peak * PAGE + mib - 1) // mib + 1)
    thrash_mem = mem_opt(o.ws_pages // 2)
    runs = {}
    for label, mem in (("fits", fit_mem), ("thrashes", thrash_mem)):
        t, reports = median_vmemu(vmemu, [["--mem", mem]], [argv], top, o.swap_reps)
        runs[label] = (t, reports)
        print("  %-9s --mem %-7s %10s ms  evictions %d, swap-outs %d, swap-ins %d, "
              "major faults %d" % (label, mem, ms(t), paging(reports, "evictions"),
                                   paging(reports, "swap_outs"), paging(reports, "swap_ins"),
                                   major_faults(reports)))
    (t_fit, r_fit), (t_thrash, r_thrash) = runs["fits"], runs["thrashes"]
    moved = paging(r_thrash, "swap_outs") + paging(r_thrash, "swap_ins")
    if not ok(t_fit) or not ok(t_thrash) or moved == 0:
        print("  no cost computed (a run failed or nothing was swapped)")
        return
    if paging(r_fit, "evictions"):
        print("  note: the run that should fit evicted pages (peak %d frames)" % peak)
    print("  (t_thrash - t_fit) / (swap-outs + swap-ins) = %.2f us per page moved"
          % ((t_thrash - t_fit) / moved * 1e6))


def bench_swap_real(o, vmemu, top):
    """(e)(ii): the real programs of (d) at full, 1/2 and 1/4 of their peak memory."""
    real = os.path.join(os.path.abspath(o.samples), "real")
    print("(ii) real programs at full, 1/2 and 1/4 of each step's peak memory")
    if not all(os.access(os.path.join(real, p), os.X_OK)
               for p in ("lua", "sqlite", "zlib", "busybox")):
        print("  not built (target samples-real)")
        return
    def row(*cols):
        print(("%-26s %-10s %8s %10s %8s %8s %9s %10s" % cols).rstrip())

    print("(MiB: the frames of the largest step: its peak at full memory, else its --mem)")
    row("program", "setting", "MiB", "time ms", "/full", "/native", "major", "swap-outs")
    os.mkdir(os.path.join(top, "in"))
    realprogs.make_inputs(os.path.join(top, "in"))
    ratios = {label: ([], []) for label, _, _ in SWAP_SETTINGS}
    for label, steps in real_cases(real, o.zlib_mib):
        t_native = median_steps([], steps, top, o.swap_reps)
        row(label, "native", "", ms(t_native), "", "", "", "")
        peaks, t_full = None, None
        for setting, frac, policy in SWAP_SETTINGS:
            if frac is None:
                frames, opts = [], [[] for _ in steps]
            elif peaks is None:
                break  # the full-memory run failed: no peak to divide
            else:
                frames = [max(16, p * frac[0] // frac[1]) for p in peaks]
                opts = [["--mem", mem_opt(f), "--policy", policy] for f in frames]
            t, reports = median_vmemu(vmemu, opts, steps, top, o.swap_reps)
            if frac is None:
                t_full = t
                if reports:
                    frames = peaks = [r["frames"]["peak_used"] for r in reports]
            row("", setting, "%.1f" % (max(frames) * PAGE / (1 << 20)) if frames else "-",
                ms(t), ratio(t, t_full), ratio(t, t_native),
                major_faults(reports) if reports else "-",
                paging(reports, "swap_outs") if reports else "-")
            sys.stdout.flush()
            if ok(t) and ok(t_full):
                ratios[setting][0].append(t / t_full)
            if ok(t) and ok(t_native):
                ratios[setting][1].append(t / t_native)
    for setting, _, _ in SWAP_SETTINGS:
        row("geometric mean" if setting == "full" else "", setting, "", "",
            geomean(ratios[setting][0]), geomean(ratios[setting][1]), "", "")


def cpu_time(argv, cwd, err=None):
    """CPU time (user + sys, seconds) of argv run in cwd, or "exit N" when it fails; its
    stderr goes to the open file err when given."""
    p = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=err if err is not None else subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        return "exit %d" % p.returncode
    return ru.ru_utime + ru.ru_stime


def bench_timeline_cost(o):
    """(i): the real programs under vmemu without a report, with --report --timeline 0 and
    with --report and the default timeline, alternating; CPU times. The last column is the
    recorder's own measure of itself: the host time --stats says the timeline took
    (sampling and its JSON), over the CPU time of that run: on a shared machine the
    differences of whole runs move by more than the recording costs."""
    real = os.path.join(os.path.abspath(o.samples), "real")
    vmemu = os.path.abspath(o.vmemu)
    print("\n(i) timeline cost (%s), median CPU time (user+sys) of %d alternating rounds, ms"
          % (real, o.timeline_reps))
    if not all(os.access(os.path.join(real, p), os.X_OK)
               for p in ("lua", "sqlite", "zlib", "busybox")):
        print("  not built (target samples-real)")
        return
    print("%-26s %9s %9s %9s %9s %14s %12s %9s" % ("program", "none", "events", "timeline",
                                                   "samples", "tl/events-1", "tl/none-1",
                                                   "self"))
    configs = (("none", []), ("events", ["--timeline", "0"]), ("timeline", ["--stats"]))
    over_events, over_none, selfs = [], [], []
    with tempfile.TemporaryDirectory(prefix="vmemu-bench-") as top:
        os.mkdir(os.path.join(top, "in"))
        realprogs.make_inputs(os.path.join(top, "in"))
        report = os.path.join(top, "report.json")
        for label, steps in real_cases(real, o.zlib_mib):
            times = {name: [] for name, _ in configs}
            samples, self_shares = 0, []
            for _ in range(o.timeline_reps):
                for name, opts in configs:
                    cwd = tempfile.mkdtemp(prefix="run-", dir=top)
                    total, samples_now, spent = 0.0, 0, 0.0
                    for argv in steps:
                        rep = [] if name == "none" else ["--report", report]
                        with tempfile.TemporaryFile(mode="w+") as err:
                            t = cpu_time([vmemu] + rep + opts + argv, cwd, err)
                            err.seek(0)
                            m = re.search(r"recording took ([0-9.]+) ms", err.read())
                        if not ok(t):
                            total = t
                            break
                        total += t
                        if name == "timeline":
                            spent += float(m.group(1)) / 1e3 if m else 0.0
                            with open(report) as f:
                                samples_now += len(json.load(f)["timeline"]["samples"])
                    shutil.rmtree(cwd, ignore_errors=True)
                    times[name].append(total)
                    samples = samples_now or samples
                    if name == "timeline" and ok(total) and total > 0:
                        self_shares.append(spent / total)
            med = {n: (statistics.median(v) if all(ok(x) for x in v) else v[0])
                   for n, v in times.items()}
            te, tn = ratio_pct(med["timeline"], med["events"]), ratio_pct(med["timeline"],
                                                                          med["none"])
            share = statistics.median(self_shares) if self_shares else None
            if share is not None:
                selfs.append(share)
            print("%-26s %9s %9s %9s %9d %14s %12s %9s" % (
                label, ms(med["none"]), ms(med["events"]), ms(med["timeline"]), samples, te, tn,
                "%.2f%%" % (100 * share) if share is not None else "-"))
            sys.stdout.flush()
            if ok(med["timeline"]) and ok(med["events"]) and ok(med["none"]):
                over_events.append(med["timeline"] / med["events"])
                over_none.append(med["timeline"] / med["none"])
    print("%-26s %9s %9s %9s %9s %14s %12s %9s" % (
        "geometric mean", "", "", "", "", geo_pct(over_events), geo_pct(over_none), ""))
    if selfs:
        print("self: the timeline's own host time over the run's CPU time; highest %.2f%%, "
              "mean %.2f%% (the issue's bound: 2%%)" % (100 * max(selfs),
                                                        100 * statistics.mean(selfs)))


def ratio_pct(a, b):
    return "%+.1f%%" % (100 * (a / b - 1)) if ok(a) and ok(b) and b > 0 else "-"


def geo_pct(values):
    if not values:
        return "-"
    return "%+.1f%%" % (100 * (math.exp(sum(math.log(v) for v in values) / len(values)) - 1))


def median_time(cmd, reps):
    """Median wall time of cmd in seconds, or "exit N" when a run fails (qemu-user 7.2,
    for one, does not implement MAP_FIXED_NOREPLACE, so mmap fails its check there)."""
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        t1 = time.perf_counter()
        if p.returncode != 0:
            return "exit %d" % p.returncode
        times.append(t1 - t0)
    return statistics.median(times)


def median_times(cmds, reps):
    """{name: median wall time} of the commands of {name: cmd}, their runs alternating
    (one run of each per round, so that a change of machine load hits all alike); a
    command whose run fails reads "exit N"."""
    times = {name: [] for name in cmds}
    failed = {}
    for _ in range(reps):
        for name, cmd in cmds.items():
            if name in failed:
                continue
            t0 = time.perf_counter()
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            t1 = time.perf_counter()
            if p.returncode != 0:
                failed[name] = "exit %d" % p.returncode
            times[name].append(t1 - t0)
    return {name: failed.get(name) or statistics.median(times[name]) for name in cmds}


def ok(t):
    return isinstance(t, float)


def ms(t):
    return "%.1f" % (t * 1e3) if ok(t) else str(t or "-")


def ratio(a, b):
    return "%.1fx" % (a / b) if ok(a) and ok(b) and b > 0 else "-"


def ratio2(a, b):
    """a/b with two decimals (close ratios: a before/after comparison)."""
    return "%.2fx" % (a / b) if ok(a) and ok(b) and b > 0 else "-"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vmemu", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--variant", default="glibc")
    ap.add_argument("--qemu", default="qemu-x86_64")
    ap.add_argument("--bench-unicorn", default=None,
                    help="bench_unicorn executable (default: SAMPLES/../tests/bench_unicorn)")
    ap.add_argument("--real-reps", type=int, default=3,
                    help="repetitions for the real programs of (d)")
    ap.add_argument("--zlib-mib", type=int, default=32, help="MiB of data for zlib in (d)")
    ap.add_argument("--no-real", action="store_true", help="skip (d)")
    ap.add_argument("--only-real", action="store_true", help="run (d) only")
    ap.add_argument("--swap-reps", type=int, default=3,
                    help="repetitions for the swap runs of (e)")
    ap.add_argument("--ws-pages", type=int, default=16384,
                    help="pages of the working set in (e)(i)")
    ap.add_argument("--ws-passes", type=int, default=8,
                    help="passes over the working set in (e)(i)")
    ap.add_argument("--no-swap", action="store_true", help="skip (e)")
    ap.add_argument("--only-swap", action="store_true",
                    help="run (e) only (with --only-real: (d) and (e))")
    ap.add_argument("--forks", type=int, default=2000, help="forks of fork_heavy in (f)")
    ap.add_argument("--fork-pages", type=int, default=64,
                    help="heap pages fork_heavy's parent holds at each fork in (f)")
    ap.add_argument("--pipe-mib", type=int, default=64, help="MiB through the pipe in (f)")
    ap.add_argument("--no-procs", action="store_true", help="skip (f)")
    ap.add_argument("--baseline", default=None,
                    help="another vmemu (an older build): its fault costs in (a) and (a') "
                    "are measured in the same alternating runs, with vmemu/baseline")
    ap.add_argument("--only-faults", action="store_true", help="run (a) and (a') only")
    ap.add_argument("--callgrind", action="store_true",
                    help="with --baseline: also count the instructions of one demand-zero "
                    "fault in vmemu and the baseline with valgrind's callgrind (exact and "
                    "repeatable, unlike times)")
    ap.add_argument("--only-procs", action="store_true",
                    help="run (f) only (with --only-real/--only-swap: those too)")
    ap.add_argument("--pingpong", type=int, default=20000,
                    help="round trips of the token in (g)(i)")
    ap.add_argument("--spin", type=int, default=100,
                    help="million rounds of the tight loop in (g)(ii)")
    ap.add_argument("--spin-short", type=int, default=400,
                    help="million rounds of the short-block loop in (g)(ii)")
    ap.add_argument("--no-threads", action="store_true", help="skip (g)")
    ap.add_argument("--only-threads", action="store_true",
                    help="run (g) only (with the other --only options: those too)")
    ap.add_argument("--timeline-cost", action="store_true",
                    help="run (h) only: the CPU cost of recording the report's timeline")
    ap.add_argument("--timeline-reps", type=int, default=5,
                    help="alternating rounds of (h)")
    ap.add_argument("--quick", action="store_true",
                    help="run only a smaller (h), 3 repetitions (a few minutes)")
    ap.add_argument("--only-table", action="store_true", help="run (h) only")
    ap.add_argument("--no-table", action="store_true", help="skip (h)")
    o = ap.parse_args()
    if o.timeline_cost:
        bench_timeline_cost(o)
        return 0

    qemu = shutil.which(o.qemu)
    runners = [("native", [])]
    if qemu:
        runners.append(("qemu", [qemu]))
    else:
        print("(%s not found: no qemu column)" % o.qemu)
    runners.append(("vmemu", [os.path.abspath(o.vmemu)]))
    if o.baseline:
        runners.append(("baseline", [os.path.abspath(o.baseline)]))
    if o.quick or o.only_table:
        bench_table.bench_table(o, runners, o.quick)
        return 0
    if o.only_real or o.only_swap or o.only_procs or o.only_threads:
        if o.only_real:
            bench_real(o, runners)
        if o.only_swap:
            bench_swap(o)
        if o.only_procs:
            bench_procs(o, runners)
        if o.only_threads:
            bench_threads(o, runners)
        return 0

    def prog(sample):
        return os.path.join(os.path.abspath(o.samples), "%s-%s" % (sample, o.variant))

    def timed(sample, args):
        return median_times({name: pre + [prog(sample)] + list(args) for name, pre in runners},
                            o.reps)

    def fault_costs():
        print("\n(a) demand-zero fault cost: faults %d vs faults %d" % (FAULTS_BIG, FAULTS_SMALL))
        small = timed("faults", (str(FAULTS_SMALL),))
        big = timed("faults", (str(FAULTS_BIG),))
        cost = {}
        for name, _ in runners:
            if not ok(small[name]) or not ok(big[name]):
                print("  %-8s failed (%s, %s)" % (name, ms(small[name]), ms(big[name])))
                continue
            cost[name] = (big[name] - small[name]) / (FAULTS_BIG - FAULTS_SMALL) * 1e6
            print("  %-8s %.2f us per fault" % (name, cost[name]))
        if "baseline" in cost:
            print("  vmemu/baseline %s" % ratio2(cost.get("vmemu"), cost["baseline"]))

        print("\n(a') demand-zero fault on resident frames: faults %d %d vs faults %d 1"
              % (FAULTS_SMALL, RESIDENT_ROUNDS, FAULTS_SMALL))
        once = timed("faults", (str(FAULTS_SMALL), "1"))
        again = timed("faults", (str(FAULTS_SMALL), str(RESIDENT_ROUNDS)))
        cost = {}
        for name, _ in runners:
            if not ok(once[name]) or not ok(again[name]):
                print("  %-8s failed (%s, %s)" % (name, ms(once[name]), ms(again[name])))
                continue
            cost[name] = (again[name] - once[name]) / (FAULTS_SMALL * (RESIDENT_ROUNDS - 1)) * 1e6
            print("  %-8s %.2f us per fault (with its share of mmap/munmap)" % (name, cost[name]))
        if "baseline" in cost:
            print("  vmemu/baseline %s" % ratio2(cost.get("vmemu"), cost["baseline"]))

    def fault_instructions():
        """(a'') instructions per demand-zero fault, vmemu against the baseline."""
        small, big = 2000, 12000
        per = {}
        for name, pre in runners:
            if name not in ("vmemu", "baseline"):
                continue
            counts = []
            for n in (small, big):
                with tempfile.TemporaryDirectory() as tmp:
                    out = os.path.join(tmp, "cg.out")
                    p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out]
                                       + pre + [prog("faults"), str(n)],
                                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, text=True)
                m = re.search(r"Collected : (\d+)", p.stderr)
                counts.append(int(m.group(1)) if m else None)
            if None not in counts:
                per[name] = (counts[1] - counts[0]) / (big - small)
                print("  %-8s %.0f instructions per fault (callgrind, faults %d vs %d)"
                      % (name, per[name], big, small))
        if len(per) == 2:
            print("  vmemu/baseline %s" % ratio2(per["vmemu"], per["baseline"]))

    if o.only_faults:
        print("median of %d alternating runs, %s variant" % (o.reps, o.variant))
        fault_costs()
        if o.callgrind and o.baseline:
            print("\n(a'') instructions of one demand-zero fault")
            fault_instructions()
        return 0

    print("median of %d runs, %s variant, times in ms" % (o.reps, o.variant))
    print("%-22s %10s %10s %10s %14s %12s" % ("sample", "native", "qemu", "vmemu",
                                             "vmemu/native", "vmemu/qemu"))
    for sample, args in SELECTED:
        t = timed(sample, args)
        print("%-22s %10s %10s %10s %14s %12s"
              % ((sample + " " + " ".join(args)).strip(), ms(t["native"]), ms(t.get("qemu")),
                 ms(t["vmemu"]), ratio(t["vmemu"], t["native"]),
                 ratio(t["vmemu"], t.get("qemu"))))

    fault_costs()

    print("\n(b) compute %s: translated code with warm TLBs" % COMPUTE_ROUNDS[0])
    t = timed("compute", COMPUTE_ROUNDS)
    print("  native %s ms, qemu %s ms, vmemu %s ms; vmemu/qemu %s, vmemu/native %s"
          % (ms(t["native"]), ms(t.get("qemu")), ms(t["vmemu"]),
             ratio(t["vmemu"], t.get("qemu")), ratio(t["vmemu"], t["native"])))

    bench_plain_unicorn(o)
    if not o.no_real:
        bench_real(o, runners)
    if not o.no_swap:
        bench_swap(o)
    if not o.no_procs:
        bench_procs(o, runners)
    if not o.no_threads:
        bench_threads(o, runners)
    if not o.no_table:
        bench_table.bench_table(o, runners, False)
    return 0


def bench_procs(o, runners):
    """(f): fork_heavy and pipe_heavy natively, under qemu-user and under vmemu."""
    def prog(sample):
        return os.path.join(os.path.abspath(o.samples), "%s-%s" % (sample, o.variant))

    print("\n(f) processes: fork-heavy and pipe-heavy, median of %d runs, times in ms"
          % o.reps)
    if not all(os.access(prog(s), os.X_OK) for s in ("fork_heavy", "pipe_heavy")):
        print("  not built (target samples-all)")
        return
    print("%-26s %10s %10s %10s %14s %12s" % ("case", "native", "qemu", "vmemu",
                                             "vmemu/native", "vmemu/qemu"))
    cases = (("fork_heavy", (str(o.forks), str(o.fork_pages)), ("0", str(o.fork_pages)),
              o.forks, "us per fork+exit+wait", lambda t, n: "%.1f" % (t / n * 1e6)),
             ("pipe_heavy", (str(o.pipe_mib),), ("0",), o.pipe_mib, "MiB/s through the pipe",
              lambda t, n: "%.1f" % (n / t)))
    units = []
    for sample, args, zero_args, n, unit, fmt in cases:
        t = {name: median_time(pre + [prog(sample)] + list(args), o.reps)
             for name, pre in runners}
        t0 = {name: median_time(pre + [prog(sample)] + list(zero_args), o.reps)
              for name, pre in runners}
        print("%-26s %10s %10s %10s %14s %12s"
              % (sample + " " + " ".join(args), ms(t["native"]), ms(t.get("qemu")),
                 ms(t["vmemu"]), ratio(t["vmemu"], t["native"]),
                 ratio(t["vmemu"], t.get("qemu"))))
        sys.stdout.flush()
        per = []
        for name, _ in runners:
            if ok(t[name]) and ok(t0[name]) and t[name] > t0[name] and n > 0:
                per.append("%s %s" % (name, fmt(t[name] - t0[name], n)))
            else:
                per.append("%s -" % name)
        units.append("  %s: %s (minus the run with %s)" % (unit, ", ".join(per),
                                                          " ".join(zero_args)))
    for line in units:
        print(line)


# A frame pool much smaller than vmemu's default 4G, for (g)(ii)'s start-up.
SMALL_POOL = "256M"
# (name, binary's suffix) of the threaded samples timed by (g)(iii).
THREADED = (("threads", "glibc"), ("threads_cpp", "glibc"), ("openmp", "glibc"),
            ("threads_rust", "glibc"), ("threads_go", "static"))


def bench_threads(o, runners):
    """(g): thread and process switch costs, the block hook, the threaded samples and,
    with a baseline, single-threaded programs against it."""
    samples = os.path.abspath(o.samples)

    def prog(sample, variant=None):
        return os.path.join(samples, "%s-%s" % (sample, variant or o.variant))

    def timed(argv, names=None):
        return median_times({name: pre + argv for name, pre in runners
                             if names is None or name in names}, o.reps)

    def timed_cases(cases, names):
        """{case: {runner: time}} of {case: argv}, every run of every case and runner
        alternating with the others (so their ratios see the same machine load)."""
        t = median_times({(case, name): pre + argv for case, argv in cases.items()
                          for name, pre in runners if name in names}, o.reps)
        return {case: {name: t[(case, name)] for name, _ in runners if name in names}
                for case in cases}

    without_baseline = [name for name, _ in runners if name != "baseline"]
    print("\n(g) threads: median of %d alternating runs, times in ms" % o.reps)
    pp = prog("thread_pingpong")
    if not os.access(pp, os.X_OK):
        print("  not built (target samples-all)")
        return

    print("(i) switch cost per round trip (two switches): thread_pingpong MODE %d vs MODE 0"
          % o.pingpong)
    print("%-26s %10s %10s %10s %14s %12s" % ("case", "native", "qemu", "vmemu",
                                             "vmemu/native", "vmemu/qemu"))
    for mode, label in (("threads", "futex, two threads"), ("procs", "pipes, two processes")):
        both = timed_cases({"n": [pp, mode, str(o.pingpong)], "0": [pp, mode, "0"]},
                           without_baseline)
        t, t0 = both["n"], both["0"]
        per = {name: (t[name] - t0[name]) / o.pingpong * 1e6
               for name in t if ok(t[name]) and ok(t0[name]) and t[name] > t0[name]}
        print("%-26s %10s %10s %10s %14s %12s"
              % ("%s %d" % (mode, o.pingpong), ms(t["native"]), ms(t.get("qemu")),
                 ms(t["vmemu"]), ratio(t["vmemu"], t["native"]),
                 ratio(t["vmemu"], t.get("qemu"))))
        print("  %s: us per round trip: %s; vmemu/native %s, vmemu/qemu %s"
              % (label, ", ".join("%s %.2f" % (n, per[n]) if n in per else "%s -" % n
                                  for n in t),
                 ratio(per.get("vmemu"), per.get("native")),
                 ratio(per.get("vmemu"), per.get("qemu"))))
        sys.stdout.flush()

    print("\n(ii) the block hook: thread_pingpong spin1|spin1t|spin2 M [short] (million "
          "rounds) vs the same with 0")
    print("%-26s %10s %10s %10s" % ("case", "native", "qemu", "vmemu"))
    modes = ("spin1", "spin1t", "spin2")
    loops = (("", o.spin), ("short", o.spin_short))
    spin = timed_cases({(mode, n, kind): [pp, mode, str(n)] + ([kind] if kind else [])
                        for kind, m in loops for mode in modes for n in (m, 0)},
                       without_baseline)
    for kind, m in loops:
        for mode in modes:
            for n in (m, 0):
                t = spin[(mode, n, kind)]
                print("%-26s %10s %10s %10s" % (" ".join(filter(None, (mode, str(n), kind))),
                                                ms(t["native"]), ms(t.get("qemu")),
                                                ms(t["vmemu"])))

    def work(mode, m, kind, name):
        t, t0 = spin[(mode, m, kind)][name], spin[(mode, 0, kind)][name]
        return t - t0 if ok(t) and ok(t0) and t > t0 else None

    print("  the loop's time (minus the run with 0), relative to spin1's:")
    for kind, m in loops:
        print("  %s loop (%d million rounds):" % (kind or "lcg", m))
        for mode, what in (("spin1t", "hook installed, one runnable thread"),
                           ("spin2", "two runnable threads")):
            print("    %s/spin1 (%s): %s" % (mode, what, ", ".join(
                "%s %s" % (n, ratio2(work(mode, m, kind, n), work("spin1", m, kind, n)))
                for n in without_baseline)))
    print("  start-up with a second thread (spin1t 0 - spin1 0, the block hook's installation "
          "included): %s" % ", ".join(
              "%s %s ms" % (n, ms(spin[("spin1t", 0, "")][n] - spin[("spin1", 0, "")][n]))
              if ok(spin[("spin1t", 0, "")][n]) and ok(spin[("spin1", 0, "")][n])
              else "%s -" % n for n in without_baseline))
    vm = dict(runners)["vmemu"]
    small = median_times({mode: vm + ["--mem", SMALL_POOL, pp, mode, "0"]
                          for mode in ("spin1", "spin1t")}, o.reps)
    print("  the same under vmemu --mem %s (the installation visits every frame of the pool, "
          "4G by default): vmemu %s ms" % (SMALL_POOL, ms(small["spin1t"] - small["spin1"])
                                           if ok(small["spin1t"]) and ok(small["spin1"])
                                           else "-"))
    sys.stdout.flush()

    print("\n(iii) threaded samples")
    print("%-26s %10s %10s %10s %14s %12s" % ("sample", "native", "qemu", "vmemu",
                                             "vmemu/native", "vmemu/qemu"))
    r_native, r_qemu = [], []
    for sample, variant in THREADED:
        b = prog(sample, variant)
        if not os.access(b, os.X_OK):
            print("%-26s not built" % os.path.basename(b))
            continue
        t = timed([b], without_baseline)
        print("%-26s %10s %10s %10s %14s %12s"
              % (os.path.basename(b), ms(t["native"]), ms(t.get("qemu")), ms(t["vmemu"]),
                 ratio(t["vmemu"], t["native"]), ratio(t["vmemu"], t.get("qemu"))))
        sys.stdout.flush()
        if ok(t["vmemu"]) and ok(t["native"]):
            r_native.append(t["vmemu"] / t["native"])
        if ok(t["vmemu"]) and ok(t.get("qemu")):
            r_qemu.append(t["vmemu"] / t["qemu"])
    print("%-26s %10s %10s %10s %14s %12s" % ("geometric mean", "", "", "",
                                             geomean(r_native), geomean(r_qemu)))

    if not any(name == "baseline" for name, _ in runners):
        return
    print("\n(iv) single-threaded programs, vmemu against the baseline (%s)"
          % dict(runners)["baseline"][0])
    print("%-34s %10s %10s %10s %14s" % ("case", "native", "baseline", "vmemu",
                                        "vmemu/baseline"))
    cases = ((prog("compute"), ("40",)), (prog("fork_heavy"), (str(o.forks), str(o.fork_pages))),
             (prog("pipe_heavy"), (str(o.pipe_mib),)), (pp, ("spin1", str(o.spin))),
             (pp, ("spin1", str(o.spin_short), "short")), (pp, ("procs", str(o.pingpong))))
    rs = []
    for b, args in cases:
        t = timed([b] + list(args), ("native", "baseline", "vmemu"))
        label = "%s %s" % (os.path.basename(b).rsplit("-", 1)[0], " ".join(args))
        print("%-34s %10s %10s %10s %14s" % (label, ms(t["native"]), ms(t["baseline"]),
                                             ms(t["vmemu"]), ratio2(t["vmemu"], t["baseline"])))
        sys.stdout.flush()
        if ok(t["vmemu"]) and ok(t["baseline"]):
            rs.append(t["vmemu"] / t["baseline"])
    if rs:
        print("%-34s %10s %10s %10s %14s" % ("geometric mean", "", "", "", "%.2fx" % math.exp(
            sum(math.log(r) for r in rs) / len(rs))))


def bench_plain_unicorn(o):
    """(c): tests/bench_unicorn's plain-Unicorn vs vmemu CPU-layer loop."""
    bu = o.bench_unicorn or os.path.join(os.path.abspath(o.samples), "..", "tests",
                                         "bench_unicorn")
    print("\n(c) plain Unicorn vs vmemu's CPU layer (%s)" % os.path.normpath(bu))
    if not os.access(bu, os.X_OK):
        print("  not built (configure with BUILD_TESTING=ON and build bench_unicorn)")
        return
    ratios = []
    for _ in range(o.reps):
        p = subprocess.run([bu], capture_output=True, text=True)
        m = re.search(r"plain-unicorn ([\d.]+) ms, vmemu ([\d.]+) ms", p.stdout)
        if p.returncode != 0 or not m:
            print("  failed: %s" % (p.stdout + p.stderr).strip())
            return
        ratios.append((float(m.group(2)) / float(m.group(1)), m.group(1), m.group(2)))
    r, plain, vm = sorted(ratios)[len(ratios) // 2]
    print("  plain Unicorn %s ms, vmemu CPU layer %s ms; vmemu/plain %.2fx" % (plain, vm, r))


if __name__ == "__main__":
    sys.exit(main())
