#!/usr/bin/env python3
"""The HTML pages (--html, vmemu html, vmemu sweep --html) as a person would look at them:
rendered by a real headless browser (Debian's chromium-headless-shell, which .ci/setup
installs).

Usage: html_e2e.py --vmemu PATH --samples BUILD/samples [--keep DIR]

Checks, each printed as "PASS label" or "FAIL label: reason":
  - fork: `vmemu --report R --html H fork_cow` (a forking sample). The browser's DOM of H
    has the header with the run's exit status, one row per process of R in the process
    table, the faults table's minor and major counts of R per pid, the process tree with a
    node per process and an edge per child (pid and ppid from R), the address space of the
    first process with one box per VMA of R (start, resident, dirty and swapped pages as
    R says), and the timeline: when R has one, one chart pair per process whose series
    have as many points as R has samples of that process (and one series per fault class
    group with faults at its last sample); otherwise the "no timeline" placeholder. The
    screenshot is not blank: enough non-white pixels, and the address-space palette's
    text blue among them;
  - timeline: the same report with a timeline of the agreed shape added (synthetic
    samples: 13 per process), drawn by `vmemu html`: the browser shows the chart pairs
    with the points and series above, the busiest processes open;
  - crash: `vmemu --report R --html H nullderef` (killed by SIGSEGV): the crash section
    names SIGSEGV, the fault address of R and the instruction; exactly one area or gap of
    the address space is outlined, the one holding R's crash address;
  - sweep: `vmemu sweep --mem ... --policy fifo,lru --csv C --html H belady 32`: three
    charts (major faults, run time, all faults) with one series per policy and one point per
    cell of C; the ringed points of the major-fault chart and the marked table cells are
    exactly the Belady's anomalies the CSV shows (a size with more major faults than the
    next smaller one of the same policy and exit status), fifo has at least one;
  - heap profile: `vmemu --profile heap --report R --html H heapprof`: per profiled
    process, the heap chart has as many points as R's heap samples and one ringed peak,
    and the sites table lists R's sites holding the most at the peak (10 at most), in
    R's order, with R's fault counts;
  - relative paths: `vmemu --report r.json --html r.html fdiso scan` run in a folder
    writes both files there, although the guest changed directory (to /proc) before exit;
  - offline: every page names no URL ("http", "//") and loads with the network off (a
    proxy pointed at a local port that must see no connection).
The last line is "N passed, M failed"; the exit status is 1 when a check failed.
Python 3 standard library only (the screenshots are decoded with zlib).
"""

import csv
import html.parser
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import zlib

import harness
from harness import Failure, execute, tail

BROWSER_FLAGS = ["--no-sandbox", "--disable-gpu", "--in-process-gpu",
                 "--disable-software-rasterizer", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--hide-scrollbars"]
SWEEP_MEMS = "512K,544K,576K,640K,768K"
# The fault classes the timeline stacks (src/report/html_timeline.c): series id -> classes.
GROUPS = [("zero_page", ["zero_page"]), ("anon", ["anon", "thp", "hugetlb"]),
          ("page_cache", ["file_minor", "shared_write"]), ("cow", ["cow", "cow_reuse"]),
          ("swap_cache", ["swap_cache"]), ("other", None), ("file_major", ["file_major"]),
          ("swap_in", ["swap_in"])]
MINOR_GROUPS = ["zero_page", "anon", "page_cache", "cow", "swap_cache"]


def browser():
    """The headless browser's path; raises Failure when it is not installed."""
    for path in ("/usr/bin/chromium-headless-shell", shutil.which("chromium-headless-shell")):
        if path and os.path.exists(path):
            return path
    raise Failure("chromium-headless-shell is not installed (.ci/setup installs it)")


def run_browser(url, extra, timeout=90):
    """Runs the browser on url with extra flags and a fresh profile; returns its stdout."""
    profile = tempfile.mkdtemp(prefix="html_e2e_profile_")
    try:
        p = subprocess.run([browser()] + BROWSER_FLAGS + ["--user-data-dir=" + profile] +
                           extra + [url], stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failure("the browser did not finish %s in %d s" % (url, timeout))
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if p.returncode != 0:
        raise Failure("the browser failed (%d): %s" % (p.returncode,
                                                       tail(p.stderr.decode(errors="replace"))))
    return p.stdout.decode(errors="replace")


class Element:
    """A DOM element as the browser dumped it: tag, attributes, text and children."""

    def __init__(self, tag, attrs, parent):
        self.tag = tag
        self.attrs = dict(attrs)
        self.parent = parent
        self.children = []
        self.text = ""

    def cls(self):
        return self.attrs.get("class", "").split()

    def walk(self):
        yield self
        for c in self.children:
            yield from c.walk()

    def find(self, pred):
        return [e for e in self.walk() if pred(e)]

    def all_text(self):
        return self.text + "".join(c.all_text() for c in self.children)


class Dom(html.parser.HTMLParser):
    """Parses the browser's --dump-dom output into Elements."""
    VOID = {"meta", "br", "img", "input", "link", "hr", "rect", "line", "circle", "path",
            "polyline", "polygon"}

    def __init__(self, text):
        super().__init__()
        self.root = Element("#root", [], None)
        self.cur = self.root
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        e = Element(tag, attrs, self.cur)
        self.cur.children.append(e)
        if tag not in self.VOID:
            self.cur = e

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Element(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        e = self.cur
        while e is not self.root and e.tag != tag:
            e = e.parent
        if e is not self.root:
            self.cur = e.parent

    def handle_data(self, data):
        self.cur.text += data

    def by_id(self, ident):
        found = self.root.find(lambda e: e.attrs.get("id") == ident)
        if not found:
            raise Failure("no element #%s in the page" % ident)
        return found[0]


def load_dom(path):
    """The page at path as the browser builds it."""
    return Dom(run_browser("file://" + path, ["--dump-dom"]))


def png_pixels(path):
    """(width, height, rows of RGB(A) bytes) of an 8-bit RGB or RGBA PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise Failure("%s is not a PNG" % path)
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
            if depth != 8 or ctype not in (2, 6):
                raise Failure("unexpected PNG format (depth %d, colour type %d)" % (depth, ctype))
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 255
        rows.append(line)
        prev = line
    return width, height, bpp, rows


def check_screenshot(page, png, height=1600, colours=("#0072B2",)):
    """Screenshots page into png and checks it is not blank: at least 3% of the pixels are
    not white, and each colour of colours (an area's or a line's fill) is among them."""
    run_browser("file://" + page, ["--window-size=1280,%d" % height, "--screenshot=" + png])
    width, h, bpp, rows = png_pixels(png)
    inked, seen = 0, set()
    for line in rows:
        for x in range(0, width * bpp, bpp * 2):  # every other pixel is plenty
            px = bytes(line[x:x + 3])
            if px != b"\xff\xff\xff":
                inked += 1
                seen.add(px)
    share = inked / (width * h / 2)
    if share < 0.03:
        raise Failure("the screenshot %s is almost blank (%.1f%% of pixels inked)"
                      % (png, 100 * share))
    for c in colours:
        if bytes.fromhex(c[1:]) not in seen:
            raise Failure("the screenshot %s has no pixel of %s" % (png, c))


def no_url(page):
    """Fails when the page's text names a URL (external fetch) or has a script."""
    text = open(page, encoding="utf-8").read()
    for bad in ("http", "//", "<script", "url("):
        if bad in text:
            i = text.index(bad)
            raise Failure("%s contains %r: ...%s..." % (page, bad, text[max(0, i - 60):i + 60]))


def offline_load(page):
    """Loads page with every request sent to a local proxy port that answers nothing
    (closes each connection); fails when the port was connected to (the page, or the
    browser for it, tried the network)."""
    lsn = socket.socket()
    lsn.bind(("127.0.0.1", 0))
    lsn.listen(8)
    lsn.settimeout(0.2)
    port = lsn.getsockname()[1]
    seen, done = [], threading.Event()

    def serve():
        while not done.is_set():
            try:
                conn, _ = lsn.accept()
            except socket.timeout:
                continue
            seen.append(conn.recv(200))
            conn.close()
    t = threading.Thread(target=serve)
    t.start()
    try:
        dom = Dom(run_browser("file://" + page, ["--dump-dom", "--proxy-server=127.0.0.1:%d"
                                                 % port, "--proxy-bypass-list=<-loopback>"]))
    finally:
        done.set()
        t.join()
        lsn.close()
    if seen:
        raise Failure("loading %s made %d network request(s): %r" % (page, len(seen), seen[0]))
    if not dom.root.find(lambda e: e.tag == "svg"):
        raise Failure("%s loaded offline shows no chart" % page)


def vmemu_run(o, args, what):
    """Runs vmemu with args; returns the Run."""
    r = execute([o.vmemu] + args)
    if r.status < 0:
        raise Failure("%s did not run" % what)
    return r


def group_value(faults, gid, classes):
    """A timeline series' value in a sample's faults (as html_timeline.c stacks them)."""
    if classes is None:
        known = sum(faults.get(c, 0) for g, cl in GROUPS if g in MINOR_GROUPS for c in cl)
        return max(0, faults.get("minor", 0) - known)
    return sum(faults.get(c, 0) for c in classes)


def check_timeline(dom, report):
    """The timeline section against report's "timeline" (or the placeholder)."""
    samples = (report.get("timeline") or {}).get("samples") or []
    if not samples:
        dom.by_id("no-timeline")
        return
    per_pid = {}
    for s in samples:
        per_pid.setdefault(s["pid"], []).append(s)
    details = dom.root.find(lambda e: e.tag == "details" and "data-pid" in e.attrs)
    if sorted(int(d.attrs["data-pid"]) for d in details) != sorted(per_pid):
        raise Failure("timeline charts for pids %s, the report samples %s"
                      % (sorted(d.attrs["data-pid"] for d in details), sorted(per_pid)))
    for pid, ss in per_pid.items():
        last = ss[-1]["faults"]
        want = sorted(g for g, cl in GROUPS if group_value(last, g, cl) > 0)
        chart = dom.by_id("faults-%d" % pid)
        series = chart.find(lambda e: "data-series" in e.attrs)
        got = sorted(e.attrs["data-series"] for e in series)
        if got != want:
            raise Failure("pid %d: fault series %s, expected %s" % (pid, got, want))
        mem = dom.by_id("memory-%d" % pid).find(lambda e: "data-series" in e.attrs)
        if sorted(e.attrs["data-series"] for e in mem) != ["rss", "swap", "vsz"]:
            raise Failure("pid %d: memory series %s" % (pid, [e.attrs for e in mem]))
        for e in series + mem:
            if int(e.attrs["data-points"]) != len(ss):
                raise Failure("pid %d: series %s has %s points, the report %d samples"
                              % (pid, e.attrs["data-series"], e.attrs["data-points"], len(ss)))
        # the polyline really has that many points
        for e in mem:
            if len(e.attrs["points"].split()) != len(ss):
                raise Failure("pid %d: polyline %s draws %d points"
                              % (pid, e.attrs["data-series"], len(e.attrs["points"].split())))
    opened = [d for d in details if "open" in d.attrs]
    if len(opened) != min(4, len(details)):
        raise Failure("%d of %d processes open, expected %d"
                      % (len(opened), len(details), min(4, len(details))))


def check_report_page(dom, report):
    """What every --html page shows of report: status, tables, tree, address space."""
    procs = report["processes"]
    status = dom.by_id("status").all_text()
    want = ("killed by signal %d" % report["signal"]) if report.get("signal") else \
        ("exited with status %d" % report["exit_status"])
    if want not in status:
        raise Failure("header status %r, expected %r" % (status, want))
    rows = dom.by_id("table-procs").find(lambda e: e.tag == "tr")[1:]
    if len(rows) != len(procs):
        raise Failure("process table has %d rows, the report %d processes"
                      % (len(rows), len(procs)))
    for row, p in zip(rows, procs):
        cells = [c.all_text().strip() for c in row.children if c.tag == "td"]
        if cells[0] != str(p["pid"]) or cells[4] != str(p["faults"]["minor"]) or \
                cells[5] != str(p["faults"]["major"]):
            raise Failure("process row %s, report pid %d minor %d major %d"
                          % (cells[:6], p["pid"], p["faults"]["minor"], p["faults"]["major"]))
    tree = dom.root.find(lambda e: e.tag == "svg" and "tree" in e.cls())[0]
    nodes = tree.find(lambda e: "node" in e.cls())
    edges = tree.find(lambda e: "edge" in e.cls())
    pids = {p["pid"] for p in procs}
    want_edges = sorted((p["ppid"], p["pid"]) for p in procs if p["ppid"] in pids)
    got_edges = sorted((int(e.attrs["data-parent"]), int(e.attrs["data-child"])) for e in edges)
    if sorted(int(n.attrs["data-pid"]) for n in nodes) != sorted(pids) or got_edges != want_edges:
        raise Failure("tree nodes/edges %s, report %s" % (got_edges, want_edges))
    for p in procs:
        if not p["vmas"]:
            continue
        boxes = dom.by_id("maps-%d" % p["pid"]).find(lambda e: "vma" in e.cls())
        got = [(int(b.attrs["data-start"], 16), int(b.attrs["data-resident"]),
                int(b.attrs["data-dirty"]), int(b.attrs["data-swapped"])) for b in boxes]
        want = [(int(v["start"], 16), v["resident"], v["dirty"], v["swapped"])
                for v in p["vmas"]]
        if got != want:
            raise Failure("pid %d address space %s, report %s" % (p["pid"], got[:4], want[:4]))
    check_timeline(dom, report)


def run_report(o, tmp, name, sample, args=()):
    """Runs sample with --report and --html; returns (html path, report dict, Run)."""
    page, rep = os.path.join(tmp, name + ".html"), os.path.join(tmp, name + ".json")
    r = vmemu_run(o, ["--report", rep, "--html", page] + list(args) + [sample], name)
    if not os.path.exists(page) or not os.path.exists(rep):
        raise Failure("%s: no page or no report (status %d): %s" % (name, r.status, tail(r.err)))
    return page, json.load(open(rep)), r


def check_fork(o, tmp):
    page, report, r = run_report(o, tmp, "fork", o.fork)
    if r.status != 0 or len(report["processes"]) < 2:
        raise Failure("fork_cow: status %d, %d processes" % (r.status, len(report["processes"])))
    no_url(page)
    dom = load_dom(page)
    check_report_page(dom, report)
    table = dom.by_id("table-faults")
    heads = [c.all_text() for c in table.find(lambda e: e.tag == "th")]
    for i, p in enumerate(report["processes"][:8]):
        if "pid %d" % p["pid"] not in heads:
            raise Failure("faults table has no column for pid %d" % p["pid"])
    check_screenshot(page, os.path.join(tmp, "fork.png"))


def synthetic_timeline(report, n=13):
    """report with a timeline of the agreed shape: n samples per process, counters rising
    linearly to their values at exit, processes one after another on the fault clock."""
    samples, seq = [], 0
    for p in report["processes"]:
        for i in range(n):
            t = i / (n - 1)
            samples.append({
                "seq": seq + 10 * i, "syscalls": i, "wall_ms": 0.1 * i, "pid": p["pid"],
                "event": "start" if i == 0 else "exit" if i == n - 1 else "tick",
                "faults": {c: int(v * t) for c, v in p["faults"].items()},
                "rss_pages": int(p["peak_rss_pages"] * t), "vm_pages": p["peak_vm_pages"],
                "swap_pages": 0, "swap_in": 0, "swap_out": 0, "pt_pages": 4, "thp_pages": 0})
        seq += 5 * n
    samples.sort(key=lambda s: (s["seq"], s["pid"]))
    report = dict(report)
    report["timeline"] = {"interval": 10, "clock": "faults", "policy": "synthetic",
                          "samples": samples}
    return report


def check_timeline_page(o, tmp):
    page, report, _ = run_report(o, tmp, "fork-tl", o.fork)
    if report.get("timeline"):
        return  # the fork check already read a real timeline
    report = synthetic_timeline(report)
    rep = os.path.join(tmp, "synthetic.json")
    json.dump(report, open(rep, "w"))
    page = os.path.join(tmp, "synthetic.html")
    r = subprocess.run([o.vmemu, "html", rep, page], capture_output=True, text=True,
                       env=harness.CHILD_ENV, timeout=60)
    if r.returncode != 0:
        raise Failure("vmemu html exited %d: %s" % (r.returncode, tail(r.stderr)))
    no_url(page)
    dom = load_dom(page)
    check_report_page(dom, report)
    check_screenshot(page, os.path.join(tmp, "synthetic.png"), colours=("#0072B2", "#CC79A7"))


def check_crash(o, tmp):
    page, report, r = run_report(o, tmp, "crash", o.crash)
    if r.status != 139:
        raise Failure("nullderef exited %d, expected 139" % r.status)
    no_url(page)
    p = report["processes"][0]
    crash = p["crash"]
    dom = load_dom(page)
    check_report_page(dom, report)
    text = dom.by_id("crash-%d" % p["pid"]).all_text()
    for want in ("SIGSEGV", crash["address"], crash["instruction"]):
        if want not in text:
            raise Failure("the crash section does not say %r:\n%s" % (want, tail(text)))
    marked = dom.by_id("maps-%d" % p["pid"]).find(lambda e: "fault" in e.cls())
    if len(marked) != 1:
        raise Failure("%d areas or gaps outlined, expected 1" % len(marked))
    addr = int(crash["address"], 16)
    holder = [v for v in p["vmas"] if int(v["start"], 16) <= addr < int(v["end"], 16)]
    if holder and ("vma" not in marked[0].cls() or
                   int(marked[0].attrs["data-start"], 16) != int(holder[0]["start"], 16)):
        raise Failure("outlined %s, the crash address is in %s" % (marked[0].attrs, holder[0]))
    if not holder and "gap" not in marked[0].cls():
        raise Failure("the crash address is in no area, but an area is outlined")
    check_screenshot(page, os.path.join(tmp, "crash.png"), colours=("#0072B2", "#D55E00"))


def check_sweep(o, tmp):
    page, table = os.path.join(tmp, "sweep.html"), os.path.join(tmp, "sweep.csv")
    r = vmemu_run(o, ["sweep", "-j", "2", "--mem", SWEEP_MEMS, "--policy", "fifo,lru",
                      "--csv", table, "--html", page, o.belady, "32"], "sweep")
    if r.status != 0:
        raise Failure("sweep exited %d: %s" % (r.status, tail(r.err)))
    rows = list(csv.DictReader(open(table)))
    no_url(page)
    dom = load_dom(page)
    for chart in ("sweep-major", "sweep-time", "sweep-total"):
        series = dom.by_id(chart).find(lambda e: "data-series" in e.attrs)
        got = {e.attrs["data-series"]: int(e.attrs["data-points"]) for e in series}
        want = {}
        for row in rows:
            want[row["policy"]] = want.get(row["policy"], 0) + (row["major"] != "")
        if got != want:
            raise Failure("%s: series %s, the CSV has %s" % (chart, got, want))
        for e in series:
            pts = e.find(lambda x: x.tag == "polyline")[0].attrs["points"].split()
            if len(pts) != got[e.attrs["data-series"]]:
                raise Failure("%s: %s draws %d points" % (chart, e.attrs["data-series"], len(pts)))
    anomalies = set()
    for pol in ("fifo", "lru"):
        cells = sorted((int(x["mem_bytes"]), x) for x in rows if x["policy"] == pol)
        for (_, small), (_, big) in zip(cells, cells[1:]):
            if small["exit_status"] == big["exit_status"] and int(big["major"]) > int(small["major"]):
                anomalies.add((pol, int(big["mem_bytes"])))
    if not any(p == "fifo" for p, _ in anomalies):
        raise Failure("no Belady's anomaly for fifo in %s" % table)
    rings = dom.by_id("sweep-major").find(lambda e: "anomaly" in e.cls())
    mems = dict(zip(SWEEP_MEMS.split(","), sorted({int(x["mem_bytes"]) for x in rows})))
    got = {(e.attrs["data-policy"], mems[e.attrs["data-mem"]]) for e in rings}
    if got != anomalies or len(rings) != len(anomalies):
        raise Failure("ringed %s, the CSV's anomalies are %s" % (sorted(got), sorted(anomalies)))
    marked = dom.by_id("sweep-table").find(lambda e: e.tag == "td" and "anomaly" in e.cls())
    if len(marked) != len(anomalies):
        raise Failure("%d table cells marked, %d anomalies" % (len(marked), len(anomalies)))
    check_screenshot(page, os.path.join(tmp, "sweep.png"), height=1000,
                     colours=("#0072B2", "#E69F00", "#D55E00"))


def check_heap(o, tmp):
    """--profile heap's section: per profiled process of R, its heap chart has as many
    points as R's heap samples and a ringed peak, and its sites table lists the sites
    holding the most at the peak (10 at most) with the fault counts R gives them, in R's
    order (most peak bytes first, then most faults)."""
    page, report, r = run_report(o, tmp, "heap", o.heapprof, ["--profile", "heap"])
    if r.status != 0 or not report.get("heap_profile"):
        raise Failure("heapprof: status %d, no heap_profile" % r.status)
    no_url(page)
    dom = load_dom(page)
    for p in report["heap_profile"]:
        chart = dom.by_id("heap-%d" % p["pid"])
        lines = chart.find(lambda e: e.tag == "polyline" and e.attrs.get("data-series") == "heap")
        if len(lines) != 1 or int(lines[0].attrs["data-points"]) != len(p["timeline"]):
            raise Failure("pid %d: heap chart points %s, %d samples in the report" % (
                p["pid"], [x.attrs.get("data-points") for x in lines], len(p["timeline"])))
        if len(chart.find(lambda e: e.tag == "circle" and "peak" in e.cls())) != 1:
            raise Failure("pid %d: no ringed peak" % p["pid"])
        def faults(site):
            return sum(site["faults"].values())
        want = [faults(x) for x in sorted(p["sites"], key=lambda x: (-x["peak_bytes"],
                                                                     -faults(x)))][:10]
        rows = dom.by_id("heap-sites-%d" % p["pid"]).find(
            lambda e: e.tag == "tr" and "site" in e.cls())
        got = [int(row.find(lambda e: e.tag == "td")[4].all_text()) for row in rows]
        if got != want:
            raise Failure("pid %d: sites' faults %s, the report's %s" % (p["pid"], got, want))


def check_relative(o, tmp):
    where = os.path.join(tmp, "relative")
    os.makedirs(where, exist_ok=True)
    p = subprocess.run([o.vmemu, "--report", "r.json", "--html", "r.html", o.fdiso, "scan"],
                       cwd=where, capture_output=True, text=True, env=harness.CHILD_ENV,
                       timeout=harness.TIMEOUT)
    for name in ("r.json", "r.html"):
        if not os.path.exists(os.path.join(where, name)):
            raise Failure("%s was not written in the starting folder (status %d): %s"
                          % (name, p.returncode, tail(p.stderr)))


def check_offline(o, tmp):
    pages = [os.path.join(tmp, n) for n in ("fork.html", "crash.html", "sweep.html")]
    present = [p for p in pages if os.path.exists(p)]
    if not present:
        raise Failure("no page was made by the other checks")
    for p in present:
        no_url(p)
        offline_load(p)


def main():
    def more(ap):
        ap.add_argument("--keep", help="keep the pages and screenshots in this folder")
    o = harness.e2e_options(__doc__, more)
    found = {}
    for name in ("fork_cow", "nullderef", "belady", "fdiso", "heapprof"):
        variants = dict(harness.built_variants(o.samples, name))
        found[name] = variants.get("glibc") or variants.get("musl")
        if name == "belady":  # its anomaly is sized for musl's small libc (sweep_e2e.py)
            found[name] = variants.get("musl")
    o.fork, o.crash, o.belady = found["fork_cow"], found["nullderef"], found["belady"]
    o.fdiso, o.heapprof = found["fdiso"], found["heapprof"]
    if not all(found.values()):
        return harness.finish_checks([], "fork_cow, nullderef, fdiso, heapprof or belady-musl "
                                     "not built in "
                                     + o.samples)
    tmp = o.keep or tempfile.mkdtemp(prefix="html_e2e_")
    os.makedirs(tmp, exist_ok=True)
    checks = [("fork page", lambda: check_fork(o, tmp)),
              ("timeline page", lambda: check_timeline_page(o, tmp)),
              ("crash page", lambda: check_crash(o, tmp)),
              ("sweep page", lambda: check_sweep(o, tmp)),
              ("heap profile", lambda: check_heap(o, tmp)),
              ("relative paths", lambda: check_relative(o, tmp)),
              ("offline", lambda: check_offline(o, tmp))]
    try:
        return harness.finish_checks(checks, "", jobs=1)
    finally:
        if not o.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
