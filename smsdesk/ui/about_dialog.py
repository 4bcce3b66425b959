"""About smsdesk: its version, and the licences of smsdesk and of what it is built on, as
the installed packages declare them (their metadata), so the list cannot go stale."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

import smsdesk

# What smsdesk is built on: pyproject's dependencies (PySide6 is the "Essentials" package).
MAIN_DEPENDENCIES = (
    "PySide6-Essentials",
    "shiboken6",
    "httpx",
    "keyring",
    "SQLAlchemy",
    "sqlmodel",
    "alembic",
    "phonenumbers",
    "platformdirs",
    "tzdata",
    "tzlocal",
    "tenacity",
    "icalendar",
)
_CLASSIFIER = "License :: OSI Approved :: "


@dataclass(frozen=True)
class Component:
    name: str
    version: str
    licence: str


def _licence(meta: metadata.PackageMetadata) -> str:
    """License-Expression (PEP 639), else the OSI classifiers, else a short License field."""
    expression = (meta.get_all("License-Expression") or [None])[0]
    if expression:
        return str(expression)
    classifiers = [
        c.removeprefix(_CLASSIFIER).removesuffix(" License").removesuffix(" license")
        for c in meta.get_all("Classifier") or []
        if c.startswith(_CLASSIFIER)
    ]
    if classifiers:
        return " / ".join(dict.fromkeys(classifiers))
    text = str((meta.get_all("License") or [""])[0]).strip()
    # Some packages put the whole licence text there: its first line names it.
    first = text.splitlines()[0].strip() if text else ""
    return first if first and len(first) <= 60 else "see the package"


def component(name: str) -> Component | None:
    try:
        meta = metadata.metadata(name)
    except metadata.PackageNotFoundError:
        return None
    # The name as people know it ("PySide6-Essentials"), not the normalised one in METADATA.
    return Component(name, str(meta["Version"]), _licence(meta))


def smsdesk_component() -> Component:
    """smsdesk itself; from a source checkout that is not installed, the package's version."""
    found = component("smsdesk")
    return found or Component("smsdesk", smsdesk.__version__, "MIT")


def components() -> list[Component]:
    """smsdesk first, then each main dependency that is installed."""
    found = [component(name) for name in MAIN_DEPENDENCIES]
    return [smsdesk_component(), *(c for c in found if c is not None)]


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About smsdesk")
        rows = components()
        me = rows[0]
        heading = QLabel(
            f"<b>smsdesk {me.version}</b><br>Schedule text messages from your desk.<br>"
            f"Licence: {me.licence}"
        )
        heading.setObjectName("aboutHeading")
        heading.setAccessibleName(f"smsdesk {me.version}, licence {me.licence}")
        self.version = me.version
        note = QLabel("smsdesk is built on these packages, each under its own licence:")
        note.setWordWrap(True)
        self.table = QTableWidget(len(rows) - 1, 3)
        self.table.setObjectName("licenceTable")
        self.table.setAccessibleName("Packages and their licences")
        self.table.setHorizontalHeaderLabels(["Package", "Version", "Licence"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, part in enumerate(rows[1:]):
            for column, text in enumerate((part.name, part.version, part.licence)):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.setObjectName("aboutButtons")
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(note)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(560, 420)
