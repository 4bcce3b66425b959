"""Which custom fields (imported columns such as "dentist") the contacts table shows."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QDialog, QLabel, QPushButton, QVBoxLayout, QWidget


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
