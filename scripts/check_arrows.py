#!/usr/bin/env python3
"""The include arrows of include/fastpp point down only.

Reads every `#include "..."` and `#include <fastpp/...>` line of the headers under a root (default:
include/fastpp of this repository) and fails, naming file and line, when a header includes a folder its
own folder may not include. The table below is the one docs/ARCHITECTURE.md states ("Layers of the
code"); change both together.

  scripts/check_arrows.py [ROOT]      exit 0: every arrow allowed; 1: violations (listed); 2: bad usage

Two more rules:
  * a header outside any folder (include/fastpp/*.hpp) is an umbrella: it may include anything; an include
    of an umbrella counts as an include of every folder the umbrella includes (nn.hpp: nn/; vision.hpp:
    data/ and vision/ and what they need), so models/ may include nn.hpp but vision/ may not include
    vision.hpp;
  * a header under a detail/ folder is internal: only headers of the folder that holds that detail/
    (and its subfolders) may include it;
  * no include cycles, within a folder either (a header that needs the one that includes it is two ideas
    in one place, or one idea in two).
"""
import os
import re
import sys

# folder -> the other folders its headers may include (a folder may always include itself).
ALLOWED = {
    "core": set(),
    "backend": {"core"},
    "nn": {"backend", "core"},
    "loss": {"backend", "core"},
    "models": {"nn", "loss", "io", "backend", "core"},
    "io": {"core"},
    "vision": {"backend", "core"},
    "data": {"vision", "backend", "core", "io"},
    "learner": {"data", "vision", "models", "nn", "loss", "io", "backend", "core"},
    "interpret": {"learner", "data", "vision", "models", "nn", "loss", "io", "backend", "core"},
    "distributed": {"learner", "data", "vision", "models", "nn", "loss", "io", "backend", "core"},
}
UMBRELLA = "(umbrella)"

INCLUDE = re.compile(r'^\s*#\s*include\s*(?:"([^"]+)"|<(fastpp/[^>]+)>)')


def folder_of(rel):
    """The layer of a path relative to the root: its first folder, or UMBRELLA for a top-level file."""
    parts = rel.split("/")
    return UMBRELLA if len(parts) == 1 else parts[0]


def includes(path, root):
    """(line number, spelled, resolved path) of each fastpp include of a file (a "..." include that names
    no file beside it is a header found on the include path, not fastpp's, and is left out)."""
    out = []
    dirpath = os.path.dirname(path)
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            if m.group(1) is not None:
                target = os.path.normpath(os.path.join(dirpath, m.group(1)))
                if not os.path.exists(target) and not target.startswith(root + os.sep):
                    continue
            else:
                target = os.path.join(os.path.dirname(root), m.group(2))
            out.append((lineno, m.group(1) or m.group(2), os.path.realpath(target)))
    return out


def umbrella_folders(target, root, seen=None):
    """The folders an umbrella header includes, through the umbrellas it includes."""
    seen = set() if seen is None else seen
    if target in seen or not os.path.exists(target):
        return set()
    seen.add(target)
    folders = set()
    for _, _, t in includes(target, root):
        if not t.startswith(root + os.sep):
            continue
        f = folder_of(os.path.relpath(t, root).replace(os.sep, "/"))
        folders |= umbrella_folders(t, root, seen) if f == UMBRELLA else {f}
    return folders


def check(root):
    root = os.path.realpath(root)
    problems = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if not name.endswith((".hpp", ".h", ".cuh", ".inl")):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            src = folder_of(rel)
            for lineno, spelled, target in includes(path, root):
                where = f"{os.path.relpath(path)}:{lineno}"
                if not target.startswith(root + os.sep):
                    problems.append(f"{where}: includes {spelled}, which is outside {root}")
                    continue
                trel = os.path.relpath(target, root).replace(os.sep, "/")
                dst = folder_of(trel)
                if src != UMBRELLA:
                    allowed = ALLOWED.get(src)
                    if allowed is None:
                        problems.append(f"{where}: {src}/ is not a layer of the table in scripts/check_arrows.py; "
                                        f"add it there and in docs/ARCHITECTURE.md")
                        continue
                    reached = umbrella_folders(target, root) if dst == UMBRELLA else {dst}
                    wrong = sorted(reached - allowed - {src})
                    if wrong:
                        may = ", ".join(sorted(allowed)) or "nothing outside core/"
                        via = f" through the umbrella {trel}" if dst == UMBRELLA else ""
                        problems.append(f"{where}: {src}/ may not include {', '.join(w + '/' for w in wrong)}"
                                        f" ({spelled}{via}); {src}/ may include: {may}")
                        continue
                # detail/ headers belong to the folder that holds the detail/ folder.
                tparts = trel.split("/")
                if "detail" in tparts[:-1]:
                    owner = "/".join(tparts[: tparts.index("detail")])
                    if not (rel + "/").startswith(owner + "/"):
                        problems.append(f"{where}: {trel} is internal to {owner}/ (it is under detail/); "
                                        f"include {owner or 'fastpp'}'s public header instead")
    problems += cycles(root)
    return problems


def cycles(root):
    """One line per include cycle among the headers under root."""
    graph = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith((".hpp", ".h", ".cuh", ".inl")):
                path = os.path.realpath(os.path.join(dirpath, name))
                graph[path] = [(n, t) for n, _, t in includes(path, root) if t.startswith(root + os.sep)]
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for lineno, t in graph.get(node, []):
            if state.get(t) == "open":
                ring = stack[stack.index(t):]
                names = [os.path.relpath(x, root) for x in ring + [t]]
                found.append(f"{os.path.relpath(node)}:{lineno}: include cycle: {' -> '.join(names)}")
            elif t not in state:
                visit(t)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1].startswith("-")):
        print(__doc__, file=sys.stderr)
        return 2
    root = argv[1] if len(argv) == 2 else os.path.join(os.path.dirname(__file__), "..", "include", "fastpp")
    if not os.path.isdir(root):
        print(f"check_arrows: {root} is not a folder", file=sys.stderr)
        return 2
    problems = check(root)
    for p in problems:
        print(p)
    if problems:
        print(f"check_arrows: {len(problems)} include(s) break the rules above (table: scripts/check_arrows.py, "
              f"docs/ARCHITECTURE.md)")
        return 1
    print(f"check_arrows: every include under {os.path.realpath(root)} points down")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
