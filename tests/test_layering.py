"""The layers hold (docs/architecture.md §1): the import-linter contracts in pyproject.toml
pass, and nothing outside labbench/ui imports PySide6 or pyqtgraph."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from importlinter.cli import lint_imports

import labbench

PACKAGE = Path(labbench.__file__).parent
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
QT_MODULES = ("PySide6", "shiboken6", "pyqtgraph")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_no_qt_import_outside_ui():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in ("ui", "_db", "_resources"):
            continue
        for module in _imported_modules(path):
            if module.split(".")[0] in QT_MODULES:
                offenders.append(f"{relative}: {module}")
    assert offenders == []


def test_importing_the_core_loads_no_qt():
    """The headless command line never pays for (or needs) Qt."""
    code = (
        "import sys, labbench.cli, labbench.storage, labbench.storage.inventory, "
        "labbench.storage.plans, labbench.storage.runs, labbench.storage.events, "
        "labbench.storage.results, labbench.storage.history, labbench.storage.telemetry, "
        "labbench.records, labbench.demo; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_import_linter_contracts_are_kept(capsys):
    """Layer order, Qt only in ui, SQLAlchemy and ORM models only in storage.  Known
    violations are listed as ignore_imports; one that no longer matches fails this test too,
    so that its entry is removed and the contract tightens."""
    assert PYPROJECT.is_file()
    code = lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert code == 0, report
    assert "Contracts: 4 kept, 0 broken." in report
