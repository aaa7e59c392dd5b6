#!/usr/bin/env python3
"""The layer check: every #include points down the layers, and modules include no cycle.

Usage: layercheck.py [--root DIR] [--graph]

vmemu's layers, lowest first (ARCHITECTURE.md, src/*/README.md):
    lib < mm < cpu < loader < proc < syscalls < debug < report < kernel < tools
A source file's layer is its folder (src/<layer>/, loader/, syscalls/; src/main.c is tools).
A public header include/vmemu/NAME.h belongs to the layer of the folder that holds NAME.c
(or NAME_*.c), or to the layer HEADER_LAYERS names for headers with no such file;
include/vmemu/abi/ is the guest ABI, part of lib. A private header belongs to its folder.

It fails when
  - a file includes a header of a higher layer ("upward include"),
  - a header's layer cannot be told (a new header with no .c file: add it to HEADER_LAYERS),
  - the include graph between modules has a cycle (a module is NAME.c, NAME.h and
    NAME_*.c of one folder: fault.c including mm.h while mm.c includes fault.h is a cycle).
System headers (<...>) are not looked at. Prints every problem and "layer check: N files,
M problems"; exits 1 when there is a problem. --graph prints the module graph.
Python 3 standard library only.
"""
import argparse
import os
import re
import sys

LAYERS = ["lib", "mm", "cpu", "loader", "proc", "syscalls", "debug", "report", "kernel",
          "tools"]
FOLDERS = {"loader": "loader", "syscalls": "syscalls"}  # top-level folders that are layers
HEADER_LAYERS = {  # public headers whose layer no .c file names
    "types.h": "lib",
    "loader.h": "loader",
    "syscall.h": "syscalls",
    "vmsys.h": "mm",
    "debug_hooks.h": "proc",
    "mm_types.h": "mm",
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def source_files(root):
    """Every .c and .h of the layers and of include/, as paths relative to root."""
    out = []
    for top in ("src", "loader", "syscalls", "include"):
        for d, _, files in os.walk(os.path.join(root, top)):
            out += [os.path.relpath(os.path.join(d, f), root) for f in files
                    if f.endswith((".c", ".h"))]
    return sorted(out)


def folder_layer(rel):
    """The layer of a file under src/, loader/ or syscalls/, or None."""
    parts = rel.split(os.sep)
    if parts[0] in FOLDERS:
        return FOLDERS[parts[0]]
    if parts[0] == "src":
        if len(parts) == 2:
            return "tools"  # src/main.c
        if parts[1] in LAYERS:
            return parts[1]
    return None


def stem(name):
    return os.path.splitext(os.path.basename(name))[0]


class Tree:
    def __init__(self, root):
        self.root = root
        self.files = source_files(root)
        self.problems = []
        # module stems of the .c files of each layer
        self.c_layer = {}
        for f in self.files:
            layer = folder_layer(f)
            if f.endswith(".c") and layer:
                self.c_layer.setdefault(stem(f), layer)
        self.header_stems = {}
        for f in self.files:
            if f.endswith(".h"):
                s = stem(f)
                self.header_stems[s[:-4] if s.endswith("_int") else s] = self.layer_of(f)

    def header_layer(self, rel):
        """Layer of a public header include/vmemu/..., or None when it cannot be told."""
        name = rel[len(os.path.join("include", "vmemu")) + 1:]
        if name.startswith("abi" + os.sep):
            return "lib"
        if name in HEADER_LAYERS:
            return HEADER_LAYERS[name]
        s = stem(name)
        if s in self.c_layer:
            return self.c_layer[s]
        prefixed = {self.c_layer[c] for c in self.c_layer if c.startswith(s + "_")}
        return prefixed.pop() if len(prefixed) == 1 else None

    def layer_of(self, rel):
        if rel.startswith("include" + os.sep):
            return self.header_layer(rel)
        return folder_layer(rel)

    def module_of(self, rel):
        """(layer, module) of a file. A module is a header's name: NAME.h, NAME_int.h and
        NAME.c are NAME, and so is NAME_PART.c when no header NAME_PART.h exists."""
        layer = self.layer_of(rel)
        s = stem(rel)
        s = s[:-4] if s.endswith("_int") else s
        if s in self.header_stems:
            return (layer, s)
        parts = s.split("_")
        for k in range(len(parts) - 1, 0, -1):
            p = "_".join(parts[:k])
            if self.header_stems.get(p) == layer:
                return (layer, p)
        return (layer, s)

    def resolve(self, rel, inc):
        """The file an #include "inc" in rel names, relative to root, or None."""
        for cand in (os.path.join(os.path.dirname(rel), inc), os.path.join("include", inc)):
            norm = os.path.normpath(cand)
            if os.path.exists(os.path.join(self.root, norm)):
                return norm
        return None

    def check(self):
        edges = {}
        for rel in self.files:
            layer = self.layer_of(rel)
            if layer is None:
                self.problems.append("%s: cannot tell its layer (name it in HEADER_LAYERS of "
                                     "tests/layercheck.py)" % rel)
                continue
            with open(os.path.join(self.root, rel), errors="replace") as f:
                text = f.read()
            src = self.module_of(rel)
            for m in INCLUDE.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                target = self.resolve(rel, m.group(1))
                if target is None:
                    continue  # a generated or test-only header: nothing to check
                tlayer = self.layer_of(target)
                if tlayer is None:
                    continue  # reported on its own
                if LAYERS.index(tlayer) > LAYERS.index(layer):
                    self.problems.append("%s:%d: upward include: %s (%s) includes %s (%s)"
                                         % (rel, line, rel, layer, target, tlayer))
                dst = self.module_of(target)
                if dst != src:
                    edges.setdefault(src, {}).setdefault(dst, "%s:%d" % (rel, line))
        self.edges = edges
        for scc in strongly_connected(edges):
            if len(scc) > 1:
                members = sorted(scc)
                why = ["%s -> %s (%s)" % ("/".join(a), "/".join(b), edges[a][b])
                       for a in members for b in members if b in edges.get(a, {})]
                self.problems.append("include cycle between modules %s: %s"
                                     % (", ".join("/".join(m) for m in members),
                                        "; ".join(why)))
        return self.problems


def strongly_connected(edges):
    """Tarjan's algorithm over {node: {node: ...}}; returns a list of sets."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    nodes = set(edges) | {b for a in edges for b in edges[a]}

    def visit(v):
        work = [(v, iter(sorted(edges.get(v, {}))))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        while work:
            node, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, {})))))
                    advanced = True
                    break
                if w in on:
                    low[node] = min(low[node], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = set()
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.add(w)
                    if w == node:
                        break
                out.append(comp)

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                   ".."))
    ap.add_argument("--graph", action="store_true", help="print the module graph")
    a = ap.parse_args()
    tree = Tree(os.path.abspath(a.root))
    problems = tree.check()
    if a.graph:
        for src in sorted(tree.edges):
            print("%s -> %s" % ("/".join(src),
                                ", ".join("/".join(d) for d in sorted(tree.edges[src]))))
    for p in problems:
        print(p)
    print("layer check: %d files, %d problems" % (len(tree.files), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
