"""Dependencies point inward: nothing under adapters/ imports the services layer.

Adapters implement the ports of :mod:`makegood.services.ports`; if an adapter imported a
service, the layers would depend on each other and a use case could not be tested with fakes.
The check reads every module's import statements (also those inside functions), so an import
made only when a function runs is caught too.
"""

import ast
from pathlib import Path

import makegood

ADAPTERS = Path(makegood.__file__).parent / "adapters"


def imported_modules(path: Path, root: Path) -> set[str]:
    """Every module an ``import`` or ``from ... import`` in ``path`` names (absolute or
    resolved from a relative import); ``root`` is the directory that holds ``makegood/``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                names.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                names.add(node.module)
    return names


def services_imports(adapters: Path) -> dict[str, list[str]]:
    """Modules under ``adapters`` (a ``makegood/adapters`` directory) that import services."""
    root = adapters.parent.parent
    found: dict[str, list[str]] = {}
    for path in sorted(adapters.rglob("*.py")):
        bad = sorted(m for m in imported_modules(path, root)
                     if m == "makegood.services" or m.startswith("makegood.services."))
        if bad:
            found[str(path.relative_to(adapters.parent))] = bad
    return found


def test_no_adapter_imports_the_services_layer():
    assert services_imports(ADAPTERS) == {}


def test_the_check_sees_imports_inside_functions_and_relative_ones(tmp_path):
    # The check itself, on a copy of the layout with a module that breaks the rule in both
    # ways it could hide: inside a function, and as a relative import.
    batch = tmp_path / "makegood" / "adapters" / "batch"
    batch.mkdir(parents=True)
    (batch / "fine.py").write_text("from makegood.domain import policy\n", encoding="utf-8")
    (batch / "probe.py").write_text("def f():\n    from makegood.services import compensation\n"
                                    "    from ...services.ports import Engine\n",
                                    encoding="utf-8")
    assert services_imports(tmp_path / "makegood" / "adapters") == {
        "adapters/batch/probe.py": ["makegood.services", "makegood.services.ports"]}
