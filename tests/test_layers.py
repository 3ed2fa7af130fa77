"""The layers the README draws hold: no import runs up the drawing, and none closes a cycle.

Every import is read from the source, those inside functions included (a
lazy import that closes a cycle is still a cycle; it only fails later).
Layers, bottom to top, as in the README's architecture section:

    base     git_ot (the version), git_ot.errors
    store    git_ot.store.*
    domain   git_ot.domain.*
    capture  git_ot.capture.*
    command  git_ot.cli.*, git_ot.demo.*
    entry    git_ot.__main__

A module may import from its own layer and any layer below it. Inside the
domain, the trail (which reads what sealing stored) never imports the
security gate (which runs at seal and at egress): SEPARATE lists such pairs.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "git_ot"

LAYERS = (
    ("base", ("git_ot", "git_ot.errors")),
    ("store", ("git_ot.store",)),
    ("domain", ("git_ot.domain",)),
    ("capture", ("git_ot.capture",)),
    ("command", ("git_ot.cli", "git_ot.demo")),
    ("entry", ("git_ot.__main__",)),
)

# Parts of one layer that must not import each other: (importer, imported) prefixes.
SEPARATE = (
    ("git_ot.domain.trail", "git_ot.domain.gate"),
)


def layer_of(module: str) -> int:
    """The index of the module's layer in LAYERS (the longest prefix wins)."""
    best, best_len = None, -1
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            exact_only = prefix == "git_ot"  # the root package: only the module itself
            hit = module == prefix or (not exact_only and module.startswith(prefix + "."))
            if hit and len(prefix) > best_len:
                best, best_len = rank, len(prefix)
    if best is None:
        raise AssertionError(f"module {module} is in no layer: add it to LAYERS and the README")
    return best


def modules(root: Path) -> dict[str, Path]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports(root: Path) -> dict[str, set[str]]:
    """module -> the git_ot modules it imports, anywhere in its source."""
    mods = modules(root)
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base_name = ".".join(base + ([node.module] if node.module else []))
                else:
                    base_name = node.module or ""
                # `from pkg import sub` imports the submodule; `from mod import name`, the module
                targets = [f"{base_name}.{a.name}" if f"{base_name}.{a.name}" in mods else base_name
                           for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in mods and "." in target:
                    target = target.rpartition(".")[0]
                if target in mods and target != mod:
                    edges[mod].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def problems(root: Path = PACKAGE) -> list[str]:
    edges = imports(root)
    out = []
    for mod in sorted(edges):
        for target in sorted(edges[mod]):
            if layer_of(target) > layer_of(mod):
                out.append(f"upward import: {mod} ({LAYERS[layer_of(mod)][0]}) imports "
                           f"{target} ({LAYERS[layer_of(target)][0]})")
    for mod in sorted(edges):
        for target in sorted(edges[mod]):
            for importer, imported in SEPARATE:
                if mod.startswith(importer) and target.startswith(imported):
                    out.append(f"separate parts: {mod} imports {target}")
    for component in cycles(edges):
        out.append("import cycle: " + " <-> ".join(component))
    return out


def test_no_import_runs_up_the_layers_or_closes_a_cycle():
    assert problems() == []


def test_the_readme_drawing_names_every_module():
    """The README's architecture drawing names every module of every layer,
    so a module added or renamed shows up there too."""
    import re

    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    drawing = re.search(r"## Architecture\n.*?```\n(.*?)```", readme, re.S).group(1)
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", drawing.replace("<name>_cmd", "")))
    missing = []
    for mod, path in modules(PACKAGE).items():
        parts = mod.split(".")
        if len(parts) < 3 or path.name == "__init__.py" and len(parts) < 3:
            continue  # the layers' own packages and the top-level modules
        name = parts[-1]
        if name.endswith("_cmd") or parts[1] == "demo":
            continue  # drawn as <name>_cmd and demo/
        if name not in words:
            missing.append(mod)
    assert missing == []


def test_the_check_catches_an_upward_import_and_a_cycle(tmp_path):
    """The check itself can fail: a copy of the package with an upward import
    inside a function, and two store modules importing each other."""
    copy = tmp_path / "git_ot"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))

    def append(rel: str, text: str) -> None:
        path = copy / rel
        path.write_text(path.read_text() + text)

    append("store/refs.py", "\n\ndef _late():\n    from ..cli import output  # noqa\n")
    append("domain/trail/lines.py", "\nfrom ..gate import policy  # noqa\n")
    append("store/times.py", "\nfrom . import files  # noqa\n")
    append("store/files.py", "\nfrom . import times  # noqa\n")
    assert problems(copy) == [
        "upward import: git_ot.store.refs (store) imports git_ot.cli.output (command)",
        "separate parts: git_ot.domain.trail.lines imports git_ot.domain.gate.policy",
        "import cycle: git_ot.store.files <-> git_ot.store.times",
    ]
