"""A read-only table of text rows (import previews, the Reminders and Series lists).

A model, not one item per cell: a 100,000-row file can have tens of thousands of repaired
rows, and items for them froze the window for a second."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

_ROOT = QModelIndex()
_DISPLAY = Qt.ItemDataRole.DisplayRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole


class RowsModel(QAbstractTableModel):
    """Rows of text; each cell's tooltip is its whole text."""

    def __init__(self, headers: Sequence[str]) -> None:
        super().__init__()
        self.headers = list(headers)
        self.rows: Sequence[tuple[str, ...]] = []

    def set_rows(self, rows: Sequence[tuple[str, ...]]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.headers)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = _DISPLAY) -> str | None:
        if not index.isValid() or role not in (_DISPLAY, _TOOLTIP):
            return None
        return self.rows[index.row()][index.column()]

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY
    ) -> str | None:
        if orientation is Qt.Orientation.Horizontal and role == _DISPLAY:
            return self.headers[section]
        return None


def rows_table(name: str, accessible: str, headers: Sequence[str]) -> QTableView:
    table = QTableView()
    table.setModel(RowsModel(headers))
    table.setObjectName(name)
    table.setAccessibleName(accessible)
    header = table.horizontalHeader()
    for column in range(len(headers) - 1):
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(len(headers) - 1, QHeaderView.ResizeMode.Stretch)
    table.setWordWrap(True)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    return table


def fill(table: QTableView, rows: Sequence[tuple[str, ...]], wrap_rows: int) -> None:
    """Show ``rows``. Long text wraps in the last column instead of scrolling sideways;
    measuring every row's height is itself slow, so a list longer than ``wrap_rows`` keeps
    one line a row (the tooltip has all)."""
    model = table.model()
    assert isinstance(model, RowsModel)
    model.set_rows(rows)
    if len(rows) <= wrap_rows:
        table.resizeRowsToContents()
