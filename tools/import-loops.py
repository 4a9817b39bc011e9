#!/usr/bin/env python3
"""Lists the pairs of modules that import each other, file or folder, and fails when there is one.

A file "imports" another when its code (not its comments, not its unit tests) names a path into
the other's module: `use super::x::...`, `crate::a::b::...`, `super::x` in a braced use list.
Imports are then counted between siblings, modules with the same parent, whether each is a file
or a folder: everything under `a/` importing anything under `b/` is one edge `a -> b`. Two
siblings with an edge each way are a loop: a folder is a layer, and a layer never imports one
that imports it. A module and its own descendants do not count: Rust's module tree links a
parent (`mod.rs`, `foo.rs` beside `foo/`) and the files it declares both ways by construction.

    tools/import-loops.py [SRC_DIR ...]     (default: src/, crates/*/src/ and python/src/)
"""
import glob
import os
import re
import sys


def module_path(root, path):
    parts = os.path.relpath(path, root)[: -len(".rs")].split(os.sep)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def resolve(modules, current, segments):
    """The deepest module of `modules` that `segments` (a path from `current`) names."""
    base = list(current)
    i = 0
    if segments[0] == "crate":
        base, i = [], 1
    elif segments[0] == "super":
        while i < len(segments) and segments[i] == "super":
            base, i = base[:-1], i + 1
    elif segments[0] == "self":
        i = 1
    else:
        return None
    found, path = None, base
    for segment in segments[i:]:
        path = path + [segment]
        if tuple(path) not in modules:
            break
        found = tuple(path)
    return found


def imports(modules, current, source):
    code = source.split("#[cfg(test)]\nmod tests")[0]
    code = re.sub(r"//[^\n]*", "", code)
    found = set()
    for match in re.finditer(r"\b((?:crate|super|self)(?:::(?:super|[a-z_0-9]+))+)", code):
        found.add(resolve(modules, current, match.group(1).split("::")))
    for match in re.finditer(r"use (crate|super(?:::super)*)::\{([^}]*)\}", code):
        for name in re.findall(r"\b([a-z_0-9]+)\b", match.group(2)):
            found.add(resolve(modules, current, match.group(1).split("::") + [name]))
    found.discard(None)
    found.discard(current)
    return found


def sibling_edge(a, b):
    """The siblings (children of one parent) that hold `a` and `b`, or None when one of the two
    holds the other."""
    k = 0
    while k < min(len(a), len(b)) and a[k] == b[k]:
        k += 1
    if k == len(a) or k == len(b):
        return None
    return a[: k + 1], b[: k + 1]


def loops_in(root):
    """(the number of files, {(sibling, sibling): [an import each way]}) for the crate at root."""
    files = {}
    for folder, _, names in os.walk(root):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(folder, name)
                files[module_path(root, path)] = path
    edges = {}
    for module, path in files.items():
        with open(path, encoding="utf-8") as source:
            for target in imports(files, module, source.read()):
                pair = sibling_edge(module, target)
                if pair:
                    edges.setdefault(pair, (module, target))
    found = {}
    for (a, b), example in edges.items():
        back = edges.get((b, a))
        if back and a < b:
            found[(a, b)] = (example, back)
    return len(files), found


def main():
    top = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    roots = sys.argv[1:] or (
        [os.path.join(top, "src")]
        + sorted(glob.glob(os.path.join(top, "crates", "*", "src")))
        + [os.path.join(top, "python", "src")]
    )
    failed = False
    for root in roots:
        count, found = loops_in(root)
        name = os.path.relpath(root, top)
        for (a, b), (there, back) in sorted(found.items()):
            failed = True
            print(
                f"import loop in {name}: {'/'.join(a)} <-> {'/'.join(b)} "
                f"({'::'.join(there[0])} uses {'::'.join(there[1])}; "
                f"{'::'.join(back[0])} uses {'::'.join(back[1])})"
            )
        if not found:
            print(f"import-loops: {name}: {count} files, no two files or folders import each other")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
