"""The layering holds by itself: controller -> service -> tables, and controllers never import
controllers. A controller is a ``controller.py`` or any module that defines a Litestar Controller
(the web interface's page modules: ui/controller.py, ui/records.py, ui/data.py, ...)."""

import ast
from pathlib import Path

import pytest

REGISTRY = Path(__file__).parent.parent / "registry"
WRITES = {"insert", "update", "delete", "save"}


@pytest.fixture(autouse=True)
def engine_name():
    """Reads source files only: one run, not one per engine."""
    return None


def module_name(path: Path) -> str:
    parts = path.relative_to(REGISTRY.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_controller(tree: ast.Module, name: str) -> bool:
    if name.endswith(".controller"):
        return True
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases]
            if "Controller" in bases:
                return True
    return False


def imported(tree: ast.Module, modules: set[str]) -> list[tuple[int, str]]:
    """(line, module) of each import of one of ``modules``, ``from a import b`` counting a.b too."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name in modules]
        elif isinstance(node, ast.ImportFrom) and node.module:
            candidates = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found += [(node.lineno, m) for m in candidates if m in modules]
    return found


def table_writes(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, what) of each write to a table: Table.insert/update/delete/save, or a write transaction."""
    tables, found = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "registry.tables":
            tables |= {a.asname or a.name for a in node.names}
        if isinstance(node, ast.ImportFrom) and node.module == "registry.db":
            found += [
                (node.lineno, "db.write_transaction") for a in node.names if a.name == "write_transaction"
            ]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "write_transaction":
            if isinstance(node.value, ast.Name) and node.value.id == "db":
                found.append((node.lineno, "db.write_transaction"))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WRITES:
            target = node.func.value
            name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", "")
            if name in tables or (isinstance(target, ast.Attribute) and _is_tables(target.value)):
                found.append((node.lineno, f"{name}.{node.func.attr}"))
    return found


def _is_tables(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "tables"


def violations(sources: dict[str, str]) -> list[str]:
    """What breaks the layering in ``sources`` ({module name: source})."""
    trees = {name: ast.parse(text) for name, text in sources.items()}
    controllers = {name for name, tree in trees.items() if is_controller(tree, name)}
    found = []
    for name in sorted(controllers):
        for line, other in imported(trees[name], controllers - {name}):
            found.append(f"{name}:{line} imports the controller {other}")
        for line, what in table_writes(trees[name]):
            found.append(f"{name}:{line} writes a table ({what}): a service owns writes")
    return found


def registry_sources() -> dict[str, str]:
    return {module_name(p): p.read_text() for p in sorted(REGISTRY.rglob("*.py"))}


def test_no_controller_imports_a_controller_or_writes_a_table():
    sources = registry_sources()
    assert "registry.ui.records" in sources and "registry.vendors.controller" in sources
    assert violations(sources) == []


@pytest.mark.parametrize(
    ("source", "broken"),
    [
        ("from registry.vendors.controller import VendorController", "imports the controller"),
        ("from registry.vendors import controller", "imports the controller"),
        ("from registry.ui.pages import page\nfrom registry.ui.records import NEW", "imports the controller"),
        (
            "from registry.tables import Vendor\nasync def f(): await Vendor.update({}).where()",
            "Vendor.update",
        ),
        ("from registry import tables\nasync def f(): await tables.Vendor.delete()", "Vendor.delete"),
        ("from registry import db\nasync def f():\n    async with db.write_transaction(): pass", "write_tr"),
        ("from registry.db import write_transaction", "db.write_transaction"),
    ],
)
def test_the_check_finds_each_kind_of_breach(source, broken):
    sources = {
        "registry.vendors.controller": "class VendorController(Controller): pass",
        "registry.ui.records": "class RecordsController(Controller): pass",
        "registry.ui.pages": "def page(): pass",
        "registry.journal.controller": source,
    }
    found = violations(sources)
    assert len(found) == 1 and broken in found[0], found


def test_services_and_helpers_may_write():
    sources = {
        "registry.vendors.service": "from registry.tables import Vendor\nasync def f(): await Vendor.insert()",
        "registry.ui.pages": "from registry.vendors.service import f",
    }
    assert violations(sources) == []


def table_imports(sources: dict[str, str]) -> list[str]:
    """Controllers that import registry.tables: a read of a table belongs in a service function too."""
    found = []
    for name, text in sorted(sources.items()):
        tree = ast.parse(text)
        if is_controller(tree, name):
            found += [f"{name}:{line} imports {m}" for line, m in imported(tree, {"registry.tables"})]
    return found


def test_no_controller_queries_a_table():
    assert table_imports(registry_sources()) == []
    breach = {"registry.changes.controller": "from registry.tables import Checkpoint"}
    assert table_imports(breach) == ["registry.changes.controller:1 imports registry.tables"]
    alias = {"registry.ui.data": "from registry import tables\nclass Pages(Controller): pass"}
    assert table_imports(alias) == ["registry.ui.data:1 imports registry.tables"]
    assert table_imports({"registry.changes.service": "from registry.tables import Checkpoint"}) == []
