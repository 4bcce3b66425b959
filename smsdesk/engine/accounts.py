"""Provider accounts: add (key to the keyring), list with capabilities, default, remove, test."""

from __future__ import annotations

import json

from sqlalchemy import func, update
from sqlmodel import col, select

from smsdesk.core.errors import ConflictError, InvalidInput
from smsdesk.core.lifecycle import State
from smsdesk.core.urls import check_provider_url
from smsdesk.engine.context import AppContext
from smsdesk.engine.views import AccountView
from smsdesk.providers.registry import MODULES, kind_info, open_provider
from smsdesk.store.models import Message, ProviderAccount

# Messages in these states still need their account.
ACTIVE_STATES = (State.QUEUED, State.HANDING_OFF, State.SCHEDULED, State.UNKNOWN)


class Accounts:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    @staticmethod
    def needs_key(kind: str) -> bool:
        """Whether an account of ``kind`` needs an API key (an unknown kind is refused)."""
        return kind_info(kind).needs_key

    @staticmethod
    def account_kinds() -> list[tuple[str, str]]:
        """(kind, title) of every provider smsdesk can use, for the account form."""
        return [(kind, kind_info(kind).title) for kind in MODULES]

    def list_accounts(self) -> list[AccountView]:
        with self.ctx.db.read() as s:
            accounts = s.exec(
                select(ProviderAccount)
                .where(col(ProviderAccount.removed_at).is_(None))
                .order_by(col(ProviderAccount.name))
            ).all()
        return [
            AccountView(
                a.name,
                a.kind,
                a.base_url,
                a.sender,
                a.is_default,
                kind_info(a.kind).capabilities.as_dict(),
            )
            for a in accounts
        ]

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
        name = name.strip()
        if not name or len(name) > 64:
            raise InvalidInput("Give the account a name of 1 to 64 characters.", field="name")
        info = kind_info(kind)
        if info.needs_key and not (api_key and api_key.strip()):
            raise InvalidInput(f"A {info.title} account needs an API key.", field="api_key")
        if base_url:
            base_url = check_provider_url(base_url)
        # Building the client (no request yet) checks the options, so a bad account is
        # refused now rather than failing at its first hand-off.
        open_provider(
            kind,
            home=self.ctx.home,
            clock=self.ctx.clock,
            settings_json=json.dumps(options or {}),
            base_url=base_url,
            api_key=api_key,
        ).close()
        with self.ctx.db.read() as s:
            if s.exec(select(ProviderAccount).where(ProviderAccount.name == name)).first():
                raise InvalidInput(f"An account named '{name}' already exists.", field="name")
        if api_key:
            self.ctx.secrets.set(name, api_key.strip())
        now = self.ctx.clock.now()
        try:
            with self.ctx.db.write() as s:
                if make_default:
                    s.execute(update(ProviderAccount).values(is_default=False))
                s.add(
                    ProviderAccount(
                        name=name,
                        kind=kind,
                        base_url=base_url,
                        sender=sender,
                        settings_json=json.dumps(options or {}),
                        is_default=make_default,
                        created_at=now,
                    )
                )
        except Exception:
            if api_key:
                self.ctx.secrets.delete(name)
            raise
        return next(a for a in self.list_accounts() if a.name == name)

    def remove_account(self, name: str) -> None:
        acct = self.ctx.account(name)
        with self.ctx.db.write() as s:
            active = s.exec(
                select(func.count()).where(
                    Message.account_id == acct.id,
                    col(Message.state).in_([st.value for st in ACTIVE_STATES]),
                )
            ).one()
            if active:
                raise ConflictError(
                    f"'{name}' still has {active} message(s) to send; cancel or move them first."
                )
            now = self.ctx.clock.now()
            # Keep the row for history, free the name.
            s.execute(
                update(ProviderAccount)
                .where(col(ProviderAccount.id) == acct.id)
                .values(removed_at=now, is_default=False, name=f"{name} (removed {acct.id})")
            )
        if kind_info(acct.kind).needs_key:
            self.ctx.secrets.delete(name)
        assert acct.id is not None
        self.ctx.forget_provider(acct.id)

    def test_account(self, name: str | None) -> str:
        """Check the credentials against the provider (network)."""
        acct = self.ctx.account(name)
        return self.ctx.provider(acct).check()

    def set_default_account(self, name: str) -> None:
        acct = self.ctx.account(name)
        with self.ctx.db.write() as s:
            s.execute(update(ProviderAccount).values(is_default=False))
            s.execute(
                update(ProviderAccount)
                .where(col(ProviderAccount.id) == acct.id)
                .values(is_default=True)
            )
