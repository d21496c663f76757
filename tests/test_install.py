"""A non-editable install carries db/ and resources/, and the installed app finds them."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import labbench

REPO = Path(labbench.__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_install_finds_migrations_and_resources(tmp_path):
    if not (REPO / "pyproject.toml").exists():
        pytest.fail("tests must run from a source checkout")
    wheel_dir = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheel_dir),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = wheel_dir.glob("labbench-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "labbench/_db/env.py" in names
    for migration in (REPO / "db" / "versions").glob("*.py"):  # every migration ships
        assert f"labbench/_db/versions/{migration.name}" in names
    assert "labbench/_resources/icons/labbench.svg" in names

    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    code = (
        "import labbench, labbench.paths as p, sys;"
        "from labbench.storage import open_database;"
        "db = open_database(sys.argv[1]);"
        "from labbench.storage.engine import current_revision;"
        "print(labbench.__file__); print(p.migrations_dir()); print(p.resources_dir()); "
        "print(current_revision(db.engine))"
    )
    env = dict(os.environ, PYTHONPATH=str(target))
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "installed.sqlite3")],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    ).stdout.split()
    assert all(line.startswith(str(target)) for line in out[:3]), out
    from labbench.storage.engine import head_revision

    assert (
        out[3] == head_revision()
    )  # the installed copy brought the database to the newest migration
