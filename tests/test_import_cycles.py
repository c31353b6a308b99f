"""No import cycles in src/alzza: every import statement of every module — at the top or
deferred inside a function — is an edge of one graph, and the graph has no cycle.

A deferred import that closes a loop (saving/model_files.py importing the models while the
models import it) still ties two modules together; it only hides the loop from Python. The graph is
read from the source with ``ast`` (nothing is imported). An edge goes to the module named:
``from .x import y`` → ``pkg.x``, or ``pkg.x.y`` when that is a module itself;
``from . import y`` → ``pkg.y`` for a submodule, else the package ``pkg``. The implicit
import of a parent package (importing ``alzza.data.sets.mnist`` runs ``alzza/data/__init__``) is
Python's mechanics, not a dependency written by anyone, and is not an edge.
"""

from __future__ import annotations

import ast
from pathlib import Path

import alzza

PACKAGE = Path(alzza.__file__).resolve().parent


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _targets(module: str, is_package: bool, node, modules) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.split(".")[0] == "alzza"]
    if node.module == "__future__":
        return []
    if node.level:
        base = module.split(".")[: None if is_package else -1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    elif (node.module or "").split(".")[0] == "alzza":
        target = node.module
    else:
        return []
    return [f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target for a in node.names]


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {name: set() for name in modules}
    for name, (path, is_package) in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[name] |= {t for t in _targets(name, is_package, node, modules) if t in modules and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
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

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_the_imports_it_should():
    graph = import_graph()
    assert "alzza.layers.base" in graph["alzza.layers.dense"]          # from .base import ...
    assert "alzza.options" in graph["alzza.layers.registry"]           # from ..options import ...
    assert "alzza.layers.conv" in graph["alzza.layers"]                # from . import conv
    assert "alzza.saving.model_files" in graph["alzza.models.family"]                  # deferred, inside save()


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = import_graph()
    graph["alzza.options"] = graph["alzza.options"] | {"alzza.layers.dense"}
    assert any({"alzza.options", "alzza.layers.dense"} <= set(c) for c in cycles(graph))


def test_the_model_kinds_share_one_base_and_one_set_of_parts():
    """Model and the families are not parallel hierarchies: both build on models.parts and
    models.family, and neither of those reaches back into a model kind's module."""
    graph = import_graph()
    kinds = {"alzza.models.model", "alzza.models.autoencoder", "alzza.models.encoder_decoder", "alzza.models.gan"}
    for kind in kinds:
        assert {"alzza.models.family", "alzza.models.parts"} <= graph[kind], kind
        assert not (graph[kind] & (kinds - {kind})), f"{kind} imports another model kind"
    for shared in ("alzza.models.family", "alzza.models.parts"):
        assert not (graph[shared] & kinds), f"{shared} imports a model kind"


def test_no_import_cycles_in_src():
    found = cycles(import_graph())
    assert not found, "import cycles (each a set of modules importing each other):\n" + "\n".join(map(str, found))


#: the commands sit on top: a package below them never imports one of them (nor the CLI)
TOP = ("alzza.cli", "alzza.commands", "alzza.reproduce", "alzza.bench")


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_imports_run_downward_to_the_library():
    """The library (layers, models, training, data, experiments, book...) never imports the
    command layer above it: ``alzza reproduce`` uses the experiments, not the other way round."""
    upward = sorted((source, target) for source, targets in import_graph().items() for target in targets
                    if any(_under(target, top) for top in TOP)
                    and not any(_under(source, top) for top in TOP))
    assert upward == [], f"modules importing the command layer above them: {upward}"
