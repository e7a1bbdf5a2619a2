"""docs/architecture.md names every module of registry/: a module added without a line there fails."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
REGISTRY = ROOT / "registry"


@pytest.fixture(autouse=True)
def engine_name():
    """Reads files only: one run, not one per engine."""
    return None


def entries(doc: str) -> dict[str, str]:
    """The tree's entries under ``registry/``: {first word (``app.py``, ``changes/``): its text}."""
    block = doc.split("\nregistry/\n", 1)[1].split("\n```", 1)[0]
    found: dict[str, str] = {}
    name = ""
    for line in block.splitlines():
        if re.match(r"^\S", line):  # the next top-level folder (bench/, tests/): registry/ ends
            break
        if re.match(r"^  \S", line):
            name = line.split()[0].rstrip(",")
            found[name] = ""
        found[name] += " " + line
    return found


def unlisted(doc: str, modules: list[Path]) -> list[str]:
    """Modules (paths below registry/) that the tree does not name: a top-level one anywhere in the
    entries of modules, a package's one in its package's entry."""
    listed = entries(doc)
    top = " ".join(text for name, text in listed.items() if not name.endswith("/"))
    missing = []
    for path in modules:
        *package, file = path.parts
        text = listed.get(f"{package[0]}/", "") if package else top
        if not re.search(rf"(?<![\w/]){re.escape(file)}\b", text):
            missing.append(path.as_posix())
    return missing


def registry_modules() -> list[Path]:
    return sorted(
        p.relative_to(REGISTRY)
        for p in REGISTRY.rglob("*.py")
        if p.name != "__init__.py" and "piccolo_migrations" not in p.parts
    )


def test_every_module_of_registry_is_in_the_architecture_doc():
    modules = registry_modules()
    assert Path("contracts/rules.py") in modules and Path("app.py") in modules
    assert unlisted((ROOT / "docs" / "architecture.md").read_text(), modules) == []


def test_the_check_finds_a_module_left_out():
    doc = "x\n```\nregistry/\n  app.py   the app;  db.py  engine\n  vendors/   service.py: writes\nbench/ x\n```\n"
    modules = [Path("app.py"), Path("db.py"), Path("vendors/service.py"), Path("vendors/schemas.py")]
    assert unlisted(doc, modules) == ["vendors/schemas.py"]
    assert unlisted(doc, [Path("db.py"), Path("service.py"), Path("lookup/x.py")]) == [
        "service.py",
        "lookup/x.py",
    ]
