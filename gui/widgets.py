"""Small widgets shared by the screens: the job strip, the mode switch, a flow layout, and a
Markdown view that grows with its text.

Colours always come from the palette (``palette(...)`` in style sheets, ``QPalette`` roles in
code) so the window follows the system's light or dark theme.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QButtonGroup,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLayoutItem,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from engine.jobs import JobState, format_eta
from engine.modes import ADAPTER_MODES, MODE_LABELS

MODE_TIPS = {
    "base": "The model alone: no documents, no adapter",
    "rag": "Answer from passages retrieved from the active collection",
    "adapter": "The model with the active LoRA adapter, no documents",
    "rag+adapter": "Retrieved passages and the active adapter",
}


def hint(text: str) -> QLabel:
    """A secondary-text label (palette's placeholder colour: readable in light and dark)."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: palette(placeholder-text);")
    return label


def spin_box(lo: int, hi: int, step: int = 1, special: str = "") -> QSpinBox:
    """An integer field; ``special`` is shown instead of the minimum ("automatic", "all")."""
    spin = QSpinBox()
    spin.setRange(lo, hi)
    spin.setSingleStep(step)
    if special:
        spin.setSpecialValueText(special)
    return spin


def form_group(title: str) -> tuple[QGroupBox, QFormLayout]:
    """A titled box holding a form whose fields keep their natural width (numbers do not need
    the whole window)."""
    box = QGroupBox(title)
    form = QFormLayout(box)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
    return box, form


def sidebar_layout(owner: QWidget, side: QWidget, main: QWidget,
                   sizes: tuple[int, int] = (230, 900)) -> QSplitter:
    """Fill ``owner`` with ``side`` and ``main`` in a splitter; only ``main`` grows with the
    window, so a list (sessions, collections, the evaluation form) keeps its width."""
    split = QSplitter(Qt.Orientation.Horizontal)
    split.addWidget(side)
    split.addWidget(main)
    split.setStretchFactor(0, 0)
    split.setStretchFactor(1, 1)
    split.setSizes(list(sizes))
    layout = QVBoxLayout(owner)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(split)
    return split


def job_text(state: JobState) -> str:
    """"Embedding report.pdf · 5 / 13 · 2.1/s · ETA 6 s" from a Job snapshot."""
    parts = [state.status or "Working"]
    if state.total:
        parts.append(f"{state.done:g} / {state.total:g}")
    if state.cancelled:  # wrapping up (saving, optimizing): no rate or ETA of the rest
        return " · ".join(parts)
    if state.rate:
        parts.append(f"{state.rate:.1f}/s" if state.rate >= 1 else
                     f"{1 / state.rate:.1f} s each")
    if state.total and not state.finished:
        parts.append(f"ETA {format_eta(state.eta_s)}")
    return " · ".join(parts)


class JobStrip(QFrame):
    """Progress bar, status with rate and ETA, and a Cancel button for the running job."""

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        self.label = QLabel()
        self.label.setMinimumWidth(200)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setMaximumWidth(320)
        self.cancel = QPushButton("Cancel")
        self.cancel.setToolTip("Stop this job; finished work is kept")
        self.cancel.clicked.connect(self.cancel_requested)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel)
        self.hide()

    def start(self, text: str) -> None:
        self.label.setText(text)
        self.bar.setRange(0, 0)  # busy until the first progress report
        self.cancel.setEnabled(True)
        self.show()

    def update_state(self, state: JobState) -> None:
        if state.fraction is None:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(state.fraction * 1000))
        text = job_text(state)
        if state.cancelled:
            text = "Cancelling… (finished work is kept)"
            self.cancel.setEnabled(False)
        self.label.setText(text)

    def finish(self) -> None:
        self.hide()


class ModeSwitch(QFrame):
    """Base / RAG / Adapter / RAG+Adapter as a segmented row of checkable buttons."""

    mode_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: dict[str, QPushButton] = {}
        for mode, label in MODE_LABELS.items():
            button = QPushButton(label)
            button.setCheckable(True)
            button.setToolTip(MODE_TIPS[mode])
            button.setObjectName(f"mode-{mode}")
            self.group.addButton(button)
            self.buttons[mode] = button
            layout.addWidget(button)
        self.buttons["rag"].setChecked(True)
        # The active mode must be unmistakable (it decides what an answer is based on): a
        # segmented control whose checked segment takes the palette's highlight, in light and
        # dark themes alike (all segments are styled, so they keep one size).
        self.setStyleSheet(
            "QPushButton { border: 1px solid palette(mid); background: palette(button); "
            "padding: 3px 14px; margin: 0; }"
            "QPushButton:hover:!checked:enabled { background: palette(light); }"
            "QPushButton:checked { background: palette(highlight); "
            "color: palette(highlighted-text); border-color: palette(highlight); }")
        self.group.buttonToggled.connect(self._toggled)

    def _toggled(self, button: QAbstractButton, checked: bool) -> None:
        if checked:
            self.mode_changed.emit(self.mode)

    @property
    def mode(self) -> str:
        for mode, button in self.buttons.items():
            if button.isChecked():
                return mode
        return "rag"

    def set_mode(self, mode: str) -> None:
        if mode in self.buttons:
            self.buttons[mode].setChecked(True)

    def set_adapter_available(self, available: bool) -> None:
        """Adapter modes need an active adapter; without one they are disabled, with a reason."""
        for mode in ADAPTER_MODES:
            button = self.buttons[mode]
            button.setEnabled(available)
            button.setToolTip(MODE_TIPS[mode] if available else
                              "Activate an adapter on the Adapters screen first")
        if not available and self.mode in ADAPTER_MODES:
            self.set_mode("rag")


class MarkdownView(QTextBrowser):
    """A read-only Markdown view that grows to fit its text (no inner scroll bar).

    Used for answers inside a scrolling transcript: each answer re-renders only its own text
    while it streams, which keeps the GUI thread's work per batch tiny.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenExternalLinks(False)
        self.setOpenLinks(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.viewport().setAutoFillBackground(False)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self._markdown = ""

    def set_markdown(self, text: str) -> None:
        self._markdown = text
        self.setMarkdown(text)

    @property
    def markdown(self) -> str:
        return self._markdown

    def _fit(self, size: object = None) -> None:
        height = int(self.document().size().height()) + self.frameWidth() * 2 + 2
        if height != self.height():
            self.setFixedHeight(max(height, self.fontMetrics().height() + 8))

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)
        self.document().setTextWidth(self.viewport().width())
        self._fit()


class FlowLayout(QLayout):
    """Lays widgets out left to right and wraps (Qt's classic example), for citation chips."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self.setSpacing(spacing)
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._layout(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._layout(rect, apply=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _layout(self, rect: QRect, apply: bool) -> int:
        x, y, line = rect.x(), rect.y(), 0
        for item in self._items:
            hint_size = item.sizeHint()
            if x + hint_size.width() > rect.right() and line > 0:
                x, y, line = rect.x(), y + line + self.spacing(), 0
            if apply:
                item.setGeometry(QRect(QPoint(x, y), hint_size))
            x += hint_size.width() + self.spacing()
            line = max(line, hint_size.height())
        return y + line - rect.y()
