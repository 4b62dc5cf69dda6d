"""The floors stay true: every import runs downward, and no module imports itself round a circle.

core < storage < payments < flows < bot < sim. A package may import its own floor and the ones
below it, never one above. Every import counts: top-level, inside a function, and under
`TYPE_CHECKING` alike (a type-only import upward still makes the lower floor unreadable alone).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOORS = ["core", "storage", "payments", "flows", "bot", "sim"]


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str = "") -> list[tuple[int, str]]:
    """(line, module) of every project import in a file, relative imports resolved."""
    tree = ast.parse(path.read_text(), str(path))
    here = (module or _module(path)).split(".")
    if path.name != "__init__.py":
        here = here[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*here[: len(here) - node.level + 1], base]).strip(".")
            found.append((node.lineno, base))
            # `from pkg import module` imports that module too
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name.split(".")[0] in FLOORS]


def _sources() -> list[Path]:
    return sorted(p for floor in FLOORS for p in (ROOT / floor).rglob("*.py"))


def _graph() -> dict[str, set[str]]:
    modules = {_module(p) for p in _sources()}
    graph: dict[str, set[str]] = {}
    for path in _sources():
        targets = {name for _, name in _imports(path) if name in modules}
        graph[_module(path)] = targets - {_module(path)}
    return graph


def test_every_import_runs_downward() -> None:
    upward = []
    for path in _sources():
        floor = FLOORS.index(path.relative_to(ROOT).parts[0])
        for line, name in _imports(path):
            target = FLOORS.index(name.split(".")[0])
            if target > floor:
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert upward == [], "imports that run up a floor:\n" + "\n".join(upward)


def test_no_module_imports_itself_round_a_circle() -> None:
    graph = _graph()
    # A package's __init__ that re-exports its modules is not a circle with them.
    for name, targets in graph.items():
        graph[name] = {t for t in targets if not name.startswith(f"{t}.")}
    state: dict[str, int] = {}
    circles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                circles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert circles == [], "import circles:\n" + "\n".join(" -> ".join(c) for c in circles)


def test_the_ground_floor_imports_nothing_of_the_project_but_itself() -> None:
    outside = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in (ROOT / "core").rglob("*.py")
        for line, name in _imports(path)
        if not name.startswith("core")
    ]
    assert outside == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from bot.engine import Engine\n", ["bot.engine", "bot.engine.Engine"]),
        ("import sim.cli\n", ["sim.cli"]),
        ("def f():\n    from flows import pay\n", ["flows", "flows.pay"]),
        ("import json\n", []),
    ],
)
def test_the_walk_sees_every_kind_of_import(
    tmp_path: Path, source: str, expected: list[str]
) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(source)
    assert [name for _, name in _imports(probe, "sim.probe")] == expected
