"""Desktop integration: the .desktop file validates, its id matches the app's, the install
script puts the entry and every hicolor icon in place."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from labbench import paths
from labbench.ui.app import APP_ID

ROOT = Path(__file__).resolve().parents[2]


def _validator() -> str:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail(
                "desktop-file-validate is missing in CI (.ci/run installs desktop-file-utils)"
            )
        pytest.skip("desktop-file-validate is not installed (apt-get install desktop-file-utils)")
    return tool


def test_desktop_file_validates_and_matches_the_app_id():
    desktop = paths.resources_dir() / f"{APP_ID}.desktop"
    assert desktop.exists()
    result = subprocess.run([_validator(), str(desktop)], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr
    text = desktop.read_text()
    assert f"Icon={APP_ID}" in text and "Exec=labbench" in text


def test_icons_in_every_hicolor_size_and_svg():
    hicolor = paths.resources_dir() / "icons" / "hicolor"
    for size in (16, 22, 24, 32, 48, 64, 128, 256, 512):
        png = hicolor / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    assert (hicolor / "scalable" / "apps" / f"{APP_ID}.svg").read_text().startswith("<svg")


def test_install_script_for_the_user(tmp_path):
    env = dict(os.environ, HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "share"))
    result = subprocess.run(
        ["bash", str(ROOT / "packaging" / "install-desktop.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    entry = tmp_path / "share" / "applications" / f"{APP_ID}.desktop"
    assert entry.exists()
    assert subprocess.run([_validator(), str(entry)], capture_output=True).returncode == 0
    for size in ("48x48", "256x256", "scalable"):
        assert any(
            (tmp_path / "share" / "icons" / "hicolor" / size / "apps").glob(f"{APP_ID}.*")
        ), size
