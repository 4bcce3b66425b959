"""Everything the engine and the service share: store, clock, settings, secrets, providers."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from smsdesk.core.clock import Clock, SystemClock
from smsdesk.core.errors import InvalidInput, NotFound, SmsdeskError
from smsdesk.core.planner import Capabilities
from smsdesk.providers.base import Provider
from smsdesk.providers.registry import kind_info, open_provider
from smsdesk.store.db import Database
from smsdesk.store.models import ProviderAccount
from smsdesk.store.paths import home_dir
from smsdesk.store.secrets import SecretStore
from smsdesk.store.settings import Settings

ProviderFactory = Callable[[ProviderAccount], Provider]

SANDBOX_ACCOUNT = "Sandbox"


@dataclass
class AppContext:
    home: Path
    db: Database
    clock: Clock
    settings: Settings
    secrets: SecretStore
    provider_factory: ProviderFactory | None = None
    _providers: dict[int, Provider] = field(default_factory=dict)

    @classmethod
    def open(
        cls,
        home: Path | None = None,
        *,
        clock: Clock | None = None,
        provider_factory: ProviderFactory | None = None,
    ) -> AppContext:
        home = home or home_dir()
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        ctx = cls(
            home=home,
            db=Database.open(home),
            clock=clock or SystemClock(),
            settings=Settings.load(home),
            secrets=SecretStore(),
            provider_factory=provider_factory,
        )
        ctx.ensure_sandbox_account()
        return ctx

    @property
    def grace(self) -> timedelta:
        return timedelta(minutes=self.settings.catch_up_grace_minutes)

    def ensure_sandbox_account(self) -> None:
        """A new user schedules to the Sandbox: create it as the default on first start."""
        try:
            with self.db.write() as s:
                if s.exec(select(ProviderAccount)).first() is None:
                    s.add(
                        ProviderAccount(
                            name=SANDBOX_ACCOUNT,
                            kind="sandbox",
                            is_default=True,
                            created_at=self.clock.now(),
                        )
                    )
        except IntegrityError:
            pass  # another process created it first

    def account(self, name: str | None) -> ProviderAccount:
        """The named account, or the default one."""
        live = select(ProviderAccount).where(col(ProviderAccount.removed_at).is_(None))
        with self.db.read() as s:
            if name:
                found = s.exec(live.where(ProviderAccount.name == name)).first()
                if found is None:
                    raise NotFound(f"No provider account named '{name}'.", field="provider")
                return found
            default = s.exec(live.where(col(ProviderAccount.is_default))).first()
            default = default or s.exec(live.order_by(col(ProviderAccount.id))).first()
            if default is None:
                raise InvalidInput("No provider account is set up.", field="provider")
            return default

    def account_by_id(self, account_id: int) -> ProviderAccount:
        with self.db.read() as s:
            found = s.get(ProviderAccount, account_id)
        if found is None:
            raise NotFound(f"Provider account {account_id} no longer exists.")
        return found

    def accounts_by_id(self) -> dict[int, ProviderAccount]:
        """Every account, removed ones included (their messages still name them): one query
        for a whole batch of messages instead of one per message."""
        with self.db.read() as s:
            return {a.id: a for a in s.exec(select(ProviderAccount)) if a.id is not None}

    def provider(self, account: ProviderAccount) -> Provider:
        assert account.id is not None
        cached = self._providers.get(account.id)
        if cached is None:
            if self.provider_factory is not None:
                cached = self.provider_factory(account)
            else:
                key = self.secrets.get(account.name) if kind_info(account.kind).needs_key else None
                cached = open_provider(
                    account.kind,
                    home=self.home,
                    clock=self.clock,
                    settings_json=account.settings_json,
                    base_url=account.base_url,
                    api_key=key,
                )
            self._providers[account.id] = cached
        return cached

    def capabilities(self, account: ProviderAccount) -> Capabilities:
        """What the account's provider can do (its options may change that, e.g. Kaleyra OTP
        cannot be scheduled). If the provider cannot be opened, plan with what its kind can
        do; the hand-off will report the problem."""
        with contextlib.suppress(SmsdeskError):
            return self.provider(account).capabilities
        return kind_info(account.kind).capabilities

    def forget_provider(self, account_id: int) -> None:
        provider = self._providers.pop(account_id, None)
        if provider is not None:
            provider.close()

    def close(self) -> None:
        for account_id in list(self._providers):
            self.forget_provider(account_id)
        self.db.dispose()
