"""The main window: Compose, Calendar and Queue, with the engine's state in the status bar.

A placeholder for now: the Queue lists messages from the database; Compose and Calendar say
how to schedule from the command line until their views land.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from smsdesk.core.timeparse import format_local, resolve_zone
from smsdesk.engine.service import Service

QUEUE_COLUMNS = ("Send time", "Recipient", "Text", "Provider", "State", "Where it lives")


class MainWindow(QMainWindow):
    def __init__(self, service: Service) -> None:
        super().__init__()
        self.service = service
        self.setWindowTitle("smsdesk")
        self.setObjectName("mainWindow")
        self.resize(960, 600)

        self.tabs = QTabWidget(self)
        self.tabs.setAccessibleName("Views")
        self.tabs.addTab(
            self._placeholder(
                "composeView",
                "Compose is on its way.\n\nUntil then, schedule from a terminal:\n"
                'smsdesk schedule --to +15551234567 --text "Hello" --at "2026-12-01 09:00"',
            ),
            "Compose",
        )
        self.tabs.addTab(
            self._placeholder("calendarView", "The calendar of scheduled messages is on its way."),
            "Calendar",
        )
        self.queue_table = QTableWidget(0, len(QUEUE_COLUMNS))
        self.queue_table.setObjectName("queueTable")
        self.queue_table.setAccessibleName("Message queue")
        self.queue_table.setHorizontalHeaderLabels(list(QUEUE_COLUMNS))
        self.queue_table.horizontalHeader().setStretchLastSection(True)
        self.queue_table.verticalHeader().setVisible(False)
        self.queue_table.setWordWrap(False)
        self.queue_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        queue = QWidget()
        queue.setObjectName("queueView")
        layout = QVBoxLayout(queue)
        layout.addWidget(self.queue_table)
        self.tabs.addTab(queue, "Queue")
        self.setCentralWidget(self.tabs)

        self.status = QLabel()
        self.status.setObjectName("engineStatus")
        self.status.setAccessibleName("Engine status")
        self.statusBar().addPermanentWidget(self.status, 1)

        self._timer = QTimer(self)
        self._timer.setInterval(5000)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    @staticmethod
    def _placeholder(name: str, text: str) -> QWidget:
        page = QWidget()
        page.setObjectName(name)
        label = QLabel(text)
        label.setWordWrap(True)
        label.setAccessibleName(text.splitlines()[0])
        QVBoxLayout(page).addWidget(label)
        return page

    def refresh(self) -> None:
        """Re-read the queue and the summary (local database only, no network)."""
        messages = self.service.list_messages(limit=500)
        zone = resolve_zone(self.service.ctx.settings.zone)
        self.queue_table.setRowCount(len(messages))
        for row, m in enumerate(messages):
            values = (
                format_local(m.send_at, zone),
                m.recipient,
                m.text.splitlines()[0] if m.text else "",
                m.provider,
                m.state,
                m.where,
            )
            for col, value in enumerate(values):
                self.queue_table.setItem(row, col, QTableWidgetItem(value))
        self.queue_table.resizeColumnsToContents()
        summary = self.service.summary()
        due = summary.next_hand_off
        when = format_local(due, zone) if due else "nothing due"
        self.status.setText(
            f"Held on this computer: {summary.held_here} · "
            f"at provider: {summary.at_provider} · next hand-off: {when}"
        )
