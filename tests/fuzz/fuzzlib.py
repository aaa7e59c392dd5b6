"""What the fuzzers of tests/fuzz/ share: how a run of vmemu is told to have failed, the
environment the runs get, and a run in a scratch folder of its own. Python 3 standard library only."""
import os
import re
import shutil
import subprocess
import tempfile

# vmemu's own failure messages, at the start of a line (a guest may write anything to its
# stderr, glibc's own "internal error" strings included): an internal check, a sanitizer.
VMEMU_FAILED = re.compile(r"^(vmemu: internal error at |==\d+==ERROR: \w+Sanitizer|"
                          r"\S+:\d+:\d+: runtime error: )", re.M)

# Sanitizer builds: leaks are the unit tests' business; UBSan stops at the first report.
RUN_ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")


def vmemu_failure(p, timed_out):
    """"hang", "vmemu crash" (vmemu died by a signal, or said it failed), or None, for a
    finished subprocess.run result p (None when timed_out)."""
    if timed_out:
        return "hang"
    if p.returncode < 0 or VMEMU_FAILED.search(p.stderr):
        return "vmemu crash"
    return None


def run_in_scratch(cmd, timeout, prefix, files=(), dirs=(), env=RUN_ENV):
    """Runs cmd in a new scratch folder (its working directory, holding the empty files and
    folders named), removed afterwards. Returns (subprocess.run result or None, timed_out)."""
    scratch = tempfile.mkdtemp(prefix=prefix)
    for d in dirs:
        os.mkdir(os.path.join(scratch, d))
    for name in files:
        open(os.path.join(scratch, name), "w").close()
    try:
        return subprocess.run(cmd, cwd=scratch, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout, env=env, text=True, errors="replace"), False
    except subprocess.TimeoutExpired:
        return None, True
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
