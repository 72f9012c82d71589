"""The Library's file table: a model over :class:`gui.ops.FileStatus` rows.

Why a model/view pair: a collection can hold thousands of files; a ``QAbstractTableModel`` hands
Qt only the rows on screen, and rows that arrive while a run goes on are inserted without laying
out the others again, so showing a big collection never stalls the GUI thread.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt
from PySide6.QtWidgets import QStyle

from engine.ingest.document import container_of, display_name
from gui import ops

STATUS_TEXT = {"indexed": "Indexed", "unchanged": "Unchanged", "failed": "Failed",
               "skipped": "Skipped", "stored": "In index", "done": "Done"}
STATUS_ICON = {"indexed": QStyle.StandardPixmap.SP_DialogApplyButton,
               "unchanged": QStyle.StandardPixmap.SP_DialogApplyButton,
               "done": QStyle.StandardPixmap.SP_DialogApplyButton,
               "stored": QStyle.StandardPixmap.SP_FileIcon,
               "failed": QStyle.StandardPixmap.SP_MessageBoxWarning,
               "skipped": QStyle.StandardPixmap.SP_MessageBoxInformation}


class FilesModel(QAbstractTableModel):
    """Rows of :class:`gui.ops.FileStatus`: file, status, details, what read it, folder.

    A part of a file (a message in a mailbox, an attachment) shows as "inbox.mbox › 3".
    """

    HEADERS = ("File", "Status", "Details", "Read by", "Folder")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[ops.FileStatus] = []
        self._style: QStyle | None = None

    def set_rows(self, rows: list[ops.FileStatus], style: QStyle) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self._style = style
        self.endResetModel()

    def append_rows(self, rows: list[ops.FileStatus]) -> None:
        """Add rows at the end (files finished during a run): only the new rows are laid out."""
        if rows:
            first = len(self.rows)
            self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
            self.rows += rows
            self.endInsertRows()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (display_name(row.path), STATUS_TEXT.get(row.status, row.status),
                    row.detail, row.loader, os.path.dirname(container_of(row.path)))[col]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{row.path}\n{row.detail}" if row.detail else row.path
        if role == Qt.ItemDataRole.DecorationRole and col == 1 and self._style is not None:
            return self._style.standardIcon(STATUS_ICON.get(row.status,
                                                            QStyle.StandardPixmap.SP_FileIcon))
        return None

    def statuses(self) -> dict[str, str]:
        """path -> status (for tests and summaries)."""
        return {r.path: r.status for r in self.rows}
