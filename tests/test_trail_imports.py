"""The trail's modules import each other without a cycle, counting imports
inside functions, and the trail does not depend on the security gate."""

from __future__ import annotations

import ast
from pathlib import Path

import git_ot.domain.trail as trail

TRAIL = Path(trail.__file__).parent
PACKAGE = "git_ot.domain.trail"


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, anywhere in it, as absolute names."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = PACKAGE.split(".")[: len(PACKAGE.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            out.add(module)
            out.update(f"{module}.{a.name}" for a in node.names)
    return out


def _graph() -> dict[str, set[str]]:
    modules = {f"{PACKAGE}.{p.stem}": p for p in TRAIL.glob("*.py") if p.stem != "__init__"}
    return {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}


def test_no_module_of_the_trail_imports_another_in_a_cycle():
    graph = _graph()
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(name):] + [name]))
        if name in done:
            return
        for dep in sorted(graph[name]):
            visit(dep, path + [name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_the_trail_does_not_import_the_gate():
    for path in TRAIL.glob("*.py"):
        assert not any(m.startswith("git_ot.domain.gate") for m in _imports(path)), path.name
