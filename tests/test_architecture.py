"""App dependencies run one way. This test is where the order is written down.

Every module of studio/ is parsed (no import runs), and every import in it
counts: at module level or inside a function, `import x` or `from x import y`,
absolute or relative. An app may import only apps in a LOWER layer; an import
into the same layer, or upwards, or a cycle fails the test with file and line.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

STUDIO = Path(__file__).resolve().parent.parent / "studio"

# Bottom first. The apps of a layer import only apps of the layers before it.
LAYERS: list[set[str]] = [
    # leaves: import no other app; live is below teams, whose change counter pushes
    {"videogen", "sandbox", "audit", "live"},
    {"teams"},
    {"accounts"},  # a new account gets its personal team
    {"generations"},
    # Talk about results; gallery (sort by rating, client links) and review
    # (decisions) tell people through it, so it sits below them.
    {"discussion"},
    {"gallery", "review", "webhooks"},
    # Operators' views over everything: /metrics reads webhooks, generations, live.
    {"ops"},
]
# Project-package modules (studio/*.py) that apps may import: they import no app.
SHARED_PROJECT_MODULES = {"studio.forms", "studio.celery"}
PROJECT = "(project)"  # studio/settings.py, urls.py, celery.py, ...: may import any app

LAYER_OF = {app: i for i, layer in enumerate(LAYERS) for app in layer}


def _module_name(path: Path) -> str:
    parts = path.relative_to(STUDIO.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path: Path) -> list[tuple[str, int]]:
    """(dotted name, line) of every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((module, node.lineno))
            # `from studio import teams` imports the app itself.
            if module == "studio":
                found += [(f"studio.{alias.name}", node.lineno) for alias in node.names]
    return found


def _owner(module: str) -> str | None:
    """The app a dotted module belongs to, PROJECT for studio/*.py, None outside studio."""
    parts = module.split(".")
    if parts[0] != "studio" or len(parts) == 1:
        return None
    if (STUDIO / parts[1]).is_dir():
        return parts[1]
    return PROJECT


def import_graph() -> dict[tuple[str, str], list[str]]:
    """{(from, to): ["file:line", ...]} for every import between two apps of studio/."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(STUDIO.rglob("*.py")):
        source = _owner(_module_name(path)) if path.parent != STUDIO else PROJECT
        for module, line in _imported_modules(path):
            target = _owner(module)
            if target is None or target == source:
                continue
            if target == PROJECT and module not in SHARED_PROJECT_MODULES:
                target = f"{PROJECT}:{module}"
            edges[(source, target)].append(f"{path.relative_to(STUDIO.parent)}:{line}")
    return dict(edges)


def _violations(edges) -> list[str]:
    problems = []
    for (source, target), where in sorted(edges.items()):
        if source == PROJECT or target == PROJECT:
            continue  # the project package wires apps together; shared modules import none
        if target.startswith(PROJECT):
            problems.append(f"{source} imports {target.split(':', 1)[1]} (project-level): {where}")
            continue
        for app in (source, target):
            if app not in LAYER_OF:
                problems.append(f"app {app!r} is in no layer of LAYERS (test_architecture.py)")
        if source in LAYER_OF and target in LAYER_OF and LAYER_OF[target] >= LAYER_OF[source]:
            way = "sideways" if LAYER_OF[target] == LAYER_OF[source] else "upwards"
            problems.append(f"{source} -> {target} ({way}): {', '.join(where)}")
    return problems


def _cycles(edges) -> list[list[str]]:
    graph = defaultdict(set)
    for source, target in edges:
        graph[source].add(target)
    cycles, done = [], set()

    def visit(node, path):
        if node in path:
            cycles.append([*path[path.index(node) :], node])
            return
        if node in done:
            return
        for nxt in sorted(graph[node]):
            visit(nxt, [*path, node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    return cycles


def test_apps_import_only_lower_layers():
    assert _violations(import_graph()) == []


def test_no_import_cycle_between_apps():
    edges = import_graph()
    cycles = _cycles(edges)
    described = [
        " -> ".join(cycle) + ": " + "; ".join(edges[step][0] for step in pairwise(cycle))
        for cycle in cycles
    ]
    assert described == []


def test_every_app_has_a_layer():
    apps = {p.name for p in STUDIO.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert apps - set(LAYER_OF) == set()


def test_the_checker_sees_every_kind_of_import(tmp_path, monkeypatch):
    """A planted upward import is caught, in each of the forms Python allows."""
    root = tmp_path / "studio"
    for app in ("teams", "generations"):
        (root / app).mkdir(parents=True)
        (root / app / "__init__.py").write_text("")
    (root / "teams" / "a.py").write_text("def f():\n    from ..generations import models\n")
    (root / "teams" / "b.py").write_text("import studio.generations.models\n")
    (root / "teams" / "c.py").write_text("from studio import generations\n")
    (root / "teams" / "d.py").write_text("from studio.generations.models import Generation\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["STUDIO"]), "STUDIO", root)
    edges = import_graph()
    assert sorted(edges[("teams", "generations")]) == [
        "studio/teams/a.py:2",
        "studio/teams/b.py:1",
        "studio/teams/c.py:1",
        "studio/teams/d.py:1",
    ]
    assert _violations(edges) == [
        "teams -> generations (upwards): studio/teams/a.py:2, studio/teams/b.py:1, "
        "studio/teams/c.py:1, studio/teams/d.py:1"
    ]
    (root / "generations" / "e.py").write_text("from studio.teams import models\n")
    assert _cycles(import_graph()) == [["generations", "teams", "generations"]]


if __name__ == "__main__":  # print the graph: python tests/test_architecture.py
    graph = import_graph()
    for (source, target), where in sorted(graph.items()):
        print(f"{source} -> {target}: {len(where)}  {where[:3]}")
    print(len([e for e in graph if not e[1].startswith(PROJECT)]), "edges between apps")
