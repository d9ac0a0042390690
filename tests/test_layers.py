"""The packages of `gateway` import in one direction only, and no modules import each other in a circle.

Read from the source (every import, including those inside functions and under TYPE_CHECKING), so an
import that works only thanks to import order is caught before it bites.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "gateway"

# Bottom to top: a package may import its own modules and the packages of lower layers, nothing else.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("core", "logs", "options", "heap"),  # the domain, how the process logs, the command line's shared options, its GC
    ("egress",),  # the guarded outbound HTTP client
    ("config",),  # settings (every connector's section too)
    ("store",),  # schema, repositories, event log, files
    # providers in (they see the store through connectors/base.py); other CRMs out; the sites' number pools
    ("connectors", "sinks", "calltracking"),
    ("dispatch", "delivery", "metrics"),  # processing stored events; performing outbox jobs; the app's figures
    ("http",),  # the aiohttp edge: connector routes, the group-commit writer, middleware, app keys
    ("export",),  # journal and deal exports, reports (no HTTP)
    ("api",),  # the operators' JSON API
    ("web",),  # the operators' page
    ("app", "serving"),  # the aiohttp application and its serving
    ("demo",),  # `gateway demo`: the app with sample accounts and a stand-in for the providers
    ("simulate",),  # provider traffic for a running gateway (the demo's accounts by default)
    ("cli",),  # the `gateway` command
    ("__main__",),
)

def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in ROOT.rglob("*.py") if "migrations" not in p.parts}


def _imported(module: str, path: Path, known: Mapping[str, Path]) -> Iterator[str]:
    """The gateway modules `module` imports (a `from package import name` counts for `package.name` too)."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join([*package[: len(package) - node.level + 1], node.module or ""]).strip(".") \
                if node.level else node.module or ""
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        yield from (name for name in names if name in known and name not in (module, "gateway"))


def module_graph() -> dict[str, set[str]]:
    known = _modules()
    return {module: set(_imported(module, path, known)) for module, path in known.items()}


def package_of(module: str) -> str:
    return module.split(".")[1]


def package_graph(modules: Mapping[str, set[str]]) -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> the `module -> module` lines that make the edge."""
    out: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for module, targets in modules.items():
        for target in targets:
            if package_of(module) != package_of(target):
                out[package_of(module)][package_of(target)].append(f"{module} -> {target}")
    return out


def cycles(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_packages() -> None:
    graph = package_graph(module_graph())
    found = cycles(graph)
    detail = [line for comp in found for a in comp for b in comp if b in graph.get(a, {}) for line in graph[a][b]]
    assert found == [], "packages import each other:\n" + "\n".join(sorted(detail))


def test_no_import_cycle_between_modules() -> None:
    modules = module_graph()
    without_parents = {m: {t for t in targets if not m.startswith(t + ".")} for m, targets in modules.items()}
    assert cycles(without_parents) == []


def test_each_package_imports_only_lower_layers() -> None:
    rank = {package: level for level, packages in enumerate(LAYERS) for package in packages}
    graph = package_graph(module_graph())
    assert set(graph) <= set(rank), f"packages missing from LAYERS: {sorted(set(graph) - set(rank))}"
    upward = [line for pkg, targets in graph.items() for target, lines in targets.items()
              if rank[target] >= rank[pkg] for line in lines]
    assert upward == [], "imports against the layers:\n" + "\n".join(sorted(upward))


def test_connectors_see_the_store_only_through_their_interface() -> None:
    """Inside `gateway.connectors`, only `base.py` imports the store (or SQLAlchemy)."""
    reaching = [f"{module} -> {target}" for module, targets in module_graph().items()
                if module.startswith("gateway.connectors.") and module != "gateway.connectors.base"
                for target in targets if package_of(target) == "store"]
    sqlalchemy = [str(path.relative_to(ROOT.parent)) for path in (ROOT / "connectors").rglob("*.py")
                  if path.name != "base.py" and _imports_sqlalchemy(path)]
    assert reaching + sqlalchemy == []


def _imports_sqlalchemy(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        if any(name.split(".")[0] == "sqlalchemy" for name in names):
            return True
    return False
