"""Render the app icon (resources/icons/labbench.svg) into the hicolor PNG sizes.

    python packaging/render_icons.py

The PNGs are committed under resources/icons/hicolor/; run this again after editing the SVG.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
APP_ID = "org.labbench.Labbench"


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    icons = root / "resources" / "icons"
    app = QGuiApplication(sys.argv[:1])  # noqa: F841 - Qt needs it for painting
    renderer = QSvgRenderer(str(icons / "labbench.svg"))
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        target = icons / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        image.save(str(target))
        print(target.relative_to(root))
    scalable = icons / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    scalable.write_bytes((icons / "labbench.svg").read_bytes())
    print(scalable.relative_to(root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
