"""The engine's structure, checked from its source (AST, no third-party tool): no import cycle
inside ``engine``, and no ``_private`` module imported from outside its own package (tests
excepted), in the engine, training, benchmarks and the QGIS plugin."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHECKED = ("engine", "training", "benchmarks", "qgis_plugin", "scripts")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(top: str) -> dict[str, Path]:
    return {module_name(p): p for p in sorted((REPO / top).rglob("*.py"))}


def imported(name: str, path: Path, known: dict[str, Path]) -> Iterator[tuple[str, int]]:
    """(module imported, line) for every import in the file, lazy ones (inside functions) too:
    a lazy import that closes a cycle is still a cycle. ``from pkg import sub`` of a submodule
    counts as importing the submodule."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            submodules = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known]
            if submodules and len(submodules) == len(node.names):
                for sub in submodules:
                    yield sub, node.lineno
            else:
                yield target, node.lineno
                yield from ((sub, node.lineno) for sub in submodules)


def owning_module(target: str, known: dict[str, Path]) -> str | None:
    while target and target not in known:
        target = target.rpartition(".")[0]
    return target or None


def engine_graph() -> dict[str, set[str]]:
    known = modules("engine")
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = {owning_module(t, known) for t, _ in imported(name, path, known) if t.split(".")[0] == "engine"}
        graph[name] = {t for t in targets if t and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def private_imports() -> list[str]:
    """Imports of ``pkg._private`` (or anything under it) from a module outside ``pkg``."""
    known = {name: path for top in CHECKED if (REPO / top).exists() for name, path in modules(top).items()}
    engine_known = modules("engine")
    bad = []
    for name, path in known.items():
        for target, line in imported(name, path, {**known, **engine_known}):
            parts = target.split(".")
            for depth, part in enumerate(parts):
                if part.startswith("_") and not part.startswith("__"):
                    package = ".".join(parts[:depth])
                    if name != package and not name.startswith(package + "."):
                        bad.append(f"{path.relative_to(REPO)}:{line} imports {target}")
                    break
    return bad


def test_graph__sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from engine.io import _geotiff, open_scene\n    import engine.pipeline\n")
    known = {"engine.io": tmp_path, "engine.io._geotiff": tmp_path}
    assert set(imported("engine.x", source, known)) == {("engine.io", 2), ("engine.io._geotiff", 2), ("engine.pipeline", 3)}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_engine__has_no_import_cycle() -> None:
    found = cycles(engine_graph())
    assert not found, "import cycles in engine/: " + "; ".join(" <-> ".join(c) for c in found)


def test_no_private_module_is_imported_from_outside_its_package() -> None:
    bad = private_imports()
    assert not bad, f"{len(bad)} imports of private modules from outside their package:\n" + "\n".join(bad)


@pytest.mark.parametrize("layer, forbidden", [
    ("engine.methods", ("engine.filters", "engine.models", "engine.pipeline", "engine.io")),
    ("engine.scene", ("engine.io", "engine.pipeline", "engine.run", "engine.cli")),
])
def test_lower_layers__do_not_import_higher_ones(layer: str, forbidden: tuple[str, ...]) -> None:
    graph = engine_graph()
    members = [m for m in graph if m == layer or m.startswith(layer + ".")]
    assert members, f"{layer} does not exist"
    upward = sorted(f"{m} -> {t}" for m in members for t in graph[m] if any(t == f or t.startswith(f + ".") for f in forbidden))
    assert not upward, "imports pointing up: " + ", ".join(upward)
