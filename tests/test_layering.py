"""The package's layering, read from its source: no import cycle (an import inside a function counts
as much as one at the top: it is the same dependency, only later), and an order of layers that every
top-level module and package takes a place in, each importing only what lies below it.

Imports under ``if TYPE_CHECKING:`` are left out: they are annotations, never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import SCRIPTS

PACKAGE = SCRIPTS / "imagegen"

# Bottom first. A unit (a top-level module such as ``config``, or a package such as ``models``) may
# import only its own modules and the units of lower layers; the units of one layer do not import
# each other. The entry points are the exception: commands build on cli's flags and the MCP server,
# and mcp reads cli's option declarations.
LAYERS: tuple[tuple[str, ...], ...] = (
    # import nothing of the package
    ("__init__", "reply_words", "names", "costs", "jsonshape", "record", "error_kinds"),
    ("errors",),  # the one error hierarchy
    ("config",),  # the one reader of the environment
    ("progress",),  # stderr
    ("localjson",),  # bounded JSON reading
    ("contract",),  # the stdout document, JSON made safe
    ("fsutil",),  # atomic writes
    ("http",),
    ("images",),
    ("models",),
    ("validate",),
    ("spending",),
    ("prompt",),
    ("requests",),
    ("providers",),
    ("pipeline",),
    ("queue",),
    ("gallery",),
    ("preflight",),
    ("cli", "commands", "mcp"),  # entry points
)
ENTRY_LAYER = LAYERS[-1]


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(SCRIPTS).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def unit_of(name: str) -> str:
    """The layer unit of a module: ``imagegen.models.registry`` -> ``models``, ``imagegen`` -> ``__init__``."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for statement in node.body:
                skipped.update(id(inner) for inner in ast.walk(statement))
    return skipped


def imports(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports, at the top or inside a function (``from x import y`` counts as
    x and as x.y, which may be a module), outside ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text())
    skipped = _type_checking_nodes(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets.add(module)
            targets |= {f"{module}.{alias.name}" for alias in node.names}
    return targets


def graph() -> dict[str, set[str]]:
    """The package's import graph: module -> the package's modules it imports (itself and its own
    package, which Python has loaded first anyway, left out)."""
    found = modules()
    return {name: {t for t in imports(name, path) if t in found and t != name and not name.startswith(t + ".")}
            for name, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(edges[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
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


def layering_faults(edges: dict[str, set[str]], layers: tuple[tuple[str, ...], ...]) -> list[str]:
    """Each import that reaches up (or sideways, outside the entry layer), and each unit with no layer."""
    level = {unit: number for number, layer in enumerate(layers) for unit in layer}
    faults = sorted({f"{unit_of(name)} has no place in LAYERS" for name in edges if unit_of(name) not in level})
    for name, targets in sorted(edges.items()):
        unit = unit_of(name)
        for target in sorted(targets):
            other = unit_of(target)
            if other == unit or unit not in level or other not in level:
                continue
            if level[other] > level[unit] or (level[other] == level[unit] and layers[level[unit]] != layers[-1]):
                faults.append(f"{name} imports {target}: {other} is not below {unit}")
    return faults


def test_no_import_cycles_counting_imports_inside_functions():
    assert cycles(graph()) == []


def test_every_import_reaches_down_the_layers():
    assert layering_faults(graph(), LAYERS) == []


def test_every_top_level_module_and_package_has_a_layer():
    units = {path.stem if path.suffix == ".py" else path.name for path in PACKAGE.iterdir()
             if (path.suffix == ".py" or (path / "__init__.py").exists())}
    placed = {unit for layer in LAYERS for unit in layer}
    assert units - placed == set(), "place these in LAYERS"
    assert placed - units == set(), "LAYERS names units that do not exist"
    assert {"config", "errors", "contract", "fsutil", "localjson", "names", "progress", "requests", "validate",
            "preflight", "mcp"} <= placed


def test_the_checks_see_a_cycle_inside_a_function_an_upward_import_and_an_unplaced_module(tmp_path):
    edges = {"imagegen.errors": {"imagegen.config"}, "imagegen.config": {"imagegen.errors"},
             "imagegen.newthing": set(), "imagegen.http.client": {"imagegen.pipeline.generation"},
             "imagegen.pipeline.generation": set()}
    assert cycles(edges) == [["imagegen.config", "imagegen.errors"]]
    faults = layering_faults(edges, LAYERS)
    assert "newthing has no place in LAYERS" in faults
    assert "imagegen.errors imports imagegen.config: config is not below errors" in faults
    assert "imagegen.http.client imports imagegen.pipeline.generation: pipeline is not below http" in faults
    (tmp_path / "late.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n"
                                      "def f():\n    from .b import c\n")
    assert imports("imagegen.late", tmp_path / "late.py") == {"imagegen.b", "imagegen.b.c", "typing",
                                                                "typing.TYPE_CHECKING"}


def test_the_core_never_sees_argparse_and_the_queue_never_imports_the_cli():
    found = modules()
    for name, path in found.items():
        unit = unit_of(name)
        imported = imports(name, path)
        if unit not in ("cli", "commands"):
            assert "argparse" not in imported, name
        if unit not in ENTRY_LAYER:
            assert not any(t.startswith(("imagegen.commands", "imagegen.cli")) for t in imported), name


def test_the_catalogue_and_the_registry_do_not_import_each_other():
    imported = imports("imagegen.models.catalogue", PACKAGE / "models" / "catalogue.py")
    assert not any(t.startswith("imagegen.models.registry") for t in imported)


def renamed_modules(name: str, path: Path, known: set[str]) -> list[str]:
    """Each import in ``path`` that gives one of the package's modules another name (``import x as y``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [f"{name}:{node.lineno} {alias.name} as {alias.asname}" for alias in node.names
                      if alias.asname and alias.name in known and alias.asname != alias.name.rpartition(".")[2]]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            module = (".".join(base[: len(base) - node.level + 1] + ([node.module] if node.module else []))
                      if node.level else node.module or "")
            found += [f"{name}:{node.lineno} {module}.{alias.name} as {alias.asname}" for alias in node.names
                      if alias.asname and alias.asname != alias.name and f"{module}.{alias.name}" in known]
    return found


def test_a_module_is_imported_under_its_own_name():
    found = modules()
    faults = [fault for name, path in sorted(found.items()) for fault in renamed_modules(name, path, set(found))]
    assert faults == [], "import these modules by their own names"


def test_the_name_check_sees_a_renamed_module(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from . import validate as v\nfrom .cli import flags as cli\nfrom .contract import shorten as s\n"
                      "import imagegen.images.files as images\nfrom . import config\n")
    known = {"imagegen.validate", "imagegen.cli.flags", "imagegen.images.files", "imagegen.config"}
    assert [fault.split(":", 1)[1] for fault in renamed_modules("imagegen.sample", sample, known)] == [
        "1 imagegen.validate as v", "2 imagegen.cli.flags as cli", "4 imagegen.images.files as images"]


# -- the environment -------------------------------------------------------------------------------
#
# config.py is the one reader of the environment: every variable the package heeds is named, parsed
# and documented there. Elsewhere the only use of os.environ allowed is copying it whole for a child
# process (``os.environ.copy()`` or ``dict(os.environ)``): that passes the environment on, it reads
# nothing. os.getenv, os.putenv, os.unsetenv and ``from os import environ`` are not allowed at all.


def environment_reads(path: Path, root: Path = SCRIPTS) -> list[str]:
    """Each place ``path`` reads (or changes) the environment other than by copying it whole."""
    tree = ast.parse(path.read_text())
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [f"{where} imports os.{alias.name}" for alias in node.names
                      if alias.name in ("environ", "environb", "getenv", "getenvb", "putenv", "unsetenv")]
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os"):
            continue
        if node.attr in ("getenv", "getenvb", "putenv", "unsetenv"):
            found.append(f"{where} calls os.{node.attr}")
        elif node.attr in ("environ", "environb"):
            parent = parents.get(id(node))
            copied = (isinstance(parent, ast.Attribute) and parent.attr == "copy"
                      and isinstance(parents.get(id(parent)), ast.Call)) or (
                isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id == "dict"
                and parent.args == [node])
            if not copied:
                found.append(f"{where} reads os.{node.attr}")
    return found


def test_only_config_reads_the_environment():
    faults = [fault for path in sorted(PACKAGE.rglob("*.py")) if path != PACKAGE / "config.py"
              for fault in environment_reads(path)]
    assert faults == [], "read the environment through a function of config.py"


def test_the_environment_check_sees_every_kind_of_read(tmp_path):
    sample = tmp_path / "sample_env.py"
    sample.write_text("import os\nfrom os import getenv\na = os.environ.get('A')\nb = os.environ['B']\n"
                      "c = os.getenv('C')\nchild = os.environ.copy()\nsame = dict(os.environ)\nchild['D'] = '1'\n")
    assert sorted(fault.split(":", 1)[1] for fault in environment_reads(sample, tmp_path)) == [
        "2 imports os.getenv", "3 reads os.environ", "4 reads os.environ", "5 calls os.getenv"]
