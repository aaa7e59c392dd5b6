#!/usr/bin/env python3
"""Compares two behaviour records made with VMEMU_RECORD (see tests/harness.py): the same
vmemu runs, each with the same exit status, stdout and --report counts.

Usage: record_diff.py BEFORE AFTER [--noise BEFORE2] [--ignore SUBSTRING ...]

Runs are matched by command line; a command run several times is compared as a multiset of
results. A command whose results differ between two records of the same tree (a program
that reads the clock or seeds a hash with it: Lua, busybox) is left out when --noise names
a second record of the BEFORE tree, and a command can be left out with --ignore. Prints one line per difference and
"N same, M differ"; exits 1 when anything differs. Python 3 standard library only.
"""
import argparse
import collections
import json
import sys


def load(path):
    runs = collections.defaultdict(list)
    with open(path) as f:
        for line in f:
            e = json.loads(line)
            runs[json.dumps(e["cmd"])].append(json.dumps(
                {k: v for k, v in e.items() if k != "cmd"}, sort_keys=True))
    return {k: sorted(v) for k, v in runs.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--noise", help="a second record of the BEFORE tree")
    ap.add_argument("--ignore", action="append", default=[])
    a = ap.parse_args()
    before, after = load(a.before), load(a.after)
    noise = load(a.noise) if a.noise else {}
    same = differ = noisy = 0
    for cmd in sorted(set(before) | set(after)):
        if any(s in cmd for s in a.ignore):
            continue
        if noise and noise.get(cmd) != before.get(cmd):
            noisy += 1
            continue
        if before.get(cmd) == after.get(cmd):
            same += 1
            continue
        differ += 1
        if cmd not in before or cmd not in after:
            print("only in %s: %s" % ("after" if cmd not in before else "before", cmd))
            continue
        for x, y in zip(before[cmd], after[cmd]):
            if x != y:
                dx, dy = json.loads(x), json.loads(y)
                keys = [k for k in dx if dx[k] != dy.get(k)]
                print("differs: %s (%s)" % (cmd, ", ".join(keys)))
                break
        else:
            print("differs: %s (ran %d times before, %d after)"
                  % (cmd, len(before[cmd]), len(after[cmd])))
    print("%d same, %d differ%s" % (same, differ, ", %d left out (they vary between two "
                                                   "records of the same tree)" % noisy
                                                   if noise else ""))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
