"""The service façade: every operation the window and the command line offer.

A thin composition: each part lives in a module named for what it holds —
``scheduling`` (validate and store a compose action), ``actions`` (cancel, reschedule,
retry, with their intent records), ``messages`` (reading the queue), ``drafts``,
``accounts`` and ``settings``. The faces are given a ``Service`` (or one of its parts) and
never reach into storage or providers themselves.

Each call validates first and changes nothing when input is invalid. Scheduling only writes
the database; the Dispatcher does the hand-off. Cancel and reschedule of a message that the
provider holds talk to the provider, so the window calls them off the Qt thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from smsdesk.core.clock import Clock
from smsdesk.engine.accounts import Accounts
from smsdesk.engine.actions import Actions
from smsdesk.engine.browse import Browser
from smsdesk.engine.contacts import ContactBook
from smsdesk.engine.context import AppContext
from smsdesk.engine.drafts import Drafts
from smsdesk.engine.messages import MessageReader
from smsdesk.engine.scheduling import Scheduling
from smsdesk.engine.settings import SettingsService
from smsdesk.engine.views import (
    AccountView,
    ActionResult,
    BatchResult,
    DraftView,
    MessageView,
    PreviewView,
    Summary,
)
from smsdesk.store.settings import Settings


class Service:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.scheduling = Scheduling(ctx)
        self.actions = Actions(ctx)
        self.messages = MessageReader(ctx)
        self.drafts = Drafts(ctx)
        self.accounts = Accounts(ctx)
        self.preferences = SettingsService(ctx)

    # -- what the faces are handed besides the service ---------------------------------------

    @property
    def clock(self) -> Clock:
        return self.ctx.clock

    def contact_book(self) -> ContactBook:
        return ContactBook(self.ctx)

    def browser(self) -> Browser:
        return Browser(self.ctx)

    # -- scheduling ----------------------------------------------------------------------

    def schedule(
        self,
        recipients: Sequence[str],
        text: str,
        send_at: datetime,
        zone: str,
        *,
        account: str | None = None,
        sender: str | None = None,
        group: str | None = None,
        recipient_local: bool = False,
        values: dict[str, dict[str, object]] | None = None,
        appointment: tuple[int, int] | None = None,
    ) -> BatchResult:
        return self.scheduling.schedule(
            recipients,
            text,
            send_at,
            zone,
            account=account,
            sender=sender,
            group=group,
            recipient_local=recipient_local,
            values=values,
            appointment=appointment,
        )

    def normalize_recipients(self, recipients: Sequence[str], account: str | None) -> list[str]:
        return self.scheduling.normalize_recipients(recipients, self.ctx.account(account))

    def describe_handling(self, send_at: datetime, zone: str, account: str | None = None) -> str:
        return self.scheduling.describe_handling(send_at, zone, account)

    def preview(self, text: str, account: str | None = None) -> PreviewView:
        return self.scheduling.preview(text, account)

    # -- reading -------------------------------------------------------------------------

    def list_messages(self, state: str | None = None, limit: int = 500) -> list[MessageView]:
        return self.messages.list_messages(state, limit)

    def show(self, ident: str) -> list[MessageView]:
        return self.messages.show(ident)

    def summary(self) -> Summary:
        return self.messages.summary()

    # -- changing ------------------------------------------------------------------------

    def reschedule(self, ident: str, send_at: datetime) -> list[ActionResult]:
        return self.actions.reschedule(ident, send_at)

    def cancel(self, ident: str) -> list[ActionResult]:
        return self.actions.cancel(ident)

    def retry(self, ident: str) -> list[ActionResult]:
        return self.actions.retry(ident)

    # -- settings ------------------------------------------------------------------------

    def settings(self) -> Settings:
        return self.preferences.settings()

    def update_settings(
        self,
        *,
        zone: str | None = None,
        default_region: str | None = None,
        catch_up_grace_minutes: int | None = None,
        quiet_hours: str | None = None,
        quiet_mode: str | None = None,
    ) -> Settings:
        return self.preferences.update_settings(
            zone=zone,
            default_region=default_region,
            catch_up_grace_minutes=catch_up_grace_minutes,
            quiet_hours=quiet_hours,
            quiet_mode=quiet_mode,
        )

    # -- drafts --------------------------------------------------------------------------

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
        return self.drafts.save_draft(
            draft_id=draft_id,
            recipients=recipients,
            text=text,
            sender=sender,
            account_name=account_name,
            send_at=send_at,
            zone=zone,
        )

    def list_drafts(self) -> list[DraftView]:
        return self.drafts.list_drafts()

    def get_draft(self, draft_id: str) -> DraftView:
        return self.drafts.get_draft(draft_id)

    def delete_draft(self, draft_id: str) -> None:
        self.drafts.delete_draft(draft_id)

    # -- provider accounts ---------------------------------------------------------------

    @staticmethod
    def account_kinds() -> list[tuple[str, str]]:
        return Accounts.account_kinds()

    def list_accounts(self) -> list[AccountView]:
        return self.accounts.list_accounts()

    def add_account(
        self,
        name: str,
        kind: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        sender: str | None = None,
        options: dict[str, object] | None = None,
        make_default: bool = False,
    ) -> AccountView:
        return self.accounts.add_account(
            name,
            kind,
            api_key=api_key,
            base_url=base_url,
            sender=sender,
            options=options,
            make_default=make_default,
        )

    def set_default_account(self, name: str) -> None:
        self.accounts.set_default_account(name)

    def remove_account(self, name: str) -> None:
        self.accounts.remove_account(name)

    def test_account(self, name: str | None) -> str:
        return self.accounts.test_account(name)
