#!/usr/bin/env python3
"""Finds import circles between the modules (files) of a Rust crate.

Usage: module-cycles.py CRATE_SRC_DIR [CRATE_SRC_DIR ...]

A module is one source file: `lib.rs` is the crate root, `a.rs` and `a/mod.rs` are `a`,
`a/b.rs` is `a::b`. Module A depends on module B when A's code (outside `#[cfg(test)]`
modules and comments) names a path into B: `use crate::b::X`, `crate::b::f()`,
`super::X`, `self::b::X`, or a bare `b::f()` for a child module B that A declares. A
path to an item that a module only re-exports (`pub use ...`) is followed to the module
that defines it, so a crate root that re-exports its API does not create circles.

Prints every strongly connected group of two or more modules, with the lines that make
each edge, and exits 1 when there is any; exits 0 and prints a one-line summary otherwise.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
PATH_RE = re.compile(rf"\b(crate|super|self)((?:::{IDENT})+)")


def module_name(src: Path, file: Path) -> tuple[str, ...]:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts == ["lib"] or parts == ["main"]:
        return ()
    if parts[-1] == "mod":
        parts = parts[:-1]
    return tuple(parts)


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = []
    for line in text.splitlines():
        # Drop `//` comments (doc comments included), but not `//` inside a string.
        in_str = False
        cut = len(line)
        i = 0
        while i < len(line):
            c = line[i]
            if c == '"' and (i == 0 or line[i - 1] != "\\"):
                in_str = not in_str
            elif not in_str and line.startswith("//", i):
                cut = i
                break
            i += 1
        out.append(line[:cut])
    return "\n".join(out)


def strip_strings(text: str) -> str:
    text = re.sub(r'r#*"(?:.|\n)*?"#*', '""', text)
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', text)


def strip_test_modules(text: str) -> str:
    """Removes `#[cfg(test)]` items (test modules and test-only imports)."""
    out = []
    i = 0
    marker = re.compile(r"#\[cfg\(test\)\]")
    while True:
        m = marker.search(text, i)
        if not m:
            out.append(text[i:])
            break
        out.append(text[i : m.start()])
        j = m.end()
        # The item ends at its `;` or at the brace that closes its body.
        depth = 0
        while j < len(text):
            c = text[j]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    j += 1
                    break
            elif c == ";" and depth == 0:
                j += 1
                break
            j += 1
        i = j
    return "".join(out)


def expand_use(tree: str) -> list[str]:
    """`a::{b, c::{d, e as f}}` -> [`a::b`, `a::c::d`, `a::c::e@f`] (`@` marks an alias)."""
    tree = re.sub(r"\s+as\s+", "@", tree)
    tree = re.sub(r"\s+", "", tree)
    brace = tree.find("{")
    if brace < 0:
        return [tree]
    prefix = tree[:brace]
    inner = tree[brace + 1 : tree.rfind("}")]
    parts, depth, start = [], 0, 0
    for k, c in enumerate(inner):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(inner[start:k])
            start = k + 1
    parts.append(inner[start:])
    result = []
    for part in parts:
        if part:
            result.extend(prefix + p for p in expand_use(part))
    return result


class Crate:
    def __init__(self, src: Path):
        self.src = src
        self.code: dict[tuple[str, ...], str] = {}
        self.files: dict[tuple[str, ...], Path] = {}
        for file in sorted(src.rglob("*.rs")):
            name = module_name(src, file)
            if file.parent == src and file.name == "main.rs" and (src / "lib.rs").exists():
                continue
            if file.relative_to(src).parts[0] == "bin":
                continue
            text = strip_test_modules(strip_strings(strip_comments(file.read_text())))
            self.code[name] = text
            self.files[name] = file
        # Re-exports: module -> {name: absolute path it stands for}.
        self.reexports: dict[tuple[str, ...], dict[str, tuple[str, ...]]] = {}
        for name, text in self.code.items():
            table = {}
            for m in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", text):
                for path in expand_use(m.group(1)):
                    path, _, alias = path.partition("@")
                    absolute = self.absolute(name, path.split("::"))
                    if absolute is None:
                        continue
                    key = alias or absolute[-1]
                    if key == "self":
                        key = absolute[-2] if len(absolute) > 1 else key
                        absolute = absolute[:-1]
                    if key != "*":
                        table[key] = absolute
            self.reexports[name] = table

    def absolute(self, here: tuple[str, ...], segments: list[str]) -> tuple[str, ...] | None:
        """An absolute path (from the crate root) for a path written in module `here`."""
        if not segments:
            return None
        head, rest = segments[0], segments[1:]
        if head == "crate":
            return tuple(rest)
        if head == "self":
            return here + tuple(rest)
        if head == "super":
            base = here[:-1]
            while rest and rest[0] == "super":
                base = base[:-1]
                rest = rest[1:]
            return base + tuple(rest)
        # A path through a child module declared here.
        if here + (head,) in self.code:
            return here + tuple(segments)
        return None

    def owner(self, path: tuple[str, ...], seen: int = 0) -> tuple[str, ...]:
        """The module that defines what `path` names."""
        module: tuple[str, ...] = ()
        for k in range(len(path)):
            if path[: k + 1] in self.code:
                module = path[: k + 1]
            else:
                break
        rest = path[len(module) :]
        if rest and seen < 16:
            target = self.reexports.get(module, {}).get(rest[0])
            if target is not None and target != module + rest[:1]:
                return self.owner(target + rest[1:], seen + 1)
        return module

    def edges(self) -> dict[tuple[str, ...], dict[tuple[str, ...], list[str]]]:
        graph: dict[tuple[str, ...], dict[tuple[str, ...], list[str]]] = {n: {} for n in self.code}
        for name, text in self.code.items():
            paths: list[tuple[str, list[str]]] = []
            for m in re.finditer(r"\buse\s+([^;]+);", text):
                for path in expand_use(m.group(1)):
                    path = path.partition("@")[0]
                    paths.append((path, path.split("::")))
            for m in PATH_RE.finditer(text):
                path = m.group(1) + m.group(2)
                paths.append((path, path.split("::")))
            # Bare paths through declared child modules: `child::item`.
            for m in re.finditer(rf"(?<![:\w])({IDENT})::({IDENT})", text):
                if name + (m.group(1),) in self.code:
                    path = f"{m.group(1)}::{m.group(2)}"
                    paths.append((path, path.split("::")))
            for shown, segments in paths:
                segments = [s for s in segments if s and s != "*"]
                absolute = self.absolute(name, segments)
                if absolute is None:
                    continue
                target = self.owner(absolute)
                if target != name:
                    graph[name].setdefault(target, [])
                    if shown not in graph[name][target]:
                        graph[name][target].append(shown)
        return graph


def cycles(graph):
    """Tarjan's strongly connected components of two or more nodes."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def show(module: tuple[str, ...]) -> str:
    return "crate" if not module else "::".join(module)


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    failed = False
    for arg in sys.argv[1:]:
        crate = Crate(Path(arg))
        graph = crate.edges()
        found = cycles(graph)
        if not found:
            print(f"{arg}: {len(graph)} modules, no import circles")
            continue
        failed = True
        for group in found:
            print(f"{arg}: import circle between {', '.join(show(m) for m in group)}")
            members = set(group)
            for a in group:
                for b, lines in sorted(graph[a].items()):
                    if b in members:
                        print(f"  {show(a)} -> {show(b)}: {', '.join(lines[:4])}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
