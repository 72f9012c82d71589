"""Render the hand-written SVG icon to the hicolor PNG sizes, with Qt's own SVG renderer.

Why at build time: the SVG is the one source; PNGs (16 to 512 px) are what panels, docks and
menus that do not read SVG need, and generating them keeps binaries out of git. Qt is already in
the venv, so no extra tool (rsvg-convert, Inkscape) is required.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def render(svg: Path, out_dir: Path, sizes: tuple[int, ...] = SIZES) -> dict[int, Path]:
    """Write ``out_dir/<n>x<n>/apps/satchel.png`` for each size; returns size -> file."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg} is not a valid SVG for Qt")
    written: dict[int, Path] = {}
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        target = out_dir / f"{size}x{size}" / "apps" / "satchel.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(target), "PNG"):
            raise OSError(f"could not write {target}")
        written[size] = target
    return written


if __name__ == "__main__":
    for n, path in render(Path(sys.argv[1]), Path(sys.argv[2])).items():
        print(n, path)
