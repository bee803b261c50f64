#!/usr/bin/env python3
"""Which folder of the project includes which: the dependency picture of the C++ code, from its #include lines.

    python3 tests/tools/include_graph.py [--files [PREFIX]] [ROOT]

Reads every .h/.cpp under core/, ui/ and app/ (tests are left out: they may include anything), resolves each
quoted #include to a project file (a path relative to the including file's folder, then to any include folder:
core/include, core/src, core/lab/..., ui/, app/...), and prints one line per pair of folders:
`from -> to  (n includes)`. With --files it also prints the file-level edges (only those between files under
PREFIX, e.g. `--files core/`, when one is given). System and library headers
(<...>) are ignored. Exit status 0; unresolved project-looking includes are listed at the end.
"""
import argparse
import collections
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
SOURCE_DIRS = ("core", "ui", "app")


def project_files(root):
    out = []
    for top in SOURCE_DIRS:
        for dirpath, _dirs, files in os.walk(os.path.join(root, top)):
            for f in files:
                if f.endswith((".h", ".hpp", ".cpp")):
                    out.append(os.path.relpath(os.path.join(dirpath, f), root))
    return sorted(out)


def include_roots(files):
    # Every folder that holds an `include/` tree or is a source root acts as an include folder, as CMake sets them.
    roots = {"core/src", "ui", "app"}
    for f in files:
        parts = f.split("/")
        if "include" in parts:
            roots.add("/".join(parts[: parts.index("include") + 1]))
        if "src" in parts:
            roots.add("/".join(parts[: parts.index("src") + 1]))
    return sorted(roots)


def resolve(inc, including, fileset, roots):
    candidates = [os.path.normpath(os.path.join(os.path.dirname(including), inc))]
    candidates += [os.path.normpath(os.path.join(r, inc)) for r in roots]
    for c in candidates:
        if c in fileset:
            return c
    return None


def folder(path):
    return os.path.dirname(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", nargs="?", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    ap.add_argument("--files", nargs="?", const="", default=None, metavar="PREFIX",
                    help="also print file-level edges (between files under PREFIX when given)")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    files = project_files(root)
    fileset = set(files)
    roots = include_roots(files)
    edges = collections.Counter()
    file_edges = []
    unresolved = []
    for f in files:
        with open(os.path.join(root, f), encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        for inc in INCLUDE.findall(text):
            target = resolve(inc, f, fileset, roots)
            if target is None:
                if not inc.endswith((".moc",)) and not inc.startswith("ui_"):
                    unresolved.append(f"{f}: \"{inc}\"")
                continue
            file_edges.append((f, target))
            a, b = folder(f), folder(target)
            if a != b:
                edges[(a, b)] += 1
    print("folder -> folder it includes (number of #include lines)")
    for (a, b), n in sorted(edges.items()):
        print(f"  {a:28s} -> {b:28s} ({n})")
    if args.files is not None:
        print("\nfile -> file" + (f" (under {args.files})" if args.files else ""))
        for a, b in file_edges:
            if a.startswith(args.files) and b.startswith(args.files):
                print(f"  {a} -> {b}")
    if unresolved:
        print("\nnot resolved to a project file:")
        for u in unresolved:
            print("  " + u)
    return 0


if __name__ == "__main__":
    sys.exit(main())
