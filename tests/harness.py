"""Shared pieces of the end-to-end scripts that compare a guest program run natively and
under vmemu (tests/e2e.py, tests/mmcompare.py, tests/procfs_e2e.py, tests/swap_e2e.py,
tests/sweep_e2e.py): running a process with the sanitizer-friendly environment, the failure
type, the line diff they print, runs shared between checks, and the PASS/FAIL loop."""
import concurrent.futures
import difflib
import json
import os
import subprocess
import sys
import threading

TIMEOUT = 120  # seconds for one run

# The sanitizer build's LeakSanitizer lists the suppressions it used on stderr, which is
# not vmemu's output: keep it quiet so that stderr checks see vmemu alone, and use
# tests/lsan.supp (libunicorn's known leaks) when run by hand rather than by CTest.
CHILD_ENV = dict(os.environ)
_LSAN = [os.environ.get("LSAN_OPTIONS", "")]
if "suppressions=" not in _LSAN[0]:
    _LSAN.append("suppressions=" + os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                "lsan.supp"))
CHILD_ENV["LSAN_OPTIONS"] = ":".join(x for x in _LSAN + ["print_suppressions=0"] if x)
CHILD_ENV.pop("VMEMU_RECORD", None)  # the guests see the same environment either way


class Failure(Exception):
    """A check failed; the message says why."""


# The JSON Schema of --report (draft 2020-12); every report a test reads is checked
# against it (read_report). jsonschema is python3-jsonschema: CMake runs the tests with an
# interpreter that has it; without it validation is skipped, loudly, except in CI.
REPORT_SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema",
                             "report.schema.json")
_validator = []


def report_validator():
    """The jsonschema validator of REPORT_SCHEMA, or None (with one loud line on stderr)
    when jsonschema is missing outside CI; raises Failure when it is missing in CI."""
    if not _validator:
        try:
            import jsonschema
        except ImportError:
            if os.environ.get("CI"):
                raise Failure("python3-jsonschema is missing (%s): reports cannot be "
                              "validated against %s" % (sys.executable, REPORT_SCHEMA))
            sys.stderr.write("*** WARNING: jsonschema is not installed for %s: the JSON "
                             "reports are NOT validated against %s ***\n"
                             % (sys.executable, REPORT_SCHEMA))
            _validator.append(None)
            return None
        with open(REPORT_SCHEMA) as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
        _validator.append(jsonschema.Draft202012Validator(schema))
    return _validator[0]


def validate_report(rep, where="report"):
    """Raises Failure when rep (a parsed --report) does not match the schema, naming the
    first few places that differ."""
    v = report_validator()
    if v is None:
        return rep
    errors = sorted(v.iter_errors(rep), key=lambda e: list(e.absolute_path))
    if errors:
        raise Failure("%s does not match %s:\n%s" % (
            where, os.path.relpath(REPORT_SCHEMA),
            "\n".join("  at /%s: %s" % ("/".join(str(x) for x in e.absolute_path),
                                         e.message[:300]) for e in errors[:5])))
    return rep


def read_report(f):
    """A --report file (an open file or a path) parsed and validated against the schema:
    json.load's ValueError when it is not JSON, Failure when it does not match."""
    if isinstance(f, (str, bytes, os.PathLike)):
        with open(f) as fp:
            return read_report(fp)
    return validate_report(json.load(f), getattr(f, "name", "report"))


class Run:
    """One finished process: shell-style status (128+N for signal N), stdout, stderr."""

    def __init__(self, status, out, err):
        self.status = status
        self.out = out
        self.err = err


def pin_zero_page(cmd):
    """A vmemu (or vmemu sweep) command with --zero-page on unless it chooses itself: the
    suites' exact counts and their rewriting of native output for hosts without the zero
    page (host_maps_zero_page) assume vmemu maps it, whatever this host's kernel does.
    tests/zeropage_e2e.py checks the default, which follows the host. Likewise --thp
    madvise (Linux's default mode) unless the command chooses: the suites' counts assume
    4 KiB pages for memory nobody MADV_HUGEPAGEd; tests/thp_e2e.py checks the default."""
    if not cmd or os.path.basename(cmd[0]) != "vmemu":
        return cmd
    at = 2 if len(cmd) > 1 and cmd[1] == "sweep" else 1
    pins = [] if "--zero-page" in cmd else ["--zero-page", "on"]
    if "--thp" not in cmd and at == 1:  # vmemu sweep has no --thp
        pins += ["--thp", "madvise"]
    return list(cmd[:at]) + pins + list(cmd[at:])


def execute(cmd, timeout=TIMEOUT):
    """Runs cmd with stdin closed; returns its Run. Raises Failure on a timeout or when it
    cannot start. A vmemu command maps the zero page (pin_zero_page)."""
    cmd, report = recording(pin_zero_page(cmd))
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout, env=CHILD_ENV)
    except subprocess.TimeoutExpired:
        raise Failure("timed out after %ds: %s" % (timeout, " ".join(cmd)))
    except OSError as e:
        raise Failure("cannot run %s: %s" % (cmd[0], e))
    status = 128 - p.returncode if p.returncode < 0 else p.returncode
    record(cmd, report, status, p.stdout)
    return Run(status, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"))


# VMEMU_RECORD=FILE: every vmemu run made through execute() (or record()) appends its
# command, exit status, stdout digest and --report counts to FILE as one JSON line; run the
# suites twice and compare with tests/record_diff.py to show that a change of structure
# changed no behaviour.
_RECORD_LOCK = threading.Lock()


def recording(cmd):
    """cmd with a --report added when recording a vmemu run; (cmd, report path or None)."""
    if not os.environ.get("VMEMU_RECORD") or os.path.basename(cmd[0]) != "vmemu" \
            or len(cmd) < 2 or cmd[1] == "sweep" or "--gdb" in cmd:
        return cmd, None
    if "--report" in cmd:
        return cmd, cmd[cmd.index("--report") + 1]
    import tempfile
    fd, path = tempfile.mkstemp(prefix="vmemu-record-", suffix=".json")
    os.close(fd)
    return [cmd[0], "--report", path] + list(cmd[1:]), path


def record(cmd, report, status, out):
    """Appends one vmemu run to the VMEMU_RECORD file (see recording)."""
    if report is None:
        return
    import hashlib
    import json
    import re
    try:
        with open(report) as f:
            rep = read_report(f)
    except (OSError, ValueError):
        rep = None

    def clean(x):
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items() if not k.endswith("_ns")}
        if isinstance(x, list):
            return [clean(v) for v in x]
        if isinstance(x, str):
            return re.sub(r"/tmp/[^/\s]+", "/tmp/X", x)
        return x
    entry = {"cmd": clean([c for c in cmd if c != report]), "status": status,
             "stdout": hashlib.sha1(re.sub(rb"/tmp/[^/\s]+", b"/tmp/X", out)).hexdigest(),
             "report": clean(rep)}
    with _RECORD_LOCK, open(os.environ["VMEMU_RECORD"], "a") as f:
        f.write(json.dumps(entry, sort_keys=True) + "\n")



def tail(text, n=400):
    text = text.strip()
    return text if len(text) <= n else "..." + text[-n:]


def line_diff(native, vm, limit=12):
    """The differing lines as 'native: ...' / 'vmemu: ...' pairs (at most limit lines)."""
    out = []
    a, b = native.splitlines(), vm.splitlines()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        out += ["    native: " + x for x in a[i1:i2]] or ["    native: (nothing)"]
        out += ["    vmemu:  " + x for x in b[j1:j2]] or ["    vmemu:  (nothing)"]
    if len(out) > limit:
        out = out[:limit] + ["    ... (%d more lines)" % (len(out) - limit)]
    return "\n".join(out)


class Once:
    """Results computed once per key and shared between threads (a native run several checks
    compare with, ...): once(key, fn) is fn()'s result, or its Failure, from the first
    caller with that key."""

    def __init__(self):
        self._lock = threading.Lock()
        self._done = {}

    def once(self, key, fn):
        with self._lock:
            entry = self._done.setdefault(key, [threading.Lock(), None, None])
        with entry[0]:
            if entry[1] is None and entry[2] is None:
                try:
                    entry[1] = fn()
                except Failure as e:
                    entry[2] = e
        if entry[2] is not None:
            raise Failure(str(entry[2]))
        return entry[1]


# The four builds of every C sample (samples/CMakeLists.txt).
VARIANTS = ("glibc", "glibc-pie", "musl", "musl-pie")


def same_as_native(vmemu, cmd, flags=()):
    """Runs cmd natively and under vmemu (with flags): the native run must exit 0, the vmemu
    run with the same status and stdout, and vmemu must report no unimplemented syscall.
    Returns the vmemu Run; raises Failure."""
    native = execute(list(cmd))
    if native.status != 0:
        raise Failure("natively: status %d\n%s%s" % (native.status, tail(native.out),
                                                     tail(native.err)))
    vm = execute([vmemu] + list(flags) + ["--"] + list(cmd))
    if vm.status != native.status or vm.out != native.out:
        raise Failure("status %d (natively %d), stdout:\n%s%s" % (
            vm.status, native.status, line_diff(native.out, vm.out), tail(vm.err)))
    unimpl = [l for l in vm.err.splitlines() if "unimplemented syscall" in l]
    if unimpl:
        raise Failure("vmemu reported:\n%s" % "\n".join(unimpl))
    return vm


def e2e_options(doc, more=None):
    """The command line of an e2e script: --vmemu PATH (made absolute) and --samples DIR,
    plus what more(parser) adds; the description is the first line of doc."""
    import argparse
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--vmemu", required=True)
    ap.add_argument("--samples", required=True)
    if more:
        more(ap)
    o = ap.parse_args()
    o.vmemu = os.path.abspath(o.vmemu)
    return o


def built_variants(samples, name):
    """(variant, path) of each build of sample `name` found in the samples folder."""
    found = []
    for v in VARIANTS:
        path = os.path.join(os.path.abspath(samples), "%s-%s" % (name, v))
        if os.path.exists(path):
            found.append((v, path))
    return found


def finish_checks(checks, missing, jobs=2):
    """The end of an e2e script's main: runs the checks (run_checks), prints "N passed, M
    failed" and returns the exit status; with no check at all, one FAIL line saying what is
    missing (missing: "no X sample built in DIR") and status 1."""
    if not checks:
        print("FAIL " + missing)
        print("0 passed, 1 failed")
        return 1
    passed, failed = run_checks(checks, jobs)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def run_checks(checks, jobs=1):
    """Runs (label, fn) checks, jobs at a time, and prints PASS or FAIL for each in order. A
    check fails by raising Failure or returning a reason (a string); any other exception is a
    bug in the script, reported as a failure too. Returns (passed, failed)."""
    passed = failed = 0

    def outcome(fn):
        try:
            reason = fn()
            return reason if isinstance(reason, str) else None
        except Failure as e:
            return str(e)
        except Exception as e:  # a bug in the script: report it as a failure
            return "internal error: %s: %s" % (type(e).__name__, e)

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [(label, pool.submit(outcome, fn)) for label, fn in checks]
        for label, fut in futures:
            reason = fut.result()
            if reason is None:
                passed += 1
                print("PASS " + label, flush=True)
            else:
                failed += 1
                print("FAIL %s: %s" % (label, reason), flush=True)
    return passed, failed


_ZERO_PAGE = []


def host_maps_zero_page():
    """Whether this host's kernel maps the shared zero page on a read fault of untouched
    private anonymous memory, as mainline Linux does (and vmemu always does). Some hosts'
    kernels allocate a zeroed page instead: the read counts in RSS and the later write takes
    no fault. Probed once: 256 pages are read, then written; with the zero page every write
    faults again. VMEMU_TEST_HOST_ZERO_PAGE=1 or 0 forces the answer (the comparisons then
    expect the other kind of host, and fail on this one)."""
    forced = os.environ.get("VMEMU_TEST_HOST_ZERO_PAGE")
    if forced in ("0", "1"):
        return forced == "1"
    if not _ZERO_PAGE:
        import mmap
        import resource
        n = 256
        m = mmap.mmap(-1, n * 4096, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        sum(m[i * 4096] for i in range(n))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for i in range(n):
            m[i * 4096] = 1
        after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        m.close()
        _ZERO_PAGE.append(after - before >= n // 2)
    return _ZERO_PAGE[0]


def zero_page_note():
    """The line a comparison prints about the probed host kind."""
    return ("host kernel maps the zero page on anonymous read faults: %s (native runs are "
            "compared with what such a kernel shows)" % ("yes" if host_maps_zero_page() else "no"))


def rewrite_lines(text, rules):
    """text with every line that starts with a key of rules replaced by rules[key](line)."""
    out = []
    for line in text.splitlines(keepends=True):
        for prefix, fn in rules.items():
            if line.startswith(prefix):
                end = "\n" if line.endswith("\n") else ""
                line = fn(line.rstrip("\n")) + end
                break
        out.append(line)
    return "".join(out)


def add_to_number(delta, unit=""):
    """A rewrite_lines rule: the line's last number (before unit) plus delta."""
    import re

    def fn(line):
        m = re.search(r"(-?\d+)(%s)$" % re.escape(unit), line)
        if not m:
            raise Failure("expected a number at the end of %r" % line)
        return line[:m.start()] + str(int(m.group(1)) + delta) + m.group(2)
    return fn


def perf_view(f, kernel):
    """What perf stat counts of a process whose vmemu faults (the report's "faults" object)
    are f: its own faults, and, when perf counts kernel mode too (its events are not ":u"),
    its execve's stores (exec - exec_args: the argument pages are get_user_pages faults,
    which perf never counts)."""
    own = f["minor"] + f["major"]
    return own + (f["exec"] - f["exec_args"] if kernel else 0)


_NORANDOM = []


def no_randomize():
    """The prefix that runs a command natively with the address space laid out as vmemu
    lays it out (setarch -R: ADDR_NO_RANDOMIZE, inherited by its children), or None when
    this host cannot: Linux's counts then move by 1-2 pages per exec with the layout."""
    if not _NORANDOM:
        try:
            ok = subprocess.run(["setarch", "-R", "true"], capture_output=True,
                                timeout=30).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        _NORANDOM.append(["setarch", "-R"] if ok else None)
    return _NORANDOM[0]
