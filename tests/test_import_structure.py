"""The import structure of `core` and `domains`, read from the source with `ast`.

Every import counts, at module level or inside a function (an import in a
function still ties the two modules together). The rules:

- no import cycle among the modules, nor among the packages (`core.export`,
  `core.estimators`, ...); an import through a package's `__init__` counts as
  an import of the module that defines the name, so a package's re-exports
  make no cycle of their own;
- no module imports an underscore-prefixed name from another module
  (`from x import _y`): what other modules need is public;
- nothing under `core/` imports `domains` (the arrow points one way; the
  registry finds domains by name at run time, which is no import).

The `KNOWN_*` allow-lists hold today's violations, to be fixed and emptied
(an entry that is no longer a violation can go); a new violation fails.
"""

import ast
import functools
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "domains")

# ----------------------------------------------------------- known violations
# Allow-lists of violations that exist today, to be fixed and deleted from here.

#: Import edges `(importer, imported module)` that close a cycle.
KNOWN_CYCLE_EDGES = set()

#: Private names imported from another module: `(importer, source module, name)`.
KNOWN_PRIVATE_IMPORTS = set()

#: Imports of `domains` under `core`: `(importer, imported module)`.
KNOWN_DOMAIN_IMPORTS = set()


# -------------------------------------------------------------------- reading
@functools.cache
def _modules():
    """`{module name: path}` of every module of the packages (a package by its `__init__`)."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


@functools.cache
def _tree(module):
    path = _modules()[module]
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def _is_package(module):
    return _modules()[module].name == "__init__.py"


def _base(module, node):
    """The absolute module name an `ImportFrom` imports from (relative imports resolved)."""
    if not node.level:
        return node.module
    parts = module.split(".") if _is_package(module) else module.split(".")[:-1]
    parts = parts[: len(parts) - node.level + 1]
    return ".".join(parts + ([node.module] if node.module else []))


@functools.cache
def _imports(module):
    """`(base, name)` per name a module imports, at any depth; `name` is None for `import x`."""
    found = []
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.Import):
            found.extend((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.extend((_base(module, node), alias.name) for alias in node.names)
    return tuple(found)


def _reexport(package, name):
    """`(module, name)` that a package's `__init__` imports `name` from, or None."""
    for node in _tree(package).body:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    return _base(package, node), alias.name
    return None


def _target(base, name):
    """The module an import reaches: a submodule, or the module that defines the name; or None."""
    modules = _modules()
    if name is None:  # `import a.b.c` runs a.b.c (and its parents).
        while base and base not in modules:
            base = base.rpartition(".")[0]
        return base or None
    for _ in range(len(modules)):  # Follows re-exports, which never run in a loop.
        if f"{base}.{name}" in modules:
            return f"{base}.{name}"
        if base not in modules or not _is_package(base):
            break
        source = _reexport(base, name)
        if source is None or source[0] not in modules:
            break
        base, name = source
    return base if base in modules else None


def _graph():
    """`{module: {imported module}}` over the packages' own modules."""
    return {
        module: {_target(base, name) for base, name in _imports(module)} - {None, module}
        for module in _modules()
    }


def _package(module):
    """The package a module belongs to: `core.export`, `domains.finance`, or `core.cli` itself."""
    return ".".join(module.split(".")[:2])


def _components(graph):
    """The strongly connected components of more than one node (Tarjan's, without recursion)."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    for start in graph:
        if start in index:
            continue
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        work = [(start, iter(sorted(graph[start])))]
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while node not in component:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                if len(component) > 1:
                    components.append(component)
    return components


def _cycle_edges(graph):
    """The edges `(importer, imported)` inside a cycle of `graph`, sorted."""
    return sorted(
        (a, b) for component in _components(graph) for a in component for b in graph[a] & component
    )


# ---------------------------------------------------------------------- tests
def test_components_find_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert _components(graph) == [{"a", "b", "c"}]
    assert _target("core.export", "ModelExporter") == "core.export.model_exporter"
    assert _target("core.export", "model_exporter") == "core.export.model_exporter"
    assert _target("numpy", None) is None


def test_no_import_cycles_among_modules():
    graph = _graph()
    for importer, imported in KNOWN_CYCLE_EDGES:
        graph.get(importer, set()).discard(imported)
    assert not _cycle_edges(graph), f"Import cycles (importer, imported): {_cycle_edges(graph)}"


def test_no_import_cycles_among_packages():
    packages = {}
    for module, imported in _graph().items():
        package = _package(module)
        packages.setdefault(package, set()).update(
            _package(m) for m in imported if (module, m) not in KNOWN_CYCLE_EDGES
        )
        packages[package].discard(package)
    cycles = _cycle_edges(packages)
    assert not cycles, f"Packages that import each other (importer, imported): {cycles}"


def test_no_private_names_imported_from_other_modules():
    found = {
        (module, base, name)
        for module in _modules()
        for base, name in _imports(module)
        if name and name.startswith("_") and not name.startswith("__")
    }
    new = sorted(found - KNOWN_PRIVATE_IMPORTS)
    assert not new, f"Private names imported (importer, module, name): {new}"


def test_core_does_not_import_domains():
    found = {
        (module, _target(base, name) or base)
        for module in _modules()
        if module.split(".")[0] == "core"
        for base, name in _imports(module)
        if base.split(".")[0] == "domains"
    }
    new = sorted(found - KNOWN_DOMAIN_IMPORTS)
    assert not new, f"core imports domains (importer, imported): {new}"


def test_export_and_serving_import_in_a_fresh_interpreter():
    done = subprocess.run(
        [sys.executable, "-c", "import core.export; import core.serving"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
