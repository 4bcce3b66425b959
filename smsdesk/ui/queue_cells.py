"""What each cell of a Queue row shows: its text, tooltip, colour and alignment.

One presentation for the Queue's model and for the first page painted at start-up
(first_page_model.py), which is drawn before the storage stack is loaded: so this module
imports Qt and smsdesk.core only, and takes any row with a message's fields (``Shown``).
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from smsdesk.core.lifecycle import State, where_it_lives
from smsdesk.core.time_display import when_text
from smsdesk.core.timeparse import format_local, resolve_zone

MESSAGE_ID_ROLE = Qt.ItemDataRole.UserRole + 1


class Column(IntEnum):
    SEND_TIME = 0
    RECIPIENT = 1
    TEXT = 2
    PROVIDER = 3
    STATE = 4
    WHERE = 5
    SEGMENTS = 6


HEADERS = {
    Column.SEND_TIME: "Send time",
    Column.RECIPIENT: "Recipient",
    Column.TEXT: "Text",
    Column.PROVIDER: "Provider",
    Column.STATE: "State",
    Column.WHERE: "Where it lives",
    Column.SEGMENTS: "Segments",
}

# One colour per kind of state, shared with the calendar so both views read alike.
STATE_COLOURS = {
    "draft": "#7f8c8d",
    "queued": "#2471a3",
    "handing_off": "#2471a3",
    "scheduled": "#1e8449",
    "sent": "#117864",
    "delivered": "#117864",
    "failed": "#c0392b",
    "expired": "#c0392b",
    "unknown": "#b9770e",
    # Being changed at the provider: still held there, drawn like "scheduled".
    "cancelling": "#1e8449",
    "rescheduling": "#1e8449",
    "withdrawing": "#1e8449",
    "cancelled": "#7f8c8d",
}


class Shown(Protocol):
    """The fields of a message a Queue row shows (engine.views.MessageView has them all)."""

    @property
    def id(self) -> str: ...
    @property
    def recipient(self) -> str: ...
    @property
    def contact_name(self) -> str | None: ...
    @property
    def recipient_zone(self) -> str | None: ...
    @property
    def text(self) -> str: ...
    @property
    def send_at(self) -> datetime: ...
    @property
    def zone(self) -> str: ...
    @property
    def provider(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def where(self) -> str: ...
    @property
    def segments(self) -> int: ...
    @property
    def last_error(self) -> str | None: ...
    @property
    def attention(self) -> str | None: ...


def first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def recipient_text(m: Shown) -> str:
    """The number with the contact's name beside it, when the number is a contact's."""
    return f"{m.recipient} ({m.contact_name})" if m.contact_name else m.recipient


def display(m: Shown, column: Column, desk: ZoneInfo) -> str:
    """The cell's text; times in the desk's zone ``desk``."""
    if column is Column.SEND_TIME:
        place = resolve_zone(m.recipient_zone) if m.recipient_zone else None
        return when_text(m.send_at, desk, place)
    if column is Column.RECIPIENT:
        return recipient_text(m)
    if column is Column.TEXT:
        return first_line(m.text)
    if column is Column.PROVIDER:
        return m.provider
    if column is Column.STATE:
        return m.state
    if column is Column.WHERE:
        return m.where
    return str(m.segments)


def cell_data(m: Shown, column: Column, role: int, desk: ZoneInfo) -> Any:
    """What a model's ``data`` answers for ``m``'s cell in ``column`` and ``role``."""
    if role == Qt.ItemDataRole.DisplayRole:
        return display(m, column, desk)
    if role == Qt.ItemDataRole.ToolTipRole:
        if column is Column.TEXT:
            return m.text
        if column is Column.SEND_TIME:
            return f"Entered as {format_local(m.send_at, resolve_zone(m.zone))}"
        if column is Column.STATE and (m.last_error or m.attention):
            return m.attention or m.last_error
        return None
    if role == Qt.ItemDataRole.ForegroundRole and column is Column.STATE:
        return QBrush(QColor(STATE_COLOURS.get(m.state, "#000000")))
    if role == Qt.ItemDataRole.TextAlignmentRole and column is Column.SEGMENTS:
        return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if role == MESSAGE_ID_ROLE:
        return m.id
    return None


def header_data(section: int, orientation: Qt.Orientation, role: int) -> Any:
    if (
        orientation == Qt.Orientation.Horizontal
        and role == Qt.ItemDataRole.DisplayRole
        and 0 <= section < len(Column)
    ):
        return HEADERS[Column(section)]
    return None


def queue_table(object_name: str, accessible_name: str, model: QAbstractItemModel) -> QTableView:
    """The Queue's table, set up alike for the first page and the real Queue (sorted by send
    time until the user picks another column)."""
    table = QTableView()
    table.setObjectName(object_name)
    table.setAccessibleName(accessible_name)
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setWordWrap(False)
    table.verticalHeader().setVisible(False)
    header = table.horizontalHeader()
    header.setSortIndicator(Column.SEND_TIME, Qt.SortOrder.AscendingOrder)
    header.setSortIndicatorShown(True)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setSectionResizeMode(Column.TEXT, QHeaderView.ResizeMode.Stretch)
    # The state and place columns fit their longest words ("rescheduling", "unknown:
    # checking with provider"), so no state is cut off at any font size.
    metrics = table.fontMetrics()
    pad = 2 * metrics.horizontalAdvance("M")
    state_width = max(metrics.horizontalAdvance(s.value) for s in State) + pad
    where_width = max(metrics.horizontalAdvance(where_it_lives(s)) for s in State) + pad
    for column, width in (
        (Column.SEND_TIME, 190),
        (Column.RECIPIENT, 120),
        (Column.PROVIDER, 80),
        (Column.STATE, state_width),
        (Column.WHERE, where_width),
        (Column.SEGMENTS, 70),
    ):
        table.setColumnWidth(column, width)
    return table
