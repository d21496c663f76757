from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings


@pytest.fixture(autouse=True)
def isolated_qsettings(tmp_path, qapp):
    """QSettings in a temporary folder: tests never touch the developer's real settings."""
    qapp.setOrganizationName("labbench-tests")
    qapp.setApplicationName("labbench")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    yield
    QSettings().clear()
