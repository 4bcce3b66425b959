"""The contacts table's columns: which custom fields (imported columns such as "dentist") it
shows, and the order and widths the user gave its columns, remembered across runs.

Kept in ``window.ini`` beside the window's geometry (see window_state.py): like it, a matter
of one computer's screen, not of the contact book several desks may share.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QCheckBox, QDialog, QLabel, QPushButton, QVBoxLayout, QWidget

from smsdesk.ui.window_state import FILE_NAME

_KEY = "contacts/columns"


class ColumnLayout:
    """The remembered choice: hidden custom fields, the columns' order (by their titles) and
    widths. Columns absent from one listing keep their place and width for the next."""

    def __init__(self, folder: Path) -> None:
        self._settings = QSettings(str(folder / FILE_NAME), QSettings.Format.IniFormat)
        self.hidden: set[str] = set()
        self.order: list[str] = []
        self.widths: dict[str, int] = {}
        self._load()

    def _load(self) -> None:
        # One JSON value: INI lists of one item read back as a plain string.
        raw = self._settings.value(_KEY)
        try:
            saved = json.loads(raw) if isinstance(raw, str) else {}
        except ValueError:
            saved = {}  # a hand-edited or damaged file: start from the defaults
        if not isinstance(saved, dict):
            return
        hidden, order, widths = saved.get("hidden"), saved.get("order"), saved.get("widths")
        if isinstance(hidden, list):
            self.hidden = {h for h in hidden if isinstance(h, str)}
        if isinstance(order, list):
            self.order = [o for o in order if isinstance(o, str)]
        if isinstance(widths, dict):
            self.widths = {k: v for k, v in widths.items() if isinstance(v, int) and 0 < v < 10_000}

    def arranged(self, names: tuple[str, ...]) -> list[str]:
        """``names`` in the remembered order; ones never placed keep their own order, last."""
        known = [n for n in self.order if n in names]
        return known + [n for n in names if n not in known]

    def remember(self, shown: list[str], widths: dict[str, int]) -> None:
        """The columns as now shown (in order, with widths); the rest keep their place."""
        rest = [n for n in self.order if n not in shown]
        self.order = shown + rest
        self.widths.update(widths)
        self.save()

    def save(self) -> None:
        value = {"hidden": sorted(self.hidden), "order": self.order, "widths": self.widths}
        self._settings.setValue(_KEY, json.dumps(value, ensure_ascii=False))
        self._settings.sync()


class ColumnsDialog(QDialog):
    chosen = Signal(object)  # the tuple of field names to show, in the offered order

    def __init__(
        self, offered: tuple[str, ...], shown: tuple[str, ...], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("contactColumnsDialog")
        self.setAccessibleName("Columns")
        self.setWindowTitle("Columns")
        self.offered = offered
        self.boxes: dict[str, QCheckBox] = {}
        layout = QVBoxLayout(self)
        if offered:
            layout.addWidget(QLabel("Show these custom fields as columns:"))
        else:
            layout.addWidget(
                QLabel("No contact has custom fields yet; importing a file adds them.")
            )
        for name in offered:
            box = QCheckBox(name)
            box.setObjectName(f"column_{name}")
            box.setAccessibleName(f"Show {name}")
            box.setChecked(name in shown)
            box.toggled.connect(lambda _on: self.chosen.emit(self.shown()))
            self.boxes[name] = box
            layout.addWidget(box)
        close = QPushButton("Close")
        close.setObjectName("closeColumnsButton")
        close.setAccessibleName("Close")
        close.clicked.connect(self.accept)
        layout.addStretch(1)
        layout.addWidget(close)

    def shown(self) -> tuple[str, ...]:
        return tuple(name for name in self.offered if self.boxes[name].isChecked())
