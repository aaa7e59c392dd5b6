#!/usr/bin/env python3
"""The README's list of syscalls that return ENOSYS is the truth.

Usage: readme_syscalls.py [--root DIR]

Reads the x86-64 syscall names vmemu knows (src/lib/syscall_names.c), the implemented ones
(include/vmemu/abi/syscall_table.h), and the README's "Not implemented" list (the lines
between `<!-- enosys -->` and `<!-- /enosys -->` in the Syscalls section: every `name` in
backquotes). Every syscall that is not implemented must be in that list, and nothing in
it may be implemented or unknown. Prints PASS/FAIL and "N passed, M failed". Python 3
standard library only.
"""
import argparse
import os
import re
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), ".."))
    o = ap.parse_args()
    read = lambda rel: open(os.path.join(o.root, rel), encoding="utf-8").read()
    known = set(re.findall(r'\[\d+\] = "(\w+)"', read("src/lib/syscall_names.c")))
    implemented = set(re.findall(r"X\(\d+, (\w+),", read("include/vmemu/abi/syscall_table.h")))
    readme = read("README.md")
    m = re.search(r"<!-- enosys -->(.*?)<!-- /enosys -->", readme, re.S)
    if not m:
        print("FAIL README.md has no <!-- enosys --> list")
        print("0 passed, 1 failed")
        return 1
    listed = set(re.findall(r"`(\w+)`", m.group(1)))
    problems = []
    missing = sorted(known - implemented - listed)
    if missing:
        problems.append("not implemented and not in the README's list: " + " ".join(missing))
    wrong = sorted(listed & implemented)
    if wrong:
        problems.append("in the README's ENOSYS list but implemented: " + " ".join(wrong))
    unknown = sorted(listed - known)
    if unknown:
        problems.append("in the README's ENOSYS list but no syscall: " + " ".join(unknown))
    if problems:
        print("FAIL README ENOSYS list: " + "; ".join(problems))
        print("0 passed, 1 failed")
        return 1
    print("PASS README ENOSYS list (%d syscalls implemented, %d listed as ENOSYS)"
          % (len(implemented), len(listed)))
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
