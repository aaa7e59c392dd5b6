"""Shared pieces of the end-to-end scripts that compare a guest program run natively and
under vmemu (tests/e2e.py, tests/mmcompare.py, tests/procfs_e2e.py, tests/swap_e2e.py,
tests/sweep_e2e.py): running a process with the sanitizer-friendly environment, the failure
type, the line diff they print, runs shared between checks, and the PASS/FAIL loop."""
import concurrent.futures
import difflib
import os
import subprocess
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


class Failure(Exception):
    """A check failed; the message says why."""


class Run:
    """One finished process: shell-style status (128+N for signal N), stdout, stderr."""

    def __init__(self, status, out, err):
        self.status = status
        self.out = out
        self.err = err


def execute(cmd, timeout=TIMEOUT):
    """Runs cmd with stdin closed; returns its Run. Raises Failure on a timeout or when it
    cannot start."""
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout, env=CHILD_ENV)
    except subprocess.TimeoutExpired:
        raise Failure("timed out after %ds: %s" % (timeout, " ".join(cmd)))
    except OSError as e:
        raise Failure("cannot run %s: %s" % (cmd[0], e))
    status = 128 - p.returncode if p.returncode < 0 else p.returncode
    return Run(status, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"))


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
