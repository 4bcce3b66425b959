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


class Service:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.scheduling = Scheduling(ctx)
        self.actions = Actions(ctx)
        self.messages = MessageReader(ctx)
        self.drafts = Drafts(ctx)
        self.accounts = Accounts(ctx)
        self.preferences = SettingsService(ctx)
        # The operations the faces call, each taken from the part that holds it.
        self.schedule = self.scheduling.schedule
        self.describe_handling = self.scheduling.describe_handling
        self.preview = self.scheduling.preview
        self.list_messages = self.messages.list_messages
        self.show = self.messages.show
        self.summary = self.messages.summary
        self.reschedule = self.actions.reschedule
        self.cancel = self.actions.cancel
        self.retry = self.actions.retry
        self.settings = self.preferences.settings
        self.update_settings = self.preferences.update_settings
        self.save_draft = self.drafts.save_draft
        self.list_drafts = self.drafts.list_drafts
        self.get_draft = self.drafts.get_draft
        self.delete_draft = self.drafts.delete_draft
        self.account_kinds = self.accounts.account_kinds
        self.list_accounts = self.accounts.list_accounts
        self.add_account = self.accounts.add_account
        self.set_default_account = self.accounts.set_default_account
        self.remove_account = self.accounts.remove_account
        self.test_account = self.accounts.test_account

    @property
    def clock(self) -> Clock:
        return self.ctx.clock

    def contact_book(self) -> ContactBook:
        return ContactBook(self.ctx)

    def browser(self) -> Browser:
        return Browser(self.ctx)

    def normalize_recipients(self, recipients: Sequence[str], account: str | None) -> list[str]:
        """The recipients as E.164 numbers for the named (else the default) account."""
        return self.scheduling.normalize_recipients(recipients, self.ctx.account(account))
