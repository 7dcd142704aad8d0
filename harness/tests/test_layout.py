"""The import graph of ``harness/``: imports run with the data flow (data -> models -> evaluation -> report; the
pipeline, the CLI and history on top) and no module reaches itself through its imports. Imports inside functions
count: a lazy import is still a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from harness.paths import PROJECT_ROOT

pytestmark = pytest.mark.unit

HARNESS = PROJECT_ROOT / "harness"
#: room -> rooms it may import from (besides itself and the top-level helpers: paths, lookup, progress, __init__)
BELOW = {"data": set(), "models": {"data"}, "evaluation": {"data", "models"}, "report": {"data", "models", "evaluation"}}


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in HARNESS.rglob("*.py") if "tests" not in p.parts}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            found |= {t for t in targets if t in modules and t != name}
        edges[name] = found
    return edges


def room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in BELOW else None


def test_no_import_runs_against_the_flow():
    backwards = [f"{a} -> {b}" for a, targets in graph().items() for b in targets
                 if room(a) and room(b) and room(b) != room(a) and room(b) not in BELOW[room(a)]]
    assert not backwards, f"imports against the flow (data -> models -> evaluation -> report): {backwards}"


#: Issue #22's history package sits on top (it reads runs); its circles are checked apart, below.
ON_TOP = ("harness.history",)


def circles(edges: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    found = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                found.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    return found


def test_no_circle():
    """data, models, evaluation, report, the pipeline and the CLI: no module reaches itself through its imports."""
    edges = {a: {b for b in targets if not b.startswith(ON_TOP)} for a, targets in graph().items() if not a.startswith(ON_TOP)}
    assert not circles(edges), f"import circles: {circles(edges)}"


def test_no_circle_through_history():
    """Issue #22's package too: training asks harness.environment (not history.tracking) whether MLflow is on, and
    history.accept joins baseline (the file) and compare (the statistics), so neither imports the other."""
    edges = graph()
    assert not circles(edges), f"import circles: {circles(edges)}"
