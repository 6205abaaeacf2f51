"""The package's layout: folders that read like the flow, imports that run one way, no circle anywhere.

The import graph is read from the source (every ``import`` and ``from …
import`` of ``realtime_uploads``, at module level or inside a function: an
import hidden in a function is still a dependency). The rules, each a test:

1. no import circle between modules, nor between the package's parts;
2. each part imports only the parts below it (:data:`MAY_IMPORT`): the entry
   parts (presign, callback, push, consumers, forms, local) → state → storage
   → core; ``processing`` → ``core`` only; ``runtime`` → ``conf`` and the
   foundation, nothing above; ``core`` → nothing;
3. ``core`` and ``processing`` import no Django (nor DRF, channels, daphne):
   they ship to AWS Lambda without it;
4. no module imports a private name (``_x``) of another module;
5. at most a dozen modules at the top level, about fifteen in any folder, and
   no two modules with one name unless :data:`SAME_CONCEPT` says they are the
   same concept on two sides.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "realtime_uploads"

#: Which part each first-level name belongs to.
PARTS = {
    "core": "core", "processing": "processing",
    "conf": "foundation", "exceptions": "foundation", "models": "foundation", "signals": "foundation",
    "": "foundation",  # realtime_uploads/__init__.py
    "runtime": "runtime", "storage": "storage", "state": "state",
    "presign": "presign", "callback": "callback", "push": "push", "consumers": "consumers", "forms": "forms",
    "local": "local",
    "urls": "top", "schema": "top", "admin": "top", "apps": "top", "checks": "top", "templatetags": "top",
    "management": "top", "asgi": "top",
}
_BELOW_ENTRY = {"state", "storage", "runtime", "foundation", "core"}
#: What each part may import besides itself.
MAY_IMPORT = {
    "core": set(),
    "processing": {"core"},
    "foundation": {"core"},
    "runtime": {"foundation", "core"},
    "storage": {"foundation", "core"},
    "state": {"storage", "runtime", "foundation", "core"},
    "push": _BELOW_ENTRY,
    "consumers": _BELOW_ENTRY | {"push"},
    "callback": _BELOW_ENTRY | {"push"},  # the fast path serves the status GET too
    "presign": _BELOW_ENTRY | {"consumers"},  # the socket's path, for the presign answer
    "forms": _BELOW_ENTRY,
    "local": _BELOW_ENTRY | {"processing"},  # the in-process processor
    "top": set(PARTS.values()),
}
NO_DJANGO = ("django", "rest_framework", "channels", "channels_redis", "daphne", "drf_spectacular")
#: Module names that may repeat: the same concept on two sides.
SAME_CONCEPT = {
    "s3": {"storage/s3.py", "processing/s3.py"},  # S3 for the web side (presign, URLs) and for the processor
    "local": {"storage/local.py", "local"},  # the local backend's bytes and its in-process stand-ins
    "views": {"presign/views.py", "callback/views.py", "push/views.py"},  # each entry's Django views
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT).with_suffix("")
        if "migrations" in relative.parts:
            continue
        parts = list(relative.parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, list[str], int]]:
    """``(module imported, names imported from it, line)`` for every import in the file."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            found.append((module, [alias.name for alias in node.names], node.lineno))
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in MODULES.items():
        graph[name]
        for module, names, _line in _imports(name, path):
            if module != "realtime_uploads" and not module.startswith("realtime_uploads."):
                continue
            for imported in names or [None]:
                target = f"{module}.{imported}" if imported and f"{module}.{imported}" in MODULES else module
                if target in MODULES and target != name:
                    graph[name].add(target)
    return graph


GRAPH = _graph()


def _part(module: str) -> str:
    parts = module.split(".")
    return PARTS[parts[1] if len(parts) > 1 else ""]


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that returns to its start, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_every_module_belongs_to_a_part():
    unknown = sorted(m for m in MODULES if m != "realtime_uploads" and m.split(".")[1] not in PARTS)
    assert not unknown, f"Modules outside every part of the layout (add them to PARTS): {unknown}"


def test_no_import_circle_between_modules():
    cycle = _cycle(GRAPH)
    assert cycle is None, "Import circle: " + " → ".join(cycle)


def test_no_import_circle_between_parts():
    parts: dict[str, set[str]] = defaultdict(set)
    for module, targets in GRAPH.items():
        parts[_part(module)] |= {_part(t) for t in targets if _part(t) != _part(module)}
    cycle = _cycle(parts)
    assert cycle is None, "Parts import each other in a circle: " + " → ".join(cycle)


def test_each_part_imports_only_the_parts_below_it():
    wrong = sorted(
        f"{module} ({_part(module)}) imports {target} ({_part(target)})"
        for module, targets in GRAPH.items() for target in targets
        if _part(target) != _part(module) and _part(target) not in MAY_IMPORT[_part(module)]
    )
    assert not wrong, "Imports against the layers:\n" + "\n".join(wrong)


@pytest.mark.parametrize("part", ["core", "processing"])
def test_core_and_processing_import_no_django(part):
    found = sorted(
        f"{name}:{line} imports {module}"
        for name, path in MODULES.items() if _part(name) == part
        for module, _names, line in _imports(name, path) if module.split(".")[0] in NO_DJANGO
    )
    assert not found, f"{part} must run without Django (AWS Lambda): {found}"


def test_no_module_imports_a_private_name_of_another():
    found = sorted(
        f"{name}:{line} imports {imported} from {module}"
        for name, path in MODULES.items()
        for module, names, line in _imports(name, path) if module.startswith("realtime_uploads")
        for imported in names if imported.startswith("_") and not imported.endswith("__") and module != name
    )
    assert not found, f"Private names used across modules: {found}"


def _folder_modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.py") if p.name != "__init__.py")


def test_at_most_a_dozen_modules_at_the_top_level():
    top = _folder_modules(PACKAGE)
    assert len(top) <= 12, f"{len(top)} modules at the top of realtime_uploads/: {[p.name for p in top]}"


def test_no_folder_holds_more_than_fifteen_modules():
    crowded = {str(folder.relative_to(ROOT)): len(_folder_modules(folder))
               for folder in [PACKAGE, *(p.parent for p in PACKAGE.rglob("__init__.py"))]
               if "migrations" not in folder.parts and len(_folder_modules(folder)) > 15}
    assert not crowded, f"Folders that need splitting: {crowded}"


def test_no_two_modules_share_a_name_unless_they_are_one_concept_on_two_sides():
    names: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts or path.name == "__init__.py":
            continue
        names[path.stem].add(str(path.relative_to(PACKAGE)))
    for path in PACKAGE.rglob("__init__.py"):
        if path.parent != PACKAGE and "migrations" not in path.parts:
            names[path.parent.name].add(str(path.parent.relative_to(PACKAGE)))
    shared = {name: places for name, places in names.items()
              if len(places) > 1 and places != SAME_CONCEPT.get(name)}
    assert not shared, f"One name, different things: {shared}"


def test_the_rules_can_fail():
    """The checks above find what they look for: a made-up circle, and a made-up import against the layers."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
    assert "state" not in MAY_IMPORT["storage"] and "processing" not in MAY_IMPORT["state"]
    assert _part("realtime_uploads.storage.local") == "storage"
