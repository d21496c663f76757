"""Nothing outside labbench/ui imports PySide6 or pyqtgraph (DESIGN.md §1)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import labbench

PACKAGE = Path(labbench.__file__).parent
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
        "import sys, labbench.cli, labbench.storage, labbench.storage.repository, "
        "labbench.storage.telemetry, labbench.demo; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
