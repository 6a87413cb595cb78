"""The import graph of ``tunekit/``: no cycle between modules, and every import goes down the layers.

The layers, top to bottom (a module may import its own unit and any unit with a lower rank;
units of the same rank are independent of each other)::

    tunekit (curated API, lazy)
    cli
    lessons
    report
    study
    tracking
    execution
    _spec
    factory | data | strategies | health | hyper
    storage (the study database: connection, URLs, retries through outages, SQLite files)
    space
    _output | _units
    _confirm
    _records
    _errors | _version | _seeds | _quiet_tf

The graph is read with ``ast`` from the source (no import runs), including imports inside
functions and under ``TYPE_CHECKING``, relative imports, and ``from pkg import module``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tunekit"

#: Rank of every unit (a subpackage or a root module) of tunekit; higher may import lower.
LAYERS: dict[str, int] = {
    "tunekit": 100,
    "tunekit.cli": 90,
    "tunekit.lessons": 85,
    "tunekit.report": 80,
    "tunekit.study": 70,
    "tunekit.predict": 67,  # raw rows in, predictions out: the saved model's encoding; study's best uses it
    "tunekit.tracking": 65,  # MLflow / TensorBoard from the study database; study.run calls it
    "tunekit.execution": 60,
    "tunekit._spec": 50,
    "tunekit.factory": 40,
    "tunekit.data": 40,
    "tunekit.strategies": 40,
    "tunekit.health": 40,
    "tunekit.hyper": 40,
    "tunekit.storage": 35,
    "tunekit.space": 20,
    "tunekit._output": 10,
    "tunekit._units": 10,
    "tunekit._confirm": 6,
    "tunekit._records": 5,
    "tunekit._seeds": 0,
    "tunekit._errors": 0,
    "tunekit._version": 0,
    "tunekit._quiet_tf": 0,
}


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` at ``line`` of ``source``."""

    source: str
    target: str
    line: int


def modules(package: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file under ``package``."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The module ``name`` refers to: itself, or the package that defines the attribute ``name``."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def import_edges(package: Path) -> list[Edge]:
    """Every import of a module of ``package`` by a module of ``package`` (lazy ones included)."""
    known = modules(package)
    root = package.name
    edges = []
    for name, path in known.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name if is_package else name.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        base = base.rpartition(".")[0]
                    module = f"{base}.{node.module}" if node.module else base
                else:
                    module = node.module or ""
                # `from pkg import sub` imports the module pkg.sub; `from pkg import name`, pkg itself
                targets = [f"{module}.{alias.name}" for alias in node.names] or [module]
            for target in targets:
                if target.split(".")[0] != root:
                    continue
                resolved = _resolve(target, known)
                if resolved is not None and resolved != name:
                    edges.append(Edge(name, resolved, node.lineno))
    return edges


def unit_of(module: str, layers: dict[str, int]) -> str | None:
    """The layer unit ``module`` belongs to: the longest key of ``layers`` that contains it."""
    best = None
    for unit in layers:
        if (module == unit or module.startswith(unit + ".")) and (best is None or len(unit) > len(best)):
            best = unit
    return best


def cycles(edges: list[Edge]) -> list[list[Edge]]:
    """One import chain per strongly connected component of more than one module (Tarjan)."""
    graph: dict[str, dict[str, Edge]] = {}
    for e in edges:
        graph.setdefault(e.source, {}).setdefault(e.target, e)
        graph.setdefault(e.target, {})
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
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
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_chain(graph, component) for component in components]


def _chain(graph: dict[str, dict[str, Edge]], component: list[str]) -> list[Edge]:
    """A shortest cycle through the first module of ``component`` (breadth first, inside it)."""
    inside = set(component)
    start = component[0]
    paths: dict[str, list[Edge]] = {start: []}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w, edge in sorted(graph[v].items()):
            if w == start:
                return paths[v] + [edge]
            if w in inside and w not in paths:
                paths[w] = paths[v] + [edge]
                queue.append(w)
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover - a component always has one


def layer_violations(edges: list[Edge], layers: dict[str, int]) -> list[str]:
    """One line per import that goes up the layers, sideways between units, or from an unlisted module."""
    out = []
    for e in edges:
        source, target = unit_of(e.source, layers), unit_of(e.target, layers)
        if source is None or target is None:
            missing = e.source if source is None else e.target
            out.append(f"{missing} belongs to no layer: add it to LAYERS in tests/test_layers.py")
        elif source != target and layers[source] <= layers[target]:
            how = "sideways into" if layers[source] == layers[target] else "up into"
            out.append(f"{e.source} (line {e.line}) imports {e.target}: {source} [{layers[source]}] "
                       f"may not import {how} {target} [{layers[target]}]")
    return sorted(set(out))


def describe(chain: list[Edge]) -> str:
    """``a (line 3) -> b (line 9) -> a``."""
    return " -> ".join(f"{e.source} (line {e.line})" for e in chain) + f" -> {chain[0].source}"


def test_no_import_cycle() -> None:
    found = cycles(import_edges(PACKAGE))
    assert not found, "import cycles:\n" + "\n".join(describe(c) for c in found)


def test_imports_follow_the_layers() -> None:
    found = layer_violations(import_edges(PACKAGE), LAYERS)
    assert not found, "imports against the layer direction:\n" + "\n".join(found)


def test_every_module_has_a_layer() -> None:
    unlisted = [m for m in modules(PACKAGE) if unit_of(m, LAYERS) is None]
    assert not unlisted, f"modules in no layer (add them to LAYERS): {unlisted}"


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "tunekit"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_checks_catch_a_cycle_and_an_upward_import(tmp_path: Path) -> None:
    """The checks themselves: a lazy two-module cycle, and an execution module importing the study layer."""
    root = _package(tmp_path, {
        "__init__.py": "",
        "_errors.py": "",
        "execution/__init__.py": "from tunekit.execution._loop import work\n",
        "execution/_loop.py": "def work():\n    from .._errors import x\n    from tunekit.study._run import run\n",
        "study/__init__.py": "",
        "study/_run.py": "from tunekit.execution import work\n",
    })
    edges = import_edges(root)
    found = cycles(edges)
    assert [describe(c) for c in found] == [
        "tunekit.execution (line 1) -> tunekit.execution._loop (line 3) -> tunekit.study._run (line 1) -> tunekit.execution"
    ]
    assert layer_violations(edges, LAYERS) == [
        "tunekit.execution._loop (line 3) imports tunekit.study._run: tunekit.execution [60] may not import "
        "up into tunekit.study [70]"
    ]
    assert Edge("tunekit.execution._loop", "tunekit._errors", 2) in edges  # a relative import inside a function


def test_sideways_imports_between_units_of_one_rank_are_refused(tmp_path: Path) -> None:
    root = _package(tmp_path, {"__init__.py": "", "data/__init__.py": "from tunekit import factory\n",
                               "factory/__init__.py": ""})
    assert layer_violations(import_edges(root), LAYERS) == [
        "tunekit.data (line 1) imports tunekit.factory: tunekit.data [40] may not import sideways into tunekit.factory [40]"
    ]
