"""Drafts: unvalidated work in progress from Compose, saved as the user types."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from smsdesk.core.errors import NotFound
from smsdesk.engine.context import AppContext
from smsdesk.engine.ids import new_id
from smsdesk.engine.views import DraftView
from smsdesk.store.models import Draft


class Drafts:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def save_draft(
        self,
        *,
        draft_id: str | None = None,
        recipients: str = "",
        text: str = "",
        sender: str | None = None,
        account_name: str | None = None,
        send_at: datetime | None = None,
        zone: str | None = None,
    ) -> DraftView:
        """Create or update a draft. Drafts are unvalidated work in progress."""
        now = self.ctx.clock.now()
        with self.ctx.db.write() as s:
            draft = s.get(Draft, draft_id) if draft_id else None
            if draft_id and draft is None:
                raise NotFound(f"No draft with id '{draft_id}'.", field="id")
            if draft is None:
                draft = Draft(id=new_id("d"), created_at=now, updated_at=now)
            draft.recipients = recipients
            draft.text = text
            draft.sender = sender
            draft.account_name = account_name
            draft.send_at = send_at
            draft.zone = zone
            draft.updated_at = now
            s.add(draft)
        return self._draft_view(draft)

    def list_drafts(self) -> list[DraftView]:
        with self.ctx.db.read() as s:
            drafts = s.exec(select(Draft).order_by(col(Draft.updated_at).desc())).all()
            return [self._draft_view(d) for d in drafts]

    def get_draft(self, draft_id: str) -> DraftView:
        with self.ctx.db.read() as s:
            draft = s.get(Draft, draft_id)
        if draft is None:
            raise NotFound(f"No draft with id '{draft_id}'.", field="id")
        return self._draft_view(draft)

    def delete_draft(self, draft_id: str) -> None:
        with self.ctx.db.write() as s:
            draft = s.get(Draft, draft_id)
            if draft is None:
                raise NotFound(f"No draft with id '{draft_id}'.", field="id")
            s.delete(draft)

    @staticmethod
    def _draft_view(d: Draft) -> DraftView:
        return DraftView(
            d.id, d.recipients, d.text, d.sender, d.account_name, d.send_at, d.zone, d.updated_at
        )
