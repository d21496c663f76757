"""Where labbench finds its own files and where it keeps the user's.

The migrations (``db/``) and resources (``resources/``) live at the top of the source
tree.  A wheel carries them inside the package as ``labbench/_db`` and
``labbench/_resources`` (see ``pyproject.toml``); a PyInstaller bundle does the same.
An editable install or a plain checkout finds them beside the package.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "labbench"
_PACKAGE_DIR = Path(__file__).resolve().parent


def _bundled_or_checkout(bundled: str, checkout: str) -> Path:
    for candidate in (_PACKAGE_DIR / bundled, _PACKAGE_DIR.parent / checkout):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"labbench is installed without its {checkout}/ folder "
        f"(looked in {_PACKAGE_DIR / bundled} and {_PACKAGE_DIR.parent / checkout})."
    )


def migrations_dir() -> Path:
    """The Alembic script directory (``env.py`` and ``versions/``)."""
    return _bundled_or_checkout("_db", "db")


def resources_dir() -> Path:
    """Icons, stylesheets, rig profiles, example plans."""
    return _bundled_or_checkout("_resources", "resources")


def user_data_dir() -> Path:
    """Where the default SQLite database and run logs live (created on demand)."""
    path = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_config_dir() -> Path:
    """User profiles and plans (created on demand)."""
    path = Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_log_dir() -> Path:
    path = Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path
