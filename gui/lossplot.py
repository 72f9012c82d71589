"""A live loss curve drawn with QPainter: training loss per step and held-out loss per evaluation.

Why hand-drawn: QtCharts is not in PySide6-Essentials, and matplotlib would re-render a whole
figure per step on the GUI thread. Two polylines and a few labels cost well under a millisecond.
Colours come from the palette (highlight for training, a hue-shifted highlight for held-out, the
text colour for axes), and the held-out series is also dashed with markers, so it reads in light
and dark themes and without colour.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


def nice_ticks(lo: float, hi: float, count: int = 4) -> list[float]:
    """Round tick values covering [lo, hi] (1, 2, 5 × 10^n steps)."""
    if not math.isfinite(lo) or not math.isfinite(hi):
        return []
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, count)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step) * step
    ticks = []
    value = start
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def heldout_colour(palette: QPalette) -> QColor:
    base = palette.color(QPalette.ColorRole.Highlight)
    hue = base.hslHue() if base.hslHue() >= 0 else 210
    return QColor.fromHsl((hue + 150) % 360, max(120, base.hslSaturation()),
                          base.lightness())


class LossCurve(QWidget):
    """Training and held-out loss against the step; ``total_steps`` fixes the x range."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.train: list[tuple[float, float]] = []
        self.heldout: list[tuple[float, float]] = []
        self.total_steps = 0

    def sizeHint(self) -> QSize:
        return QSize(480, 220)

    def minimumSizeHint(self) -> QSize:
        return QSize(240, 140)

    def clear(self, total_steps: int = 0) -> None:
        self.train, self.heldout, self.total_steps = [], [], total_steps
        self.update()

    def add_train(self, step: float, loss: float) -> None:
        if math.isfinite(loss) and (not self.train or step > self.train[-1][0]):
            self.train.append((step, loss))
            self.update()

    def add_heldout(self, step: float, loss: float) -> None:
        if math.isfinite(loss) and (not self.heldout or step > self.heldout[-1][0]):
            self.heldout.append((step, loss))
            self.update()

    def paintEvent(self, _event: object) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.Text)
        grid = pal.color(QPalette.ColorRole.Mid)
        painter.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        fm = self.fontMetrics()
        left = fm.horizontalAdvance("00.00") + 12
        plot = QRectF(left, fm.height() + 8, self.width() - left - 12,
                      self.height() - 3 * fm.height() - 14)
        points = self.train + self.heldout
        if not points or plot.width() < 20 or plot.height() < 20:
            painter.setPen(text)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                             "The loss curve appears when training starts")
            return
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        x_hi = max(self.total_steps, max(xs), 1)
        y_lo, y_hi = min(ys), max(ys)
        pad = (y_hi - y_lo) * 0.08 or 0.5
        y_lo, y_hi = y_lo - pad, y_hi + pad

        def to_px(step: float, loss: float) -> QPointF:
            return QPointF(plot.left() + plot.width() * step / x_hi,
                           plot.bottom() - plot.height() * (loss - y_lo) / (y_hi - y_lo))

        painter.setPen(QPen(grid, 1, Qt.PenStyle.DotLine))
        for tick in nice_ticks(y_lo, y_hi):
            y = to_px(0, tick).y()
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(text)
            painter.drawText(QRectF(0, y - fm.height() / 2, left - 6, fm.height()),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             f"{tick:g}")
            painter.setPen(QPen(grid, 1, Qt.PenStyle.DotLine))
        painter.setPen(QPen(text, 1))
        painter.drawLine(plot.bottomLeft(), plot.bottomRight())
        painter.drawLine(plot.bottomLeft(), plot.topLeft())
        for tick in nice_ticks(0, x_hi):
            x = to_px(tick, y_lo).x()
            painter.drawText(QRectF(x - 30, plot.bottom() + 2, 60, fm.height()),
                             Qt.AlignmentFlag.AlignHCenter, f"{tick:g}")
        painter.drawText(QRectF(plot.left(), plot.bottom() + 2 + fm.height(), plot.width(),
                                fm.height()), Qt.AlignmentFlag.AlignHCenter, "step")
        train_colour = pal.color(QPalette.ColorRole.Highlight)
        held_colour = heldout_colour(pal)
        self._series(painter, self.train, to_px, QPen(train_colour, 2), marker=False)
        dashed = QPen(held_colour, 2, Qt.PenStyle.DashLine)
        self._series(painter, self.heldout, to_px, dashed, marker=True)
        # legend
        x = plot.left() + 8
        y = 4
        for label, pen in (("training loss", QPen(train_colour, 2)), ("held-out loss", dashed)):
            painter.setPen(pen)
            painter.drawLine(QPointF(x, y + fm.height() / 2), QPointF(x + 22, y + fm.height() / 2))
            painter.setPen(text)
            painter.drawText(QPointF(x + 28, y + fm.ascent()), label)
            x += 28 + fm.horizontalAdvance(label) + 18

    @staticmethod
    def _series(painter: QPainter, points: list[tuple[float, float]], to_px: object,
                pen: QPen, marker: bool) -> None:
        if not points:
            return
        path = QPainterPath()
        for i, (step, loss) in enumerate(points):
            p = to_px(step, loss)  # type: ignore[operator]
            if i == 0:
                path.moveTo(p)
            else:
                path.lineTo(p)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)
        if marker or len(points) == 1:
            painter.setBrush(pen.color())
            painter.setPen(QPen(pen.color(), 1))
            for step, loss in points:
                painter.drawEllipse(to_px(step, loss), 3, 3)  # type: ignore[operator]
