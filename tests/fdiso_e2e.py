#!/usr/bin/env python3
"""The guest reaches its own descriptors and nothing of vmemu's.

Usage: fdiso_e2e.py --vmemu PATH --samples BUILD/samples [--bash PATH]

- samples/fdiso.c, every built variant: the native run and the vmemu run print the same
  lines (the descriptors among 0..65535 that answer fcntl, the listings of /proc/self/fd,
  /proc/self/fdinfo and /dev/fd, readlink of each descriptor's link and of /dev/stdin, how
  many of /proc/self/fd/N and /dev/fd/N open for N in 0..65535, a pipe read through
  /dev/fd/63, the close-on-exec flag in fdinfo, close_range and closefrom) and exit 0.
- `fdiso scan` under vmemu prints everything it can read or list under /proc/self,
  /proc/thread-self and /dev/fd; none of it may name vmemu's program, its libraries, its
  swap area, its memfds or a descriptor the guest did not open, and the guest's own file
  must be there; /proc/self/mem opened through a symlink, "..", "//", a path relative to
  /proc or the host's /proc/PID fails.
- bash-static with busybox-static's applets, when installed (.ci/setup installs them):
  process substitution `<(...)`, `exec 7<FILE; cat /dev/fd/7` and `ls /proc/self/fd`
  give the native output; `ps` and `ls /proc` in the guest show the shell (pid 1000) and
  its two children with vmemu's VSZ and RSS, and no host process.
Prints PASS/FAIL per check and "N passed, M failed". Python 3 standard library only.
"""
import os
import re
import shutil
import sys

from harness import e2e_options, Failure, built_variants, execute, finish_checks, same_as_native, tail

# Run by bash-static with BB set to the static busybox (the host's coreutils are dynamic).
BASH_SCRIPT = r"""
$BB cat <(echo from a process substitution)
while read -r line; do echo "read: $line"; done < <(printf 'a\nb\n')
exec 7</etc/hostname
$BB cat /dev/fd/7 | $BB wc -c
$BB diff <(echo same) <(echo same) && echo diff says equal
$BB ls /proc/self/fd
"""


def scan(vmemu, binary):
    vm = execute([vmemu, "--", binary, "scan"])
    if vm.status != 0:
        raise Failure("status %d\n%s" % (vm.status, tail(vm.err)))
    forbidden = [os.path.realpath(vmemu), "vmemu-swap", "libunicorn", "memfd:", "vmemu-proc",
                 "libcapstone"]
    for f in forbidden:
        if f in vm.out:
            where = vm.out.index(f)
            raise Failure("the guest read %r:\n...%s..." % (f, vm.out[max(0, where - 300):where + 100]))
    escapes = re.findall(r"^escape (.*?): (EACCES|OPENED|errno \d+|[A-Z]+)$", vm.out, re.M)
    if len(escapes) != 7 or any(r == "OPENED" for _, r in escapes):
        raise Failure("a way around reached a /proc file of vmemu's: %s" % escapes)
    links = re.findall(r"^== /proc/self/fd/(\d+) -> (.*)$", vm.out, re.M)
    if not any(t == "/etc/hostname" for _, t in links):
        raise Failure("the scan did not see the guest's own /etc/hostname descriptor")
    if len(vm.out) < 10000 or "== /proc/self/maps" not in vm.out:
        raise Failure("the scan read too little (%d bytes)" % len(vm.out))
    return None


def guest_ps(vmemu, bash, busybox):
    """ps inside the guest lists the guest's processes (vmemu's pids, 1000 on) and nothing
    of the host's; /proc lists the same pids."""
    # The sleep outlives ps however slow the machine is (a 1 s sleep once ended first under
    # load, and ps showed one child); the shell kills it after.
    script = ("%s sleep 600 & p=$!; %s ps -o pid,ppid,vsz,rss,comm; %s ls /proc; kill $p; "
              "wait $p; exit 0" % (busybox, busybox, busybox))
    vm = execute([vmemu, "--", bash, "-c", script])
    if vm.status != 0:
        raise Failure("status %d\n%s" % (vm.status, tail(vm.err)))
    rows = [l.split() for l in vm.out.splitlines() if re.match(r"\s*\d+\s+\d+\s+\d+\s+\d+\s", l)]
    pids = {int(r[0]): int(r[1]) for r in rows}
    if pids.get(1000) != 1 or sum(1 for pp in pids.values() if pp == 1000) != 2:
        raise Failure("ps shows %s, want 1000 (the shell) and its two children:\n%s"
                      % (pids, vm.out))
    listed = [int(l) for l in vm.out.splitlines() if l.strip().isdigit()]
    if not listed or min(listed) < 1000 or 1000 not in listed:
        raise Failure("/proc lists %s" % listed)
    if any(int(r[3]) <= 0 or int(r[2]) < int(r[3]) for r in rows):
        raise Failure("VSZ/RSS not as vmemu counts them: %s" % rows)
    return None


def main():
    o = e2e_options(__doc__, lambda ap: ap.add_argument(
        "--bash", default=shutil.which("bash-static") or "/bin/bash-static"))
    vmemu = o.vmemu
    checks = []
    for v, binary in built_variants(o.samples, "fdiso"):
        checks.append(("fdiso-%s (native output)" % v,
                       lambda b=binary: same_as_native(vmemu, [b]) and None))
        checks.append(("fdiso-%s scan (nothing of vmemu's)" % v, lambda b=binary: scan(vmemu, b)))
    busybox = shutil.which("busybox")
    if os.path.exists(o.bash) and busybox:
        script = "BB=%s\n%s" % (busybox, BASH_SCRIPT)
        checks.append(("bash-static process substitution and /dev/fd",
                       lambda: same_as_native(vmemu, [o.bash, "-c", script]) and None))
        checks.append(("ps and /proc in the guest list the guest's processes",
                       lambda: guest_ps(vmemu, o.bash, busybox)))
    else:
        print("SKIP bash-static: %s or busybox not installed (run .ci/setup)" % o.bash)
    return finish_checks(checks, "no fdiso sample built in %s" % o.samples)


if __name__ == "__main__":
    sys.exit(main())
