#!/usr/bin/env python3
"""Unit tests of tests/layercheck.py on small trees made for each case: a clean tree
passes; an upward include, an include cycle between modules and a header of unknown layer
each fail with their own message. Prints PASS/FAIL per case and "N passed, M failed".
Python 3 standard library only."""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import layercheck  # noqa: E402

CLEAN = {
    "include/vmemu/util.h": "",
    "include/vmemu/types.h": "",
    "include/vmemu/mm.h": '#include "vmemu/types.h"\n',
    "include/vmemu/fault.h": '#include "vmemu/mm.h"\n',
    "include/vmemu/proc.h": '#include "vmemu/mm.h"\n',
    "include/vmemu/abi/linux.h": "",
    "src/lib/util.c": '#include "vmemu/util.h"\n',
    "src/mm/mm.c": '#include "vmemu/mm.h"\n#include "vmemu/util.h"\n',
    "src/mm/fault.c": '#include "vmemu/fault.h"\n#include "vmemu/mm.h"\n',
    "src/mm/mm_fork.c": '#include "vmemu/mm.h"\n',
    "src/proc/proc.c": '#include "vmemu/proc.h"\n#include "vmemu/fault.h"\n'
                       '#include "vmemu/abi/linux.h"\n',
    "src/main.c": '#include "vmemu/proc.h"\n',
}


def check(files):
    root = tempfile.mkdtemp(prefix="vmemu-layercheck-")
    try:
        for rel, text in files.items():
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        return layercheck.Tree(root).check()
    finally:
        shutil.rmtree(root)



def case_clean():
    problems = check(CLEAN)
    return None if not problems else "a clean tree has problems: %s" % problems


def case_upward_include():
    files = dict(CLEAN)
    files["src/mm/mm.c"] += '#include "vmemu/proc.h"\n'
    problems = check(files)
    want = "src/mm/mm.c:3: upward include: src/mm/mm.c (mm) includes include/vmemu/proc.h (proc)"
    return None if want in problems else "expected %r in %s" % (want, problems)


def case_cycle():
    files = dict(CLEAN)
    files["src/mm/mm.c"] += '#include "vmemu/fault.h"\n'
    problems = check(files)
    hits = [p for p in problems if p.startswith("include cycle between modules mm/fault, mm/mm")]
    return None if len(hits) == 1 else "expected one cycle mm/fault <-> mm/mm in %s" % problems


def case_private_header_of_higher_layer():
    files = dict(CLEAN)
    files["src/proc/proc_int.h"] = ""
    files["src/mm/fault.c"] += '#include "../proc/proc_int.h"\n'
    problems = check(files)
    return None if any("upward include: src/mm/fault.c (mm) includes src/proc/proc_int.h (proc)"
                       in p for p in problems) else "no upward include found in %s" % problems


def case_unknown_header():
    files = dict(CLEAN)
    files["include/vmemu/mystery.h"] = ""
    problems = check(files)
    return None if any(p.startswith("include/vmemu/mystery.h: cannot tell its layer")
                       for p in problems) else "expected an unknown layer in %s" % problems


def case_part_file_is_its_module():
    files = dict(CLEAN)
    # mm_fork.c belongs to module mm: mm.c including fault.h and fault.c including mm.h is
    # the only way to make a cycle; mm_fork.c including fault.h makes one too.
    files["src/mm/mm_fork.c"] += '#include "vmemu/fault.h"\n'
    problems = check(files)
    return None if any("cycle between modules mm/fault, mm/mm" in p for p in problems) else \
        "mm_fork.c was not taken as part of mm: %s" % problems


def main():
    cases = [(name[5:], fn) for name, fn in sorted(globals().items())
             if name.startswith("case_")]
    passed = failed = 0
    for name, fn in cases:
        reason = fn()
        if reason is None:
            passed += 1
            print("PASS " + name)
        else:
            failed += 1
            print("FAIL %s: %s" % (name, reason))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
