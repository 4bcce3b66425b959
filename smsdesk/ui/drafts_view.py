"""Drafts: messages in progress (Compose saves them as the user types); resume or delete."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from smsdesk.core.errors import SmsdeskError
from smsdesk.core.timeparse import format_local, resolve_zone
from smsdesk.engine.service import Service
from smsdesk.engine.views import DraftView
from smsdesk.ui.queue_model import first_line
from smsdesk.ui.widgets import Confirm, ask_with_dialog

DRAFT_ID_ROLE = Qt.ItemDataRole.UserRole + 1


class DraftsView(QWidget):
    resume_requested = Signal(object)  # DraftView

    def __init__(
        self, service: Service, *, confirm: Confirm | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.confirm = confirm or ask_with_dialog(self)
        self.setObjectName("draftsView")
        self.setAccessibleName("Drafts")
        self.list = QListWidget()
        self.list.setObjectName("draftsList")
        self.list.setAccessibleName("Drafts")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setObjectName("resumeDraftButton")
        self.resume_button.setAccessibleName("Resume draft")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setObjectName("deleteDraftButton")
        self.delete_button.setAccessibleName("Delete draft")
        self.status_label = QLabel()
        self.status_label.setObjectName("draftsStatus")
        self.status_label.setAccessibleName("Drafts status")
        buttons = QHBoxLayout()
        buttons.addWidget(self.resume_button)
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.status_label)
        self.resume_button.clicked.connect(self.resume_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        self.list.itemActivated.connect(lambda _item: self.resume_selected())
        self.list.currentRowChanged.connect(self._update_buttons)
        self._update_buttons()  # drafts are read when the window first shows this view

    def refresh(self) -> None:
        current = self.selected_id()
        zone = resolve_zone(self.service.settings().zone)
        self.list.clear()
        for d in self.service.list_drafts():
            who = d.recipients.strip().replace("\n", ", ") or "no recipients yet"
            what = first_line(d.text) or "(no text yet)"
            item = QListWidgetItem(
                f"{what}\n   to {who[:60]} · saved {format_local(d.updated_at, zone)}"
            )
            item.setData(DRAFT_ID_ROLE, d.id)
            self.list.addItem(item)
            if d.id == current:
                self.list.setCurrentItem(item)
        if self.list.currentRow() < 0 and self.list.count():
            self.list.setCurrentRow(0)
        self.status_label.setText("" if self.list.count() else "No drafts.")
        self._update_buttons()

    def _update_buttons(self, *_: object) -> None:
        has = self.list.currentItem() is not None
        self.resume_button.setEnabled(has)
        self.delete_button.setEnabled(has)

    def selected_id(self) -> str | None:
        item = self.list.currentItem()
        value = item.data(DRAFT_ID_ROLE) if item is not None else None
        return value if isinstance(value, str) else None

    def resume_selected(self) -> None:
        draft_id = self.selected_id()
        if draft_id is None:
            return
        try:
            draft: DraftView = self.service.get_draft(draft_id)
        except SmsdeskError as exc:
            self.status_label.setText(str(exc))
            self.refresh()
            return
        self.resume_requested.emit(draft)

    def delete_selected(self) -> None:
        draft_id = self.selected_id()
        if draft_id is None or not self.confirm("Delete draft", "Delete this draft?"):
            return
        try:
            self.service.delete_draft(draft_id)
        except SmsdeskError as exc:
            self.status_label.setText(str(exc))
        self.refresh()
