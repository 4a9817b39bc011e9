#!/usr/bin/env python3
"""Lists the pairs of files in src/ that import each other, and fails when there is one.

A file "imports" another when its code (not its comments, not its unit tests) names a path into
the other's module: `use super::x::...`, `crate::a::b::...`, `super::x` in a braced use list.
A module and its parent (`mod.rs` and the files it declares) do not count: Rust's module tree
links them both ways by construction.

    tools/import-loops.py [SRC_DIR]
"""
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


def is_ancestor(a, b):
    return len(a) < len(b) and b[: len(a)] == a


def main():
    default = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    root = os.path.normpath(sys.argv[1] if len(sys.argv) > 1 else default)
    files = {}
    for folder, _, names in os.walk(root):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(folder, name)
                files[module_path(root, path)] = path
    sources = {module: open(path, encoding="utf-8").read() for module, path in files.items()}
    edges = {module: imports(files, module, source) for module, source in sources.items()}
    loops = sorted(
        {
            tuple(sorted((files[a], files[b])))
            for a, targets in edges.items()
            for b in targets
            if a in edges.get(b, ()) and not is_ancestor(a, b) and not is_ancestor(b, a)
        }
    )
    for a, b in loops:
        print(f"import loop: {os.path.relpath(a)} <-> {os.path.relpath(b)}")
    if loops:
        sys.exit(1)
    print(f"import-loops: {len(files)} files, no two import each other")


if __name__ == "__main__":
    main()
