#!/usr/bin/env python3
"""Real programs, natively and under vmemu: same stdout, same exit status.

Usage: realprogs.py --vmemu PATH --samples BUILD/samples [-k SUBSTRING] [--jobs N]
                    [--scale F] [--list] [--no-pressure] [--no-heap]

The programs are unmodified code from Debian's packages, built statically by
samples/real/CMakeLists.txt into SAMPLES/real/: Lua 5.4 (liblua5.4.a and our driver
lua.c) running the scripts of samples/real/*.lua; SQLite (libsqlite3.a and sqlite.c)
building and querying a database in memory, in a file (two runs: create, then reopen and
query) and in WAL mode with the database mmap'ed; zlib (libz.a and zlib.c) compressing
and decompressing tens of MiB; busybox (busybox-static) applets that do not fork; C++
(libstdc++.a and cxx.cc): maps, streams, sorting, regex and exceptions.

A case is a list of steps run in order, each once natively and once under vmemu
(`vmemu PROGRAM ARGS...`, no options). The native and the vmemu working directories of
a case sit side by side in one temporary directory and reach the generated inputs as
../in/, so both runs get byte-identical argv. Every step must give exactly the
native stdout and exit status; a case may also list files it writes, which must then be
byte-identical too (the SQLite databases). stderr is not compared (vmemu may warn there).

Inputs (../in/) are generated here from fixed seeds: words, numbers, a CSV file, a
compressible binary blob and its gzip, so the outputs are deterministic.

Scale: the data sizes (zlib MiB, Lua loop counts) are multiplied by --scale (default
$REALPROGS_SCALE, else 1, or 0.5 when vmemu is an AddressSanitizer build, which is
detected by the __asan_init symbol in its binary). Assertions do not depend on the scale:
each run is compared with a native run of the same size.

Memory pressure: the cases of PRESSURE run again as "pressure-CASE". Every step runs
first under vmemu with the default memory and --report, which gives its peak frame use
(frames.peak_used); then, for each policy listed for the case, the steps run again with
--mem at a quarter of their own peak (in whole pages, at least 64K) and --policy, in a
fresh directory. Every run must give the native stdout, exit status and files, and every
quartered run must have evicted pages (paging.evictions > 0 in its report): the programs
really ran in a quarter of the memory they use. Each policy is used by at least two
programs; lua-pack runs with all four.

Heap checker: the cases whose programs keep their symbol table (.symtab), but those of
HEAP_SKIP (all of them with --heap-all), run again as "heap-CASE" under `vmemu --check heap`: the same stdout, exit status and files as the
native run, and on stderr no heap-checker line but the exit summary of each process
("vmemu: heap: pid N: ...; 0 errors"; a leak counts as an error), at least one of them for
pid 1000. A false report there is a checker bug (a missed root of the leak search, a
red zone the program may legitimately touch). The stripped programs (busybox) cannot run
under --check heap: one SKIP line says so. Under the checker every load and store takes
Unicorn's slow path (its access hook), about 10x, so the cases of HEAP_SCALE run smaller
there and those of HEAP_SKIP only with --heap-all.

Each case prints "PASS name (native s, vmemu s)" or "FAIL name: reason" (a pressure case
adds, per policy, the memory, evictions, major faults and seconds); the last line is
"N passed, M failed"; the exit status is 1 when a case failed. Python 3 standard library
only.
"""

import argparse
import concurrent.futures
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
from harness import read_report, record, recording
import threading
import time

TIMEOUT = 600  # seconds for one run (the sanitizer build of vmemu is slow)
SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                    "samples", "real"))

PAGE = 4096
POLICIES = ("fifo", "clock", "lru", "random")
# (case, policies) run again at a quarter of their peak memory, as "pressure-CASE". Each
# policy serves at least two programs; one program (lua-pack) runs with all four. Chosen
# to add about a minute to the release build's run.
PRESSURE = (
    ("lua-pack", POLICIES),
    ("lua-strings", ("clock",)),
    ("sqlite-file", ("lru",)),
    ("sqlite-wal-mmap", ("random", "fifo")),
    ("zlib", ("clock",)),
    ("bb-sort", ("lru",)),
    ("bb-gzip", ("random", "fifo")),
    ("bb-sh-arith", ("lru", "clock")),
    ("bb-sed", ("lru",)),
    ("bb-awk-strings", ("fifo",)),
)
# Cases whose size is scaled down again in the --check heap pass (see heap_cases): under
# the checker every load and store takes Unicorn's slow path (about 10x), so the pass runs
# the scaled cases at a fraction of their size, and leaves the ones of HEAP_SKIP out, to
# keep the suite within its time on a shared 2-core machine. --heap-all runs every case
# (HEAP_ALL_SCALE: gc.lua's fixed part alone allocates 440,000 blocks, 150 s there).
HEAP_SCALE = {"lua-strings": 1 / 32, "lua-pack": 1 / 8, "lua-coroutines": 1 / 4, "zlib": 1 / 64}
HEAP_SKIP = ("cxx-words", "cxx-regex", "sqlite-file", "sqlite-wal-mmap", "sqlite-memory",
             "lua-gc", "lua-tables", "cxx-numbers")
HEAP_ALL_SCALE = {"lua-gc": 1 / 50, "lua-tables": 1 / 8, "lua-strings": 1 / 8,
                  "lua-pack": 1 / 8, "zlib": 1 / 16}

WORDS = ("page", "frame", "fault", "table", "cache", "dirty", "clean", "anon", "file",
         "shared", "private", "mapping", "kernel", "process", "thread", "signal", "memory",
         "virtual", "physical", "address", "walk", "zero", "copy", "write")
CITIES = ("Berlin", "Lisbon", "Oslo", "Paris", "Rome", "Vienna", "Warsaw")


class Lcg:
    """The 64-bit LCG of Knuth's MMIX: same numbers on every Python and machine."""

    def __init__(self, seed):
        self.state = seed

    def next(self, bound):
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        return (self.state >> 33) % bound


def make_inputs(d):
    """Writes the deterministic inputs of the busybox cases into directory d."""
    r = Lcg(2024)
    lines = ["%s %d %s" % (WORDS[r.next(len(WORDS))], r.next(100000),
                           WORDS[r.next(len(WORDS))]) for _ in range(40000)]
    with open(os.path.join(d, "words.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(d, "numbers.txt"), "w") as f:
        f.write("".join("%d\n" % (r.next(2000000) - 1000000) for _ in range(50000)))
    with open(os.path.join(d, "small.txt"), "w") as f:
        f.write("".join("%d %s\n" % (r.next(1000), WORDS[i % len(WORDS)])
                        for i in range(2000)))
    with open(os.path.join(d, "data.csv"), "w") as f:
        f.write("id,name,city,amount\n")
        for i in range(1, 20001):
            f.write("%d,%s%d,%s,%d\n" % (i, WORDS[r.next(len(WORDS))], r.next(1000),
                                         CITIES[r.next(len(CITIES))], r.next(100000)))
    sorted_words = sorted(WORDS[r.next(len(WORDS))] + str(r.next(40)) for _ in range(30000))
    with open(os.path.join(d, "sorted.txt"), "w") as f:
        f.write("\n".join(sorted_words) + "\n")
    blob = bytearray()
    while len(blob) < (3 << 20):
        n = r.next(64)
        if n < 40:
            blob += WORDS[n % len(WORDS)].encode() + b" "
        else:
            blob += bytes(r.next(256) for _ in range(n - 38))
    with open(os.path.join(d, "blob.bin"), "wb") as f:
        f.write(blob)
    with open(os.path.join(d, "blob.bin.gz"), "wb") as f:
        f.write(gzip.compress(bytes(blob), compresslevel=6, mtime=0))


def busybox_cases():
    """(name, [argv]) of the busybox steps; argv[0] is the applet (run as busybox APPLET)."""
    sh = lambda script: ["sh", "-c", script]
    return [
        ("sh-arith", [sh("i=0; s=0; p=1; while [ $i -lt 20000 ]; do i=$((i + 1)); "
                         "s=$(( (s + i * i) % 1000003 )); p=$(( (p * 31 + i) & 65535 )); "
                         "done; echo $i $s $p")]),
        ("sh-strings", [sh("s=''; i=0; while [ $i -lt 2000 ]; do s=\"${s}ab\"; i=$((i + 1)); "
                           "done; t=${s//ab/xyz}; echo ${#s} ${#t} ${s:10:5} ${t%%z*} "
                           "${s#abab}x; case $s in *bab*) echo match;; *) echo no;; esac; "
                           "printf '%05d|%x|%s|%-4s|\\n' 42 255 \"$i\" ok")]),
        ("sh-functions", [sh("fib() { if [ $1 -lt 2 ]; then r=$1; return; fi; "
                             "fib $(( $1 - 1 )); local a=$r; fib $(( $1 - 2 )); "
                             "r=$(( a + r )); }; fib 16; echo fib $r; "
                             "set -- a b c d; echo $# $3 \"$*\"; for w in $*; do "
                             "echo -n \"[$w]\"; done; echo")]),
        ("sh-read-file", [sh("n=0; t=0; while read a b; do n=$((n + 1)); t=$((t + a)); "
                             "done < ../in/small.txt; echo lines $n sum $t; "
                             "i=0; while [ $i -lt 300 ]; do echo line $i >> out.txt; "
                             "i=$((i + 1)); done; c=0; while read x y; do c=$((c + y)); "
                             "done < out.txt; echo $c")]),
        ("sh-exit-status", [sh("echo before; false; echo status $?; exit 7")]),
        ("awk-sum", [["awk", "{ s += $1; if ($1 > m) m = $1 } END { print s, NR, m }",
                      "../in/numbers.txt"]]),
        ("awk-csv", [["awk", "-F,", "NR > 1 { n[$3]++; a[$3] += $4 } END { for (c in n) "
                      "printf \"%s %d %d %.2f\\n\", c, n[c], a[c], a[c] / n[c] }",
                      "../in/data.csv"]]),
        ("awk-strings", [["awk", "{ x = toupper(substr($1, 1, 3)); gsub(/a/, \"@\", $3); "
                          "k = split($0, f, \" \"); t[x] += k; if (NR % 5000 == 0) "
                          "print NR, x, $3, length($0) } END { for (x in t) print x, t[x] }",
                          "../in/words.txt"]]),
        ("awk-math", [["awk", "BEGIN { for (i = 1; i <= 50000; i++) { s += sin(i) * i; "
                       "q += sqrt(i); e += exp(-i / 1000) } printf \"%.6f %.6f %.6f %d\\n\", "
                       "s, q, e, int(s) % 97 }"]]),
        ("sed", [["sed", "-e", "s/\\([a-z]*\\) \\([0-9]*\\)/\\2:\\1/", "-e", "/^1/d", "-e",
                  "y/aeiou/AEIOU/", "../in/words.txt"],
                 ["sed", "-n", "100,120p;$=", "../in/words.txt"]]),
        ("sort", [["sort", "../in/words.txt"],
                  ["sort", "-n", "../in/numbers.txt"],
                  ["sort", "-t,", "-k4,4nr", "-k1,1n", "../in/data.csv"],
                  ["sort", "-u", "-r", "../in/sorted.txt"],
                  ["sort", "-o", "sorted.out", "-k2,2n", "../in/words.txt"],
                  ["md5sum", "sorted.out"]]),
        ("uniq", [["uniq", "-c", "../in/sorted.txt"], ["uniq", "-d", "../in/sorted.txt"]]),
        ("md5sum", [["md5sum", "../in/blob.bin", "../in/words.txt", "../in/data.csv"]]),
        ("sha256sum", [["sha256sum", "../in/blob.bin", "../in/words.txt"],
                       ["sha1sum", "../in/blob.bin"], ["sha512sum", "../in/numbers.txt"]]),
        ("gzip", [["gzip", "-c", "-6", "../in/words.txt"], ["gunzip", "-c", "../in/blob.bin.gz"],
                  ["gzip", "-c", "-1", "../in/blob.bin"]]),
        ("bzip2", [["bzip2", "-c", "../in/words.txt"]]),
        ("wc", [["wc", "../in/words.txt", "../in/blob.bin", "../in/data.csv"]]),
        ("tr", [["tr", "a-z", "A-Z"], ["tr", "-d", "0-9"], ["tr", "-s", "a-z"]]),
        ("cut", [["cut", "-d,", "-f2,4", "../in/data.csv"], ["cut", "-c", "3-8", "../in/words.txt"]]),
        ("head-tail", [["head", "-n", "25", "../in/words.txt"],
                       ["tail", "-n", "25", "../in/words.txt"],
                       ["tail", "-c", "1000", "../in/blob.bin"],
                       ["head", "-c", "100000", "../in/numbers.txt"]]),
        ("od", [["od", "-A", "x", "-t", "x1z", "-N", "8192", "../in/blob.bin"],
                ["od", "-t", "d4", "-j", "1000", "-N", "4096", "../in/blob.bin"]]),
        ("base64", [["base64", "../in/blob.bin"], ["base64", "../in/words.txt"]]),
        ("seq", [["seq", "1", "3", "200000"], ["seq", "-w", "-s", ",", "0.5", "0.25", "40"]]),
        ("misc", [["tac", "../in/small.txt"], ["rev", "../in/small.txt"],
                  ["nl", "../in/small.txt"], ["fold", "-w", "7", "../in/small.txt"],
                  ["factor", "1000000007", "600851475143", "9999999967"],
                  ["xxd", "-l", "512", "../in/blob.bin"],
                  ["expr", "12345", "*", "6789"]]),
        ("exit-status", [["grep", "-c", "kernel", "../in/words.txt"],
                         ["grep", "no-such-word", "../in/words.txt"],
                         ["cmp", "../in/words.txt", "../in/small.txt"],
                         ["false"]]),
    ]


def stdin_for(case):
    """Steps of the tr case read words.txt from stdin; everything else gets /dev/null."""
    return "../in/words.txt" if case == "bb-tr" else None


def build_cases(real, scale):
    """All cases: name -> dict(steps=[(argv, stdin)], files=[names compared at the end])."""
    lua, sqlite, zlib, bb, cxx = (os.path.join(real, p) for p in ("lua", "sqlite", "zlib",
                                                                   "busybox", "cxx"))

    def script(name):
        return os.path.join(SRC, name)

    def n(base):
        return str(max(1, int(base * scale)))

    cases = {"zlib": dict(steps=[([zlib, n(16), "."], None)])}  # the longest case first
    for name, base in (("strings", 20000), ("tables", 100000), ("gc", 150),
                       ("coroutines", 20000), ("pack", 20000)):
        cases["lua-" + name] = dict(steps=[([lua, script(name + ".lua"), n(base)], None)])
    cases["lua-error"] = dict(steps=[([lua, script("error.lua")], None)])
    create, query = script("create.sql"), script("query.sql")
    cases["sqlite-memory"] = dict(steps=[([sqlite, ":memory:", create, query], None)])
    cases["sqlite-file"] = dict(steps=[([sqlite, "test.db", create], None),
                                       ([sqlite, "test.db", query], None)],
                                files=["test.db"])
    cases["sqlite-wal-mmap"] = dict(
        steps=[([sqlite, "wal.db", "-e", "PRAGMA journal_mode=WAL", create], None),
               ([sqlite, "wal.db", "-e", "PRAGMA mmap_size=67108864", query], None)],
        files=["wal.db"])
    cases["sqlite-error"] = dict(
        steps=[([sqlite, ":memory:", "-e", "SELECT 6 * 7; SELECT * FROM missing"], None)])
    for mode, arg in (("words", "../in/words.txt"), ("numbers", "../in/numbers.txt"),
                      ("throw", n(3000)), ("regex", "../in/words.txt")):
        cases["cxx-" + mode] = dict(steps=[([cxx, mode, arg], None)])
    for name, steps in busybox_cases():
        cname = "bb-" + name
        cases[cname] = dict(steps=[([bb] + argv, stdin_for(cname)) for argv in steps])
    return cases


# The environment of every run: the caller's, less the recording switch of harness.py.
GUEST_ENV = {k: v for k, v in os.environ.items() if k != "VMEMU_RECORD"}


def run(cmd, cwd, stdin):
    """Runs cmd in cwd; returns (exit status, stdout bytes, stderr text, seconds)."""
    t0 = time.perf_counter()
    cmd, report = recording(cmd)
    with open(os.path.join(cwd, stdin) if stdin else os.devnull, "rb") as fin:
        try:
            p = subprocess.run(cmd, cwd=cwd, stdin=fin, capture_output=True,
                               timeout=TIMEOUT, env=GUEST_ENV)
        except subprocess.TimeoutExpired:
            return None, b"", "timed out after %d s" % TIMEOUT, time.perf_counter() - t0
    record(cmd, report, p.returncode, p.stdout)
    err = p.stderr.decode(errors="replace")
    return p.returncode, p.stdout, err, time.perf_counter() - t0


def first_difference(a, b):
    """A short description of where two outputs first differ."""
    la, lb = a.split(b"\n"), b.split(b"\n")
    for i, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            return "line %d: native %r, vmemu %r" % (i + 1, x[:120], y[:120])
    return "native %d lines (%d bytes), vmemu %d lines (%d bytes)" % (len(la), len(a),
                                                                     len(lb), len(b))


def step_label(i, argv):
    return "step %d (%s)" % (i + 1, " ".join(os.path.basename(a) if j == 0 else a
                                              for j, a in enumerate(argv))[:80])


def mismatch(rn, out_n, rv, out_v, err_v):
    """None when the vmemu run gave the native exit status and stdout, else what differs
    (with vmemu's own lines of stderr, or the tail of stderr)."""
    if rv == rn and out_v == out_n:
        return None
    what = []
    if rv != rn:
        what.append("exit status native %s, vmemu %s" % (
            rn, rv if rv is None or rv >= 0 else "killed by signal %d: vmemu itself crashed"
            % -rv))
    if out_v != out_n:
        what.append("stdout differs, " + first_difference(out_n, out_v))
    own = [ln for ln in err_v.splitlines() if ln.startswith("vmemu:")]
    shown = "\n    ".join(own[:6]) if own else err_v.strip()[-400:] or "(empty)"
    return "%s; vmemu stderr: %s" % ("; ".join(what), shown)


def files_differ(case, native_dir, vmemu_dir):
    """The first file of the case that differs between the two directories, or None."""
    for f in case.get("files", []):
        with open(os.path.join(native_dir, f), "rb") as a, \
                open(os.path.join(vmemu_dir, f), "rb") as b:
            if a.read() != b.read():
                return f
    return None


def run_native(case, native_dir):
    """Runs the steps natively; returns ([(status, stdout)], seconds) or raises
    RuntimeError when a native run fails to run."""
    results, total = [], 0.0
    for i, (argv, stdin) in enumerate(case["steps"]):
        rn, out_n, err_n, tn = run(argv, native_dir, stdin)
        total += tn
        if rn is None or rn < 0:
            raise RuntimeError("%s: the native run failed (%s): %s"
                               % (step_label(i, argv), rn, err_n.strip()[-300:]))
        results.append((rn, out_n))
    return results, total


def has_symtab(path):
    """True when the ELF64 file at path has a symbol table section (SHT_SYMTAB)."""
    with open(path, "rb") as f:
        ehdr = f.read(64)
        if len(ehdr) < 64 or ehdr[:4] != b"\x7fELF" or ehdr[4] != 2:
            return False
        shoff = int.from_bytes(ehdr[0x28:0x30], "little")
        shentsize = int.from_bytes(ehdr[0x3a:0x3c], "little")
        shnum = int.from_bytes(ehdr[0x3c:0x3e], "little")
        for i in range(shnum):
            f.seek(shoff + i * shentsize)
            if int.from_bytes(f.read(8)[4:8], "little") == 2:
                return True
    return False


def heap_cases(real, scale, every=False):
    """The --check heap pass: {"heap-CASE": case} for the cases whose programs keep their
    symbols (sized by HEAP_SCALE, all of them with every, sized by HEAP_ALL_SCALE), and
    {program: [cases]} of the stripped ones."""
    cases, stripped = {}, {}
    sizes = HEAP_ALL_SCALE if every else HEAP_SCALE
    for name, case in build_cases(real, scale).items():
        if name in HEAP_SKIP and not (every and name not in ("cxx-words", "cxx-regex")):
            continue
        if name in sizes:
            case = build_cases(real, scale * sizes[name])[name]
        progs = sorted(set(argv[0] for argv, _ in case["steps"]))
        bare = [p for p in progs if not has_symtab(p)]
        if bare:
            for p in bare:
                stripped.setdefault(os.path.basename(p), []).append(name)
        else:
            cases["heap-" + name] = case
    # The longest first (it is a third of the pass), so that it does not finish alone.
    order = sorted(cases, key=lambda c: c != "heap-lua-gc")
    return {c: cases[c] for c in order}, stripped


HEAP_SUMMARY = re.compile(r"vmemu: heap: pid (\d+): (\d+) allocations?, .*; (\d+) errors?")


def heap_check(err):
    """(None, allocations of pid 1000) when stderr holds only clean heap summaries, one of
    them pid 1000's; else (what is wrong, 0)."""
    allocs = None
    for line in err.splitlines():
        if not line.startswith("vmemu: heap: "):
            continue
        m = HEAP_SUMMARY.fullmatch(line)
        if not m:
            return "heap report: %s" % line, 0
        if m.group(3) != "0":
            return "heap summary with errors: %s" % line, 0
        if m.group(1) == "1000":
            allocs = int(m.group(2))
    if allocs is None:
        return "no heap summary for pid 1000 in stderr: %s" % (err.strip()[-300:] or
                                                                 "(empty)"), 0
    return None, allocs


def run_case(name, case, vmemu, top, opts=()):
    """Runs every step natively, then under vmemu (with opts); returns (ok, message).
    With --check heap in opts, stderr must hold only clean heap summaries."""
    heap = "--check" in opts
    allocs = 0
    native_dir = os.path.join(top, "native-" + name)
    vmemu_dir = os.path.join(top, "vmemu-" + name)
    os.mkdir(native_dir)
    os.mkdir(vmemu_dir)
    t_native = t_vmemu = 0.0
    for i, (argv, stdin) in enumerate(case["steps"]):
        rn, out_n, err_n, tn = run(argv, native_dir, stdin)
        rv, out_v, err_v, tv = run([vmemu] + list(opts) + argv, vmemu_dir, stdin)
        t_native += tn
        t_vmemu += tv
        if rn is None or rn < 0:
            return False, "%s: the native run failed (%s): %s" % (step_label(i, argv), rn,
                                                                 err_n.strip()[-300:])
        diff = mismatch(rn, out_n, rv, out_v, err_v)
        if diff:
            return False, "%s: %s" % (step_label(i, argv), diff)
        if heap:
            bad, n = heap_check(err_v)
            if bad:
                return False, "%s: %s" % (step_label(i, argv), bad)
            allocs += n
    f = files_differ(case, native_dir, vmemu_dir)
    if f:
        return False, "file %s differs from the native run's" % f
    shutil.rmtree(native_dir, ignore_errors=True)
    shutil.rmtree(vmemu_dir, ignore_errors=True)
    if heap:
        return True, "(native %.2f s, vmemu --check heap %.2f s, %d allocations)" % (
            t_native, t_vmemu, allocs)
    return True, "(native %.2f s, vmemu %.2f s)" % (t_native, t_vmemu)


def load_report(path):
    """The JSON report vmemu wrote to path, or None when it is missing or unreadable."""
    try:
        with open(path) as f:
            return read_report(f)
    except (OSError, ValueError):
        return None


def quarter_mem(peak_frames):
    """--mem for a quarter of peak_frames: whole pages, at least vmemu's minimum 64K."""
    pages = max(16, peak_frames // 4)
    return "%dK" % (pages * PAGE // 1024)


def run_pressure_case(name, case, policies, vmemu, top):
    """The steps natively, under vmemu with the default memory (for each step's peak
    frames, from --report), then at a quarter of each step's peak with each policy;
    returns (ok, message)."""
    native_dir = os.path.join(top, "native-" + name)
    os.mkdir(native_dir)
    try:
        native, t_native = run_native(case, native_dir)
    except RuntimeError as e:
        return False, str(e)
    report = os.path.join(top, "report-%s.json" % name)

    def vmemu_steps(label, step_opts):
        """Runs the steps under vmemu in a fresh directory, step i with the options
        step_opts[i]; returns (error or None, [report per step], seconds)."""
        d = os.path.join(top, "%s-%s" % (label, name))
        os.mkdir(d)
        reports, total = [], 0.0
        for i, (argv, stdin) in enumerate(case["steps"]):
            if os.path.exists(report):
                os.unlink(report)
            opts = step_opts[i]
            rv, out_v, err_v, tv = run([vmemu, "--report", report] + opts + argv, d, stdin)
            total += tv
            diff = mismatch(native[i][0], native[i][1], rv, out_v, err_v)
            if diff:
                return "%s %s: %s" % (" ".join(opts), step_label(i, argv), diff), [], total
            r = load_report(report)
            if r is None:
                return "%s %s: no readable report" % (" ".join(opts),
                                                      step_label(i, argv)), [], total
            reports.append(r)
        f = files_differ(case, native_dir, d)
        if f:
            return "%s: file %s differs from the native run's" % (label, f), [], total
        shutil.rmtree(d, ignore_errors=True)
        return None, reports, total

    err, full, t_full = vmemu_steps("full", [[] for _ in case["steps"]])
    if err:
        return False, "default memory: " + err
    peaks = [r["frames"]["peak_used"] for r in full]
    mems = [quarter_mem(p) for p in peaks]
    done = []
    for policy in policies:
        err, reports, t = vmemu_steps(policy, [["--mem", m, "--policy", policy] for m in mems])
        if err:
            return False, "%s: %s" % (policy, err)
        for i, r in enumerate(reports):
            if r["paging"]["evictions"] <= 0:
                return False, ("%s --mem %s %s: no page was evicted (peak %d frames at the "
                               "default memory)" % (policy, mems[i],
                                                    step_label(i, case["steps"][i][0]),
                                                    peaks[i]))
        evictions = sum(r["paging"]["evictions"] for r in reports)
        major = sum(p["faults"]["major"] for r in reports for p in r["processes"])
        done.append("%s %d evictions %d major %.2f s" % (policy, evictions, major, t))
    shutil.rmtree(native_dir, ignore_errors=True)
    return True, "(native %.2f s, vmemu %.2f s; peak %s frames, --mem %s: %s)" % (
        t_native, t_full, "+".join(str(p) for p in peaks), "+".join(mems), ", ".join(done))


def is_asan(path):
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vmemu", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("-k", default="", help="run only cases whose name contains this")
    ap.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1))
    ap.add_argument("--scale", type=float, default=None)
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--no-pressure", action="store_true",
                    help="skip the cases run at a quarter of their peak memory")
    ap.add_argument("--no-heap", action="store_true",
                    help="skip the cases run under --check heap")
    ap.add_argument("--heap-all", action="store_true",
                    help="run every case with symbols under --check heap (HEAP_ALL_SCALE)")
    o = ap.parse_args()

    vmemu = os.path.abspath(o.vmemu)
    real = os.path.join(os.path.abspath(o.samples), "real")
    scale = o.scale
    if scale is None:
        env = os.environ.get("REALPROGS_SCALE")
        scale = float(env) if env else (0.5 if is_asan(vmemu) else 1.0)
    cases = build_cases(real, scale)
    pressure = {} if o.no_pressure else {"pressure-" + c: p for c, p in PRESSURE}
    for c in pressure:
        cases[c] = cases[c[len("pressure-"):]]
    for p in ("lua", "sqlite", "zlib", "busybox", "cxx"):
        if not os.access(os.path.join(real, p), os.X_OK):
            print("FAIL setup: %s not built (target samples-real)" % os.path.join(real, p))
            print("0 passed, 1 failed")
            return 1
    heap, stripped = ({}, {}) if o.no_heap else heap_cases(real, scale, o.heap_all)
    names = [c for c in list(pressure) + list(heap) + [c for c in cases if c not in pressure]
             if o.k in c]
    cases.update(heap)
    if o.list:
        print("\n".join(names))
        return 0

    print("scale %g, %d cases, %d jobs" % (scale, len(names), o.jobs))
    for prog, skipped in sorted(stripped.items()):
        if any(o.k in "heap-" + c for c in skipped):
            print("SKIP heap-*: %s is stripped (no .symtab), --check heap cannot find its "
                  "malloc: %d cases not run under the heap checker" % (prog, len(skipped)))
    sys.stdout.flush()
    lock = threading.Lock()
    results = {}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vmemu-realprogs-") as top:
        os.mkdir(os.path.join(top, "in"))
        make_inputs(os.path.join(top, "in"))

        def one(name):
            try:
                if name in pressure:
                    ok, msg = run_pressure_case(name, cases[name], pressure[name], vmemu, top)
                elif name in heap:
                    ok, msg = run_case(name, cases[name], vmemu, top, ("--check", "heap"))
                else:
                    ok, msg = run_case(name, cases[name], vmemu, top)
            except OSError as e:
                ok, msg = False, "error: %s" % e
            with lock:
                results[name] = ok
                print(("PASS %s %s" if ok else "FAIL %s: %s") % (name, msg))
                sys.stdout.flush()

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, o.jobs)) as ex:
            list(ex.map(one, names))
    passed = sum(1 for ok in results.values() if ok)
    print("total %.1f s" % (time.perf_counter() - t0))
    print("%d passed, %d failed" % (passed, len(results) - passed))
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
