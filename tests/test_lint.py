"""The house style holds: `ruff check` and `ruff format --check` pass over the whole repository
with the configuration in pyproject.toml, and no module of the package exceeds 500 lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import labbench

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(labbench.__file__).parent
MAX_MODULE_LINES = 500


def _ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, str(ROOT)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_ruff_finds_nothing():
    result = _ruff("check", "--no-cache", "--output-format", "concise")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_changes_nothing():
    result = _ruff("format", "--check", "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_module_over_500_lines():
    long = {
        str(path.relative_to(PACKAGE)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}
