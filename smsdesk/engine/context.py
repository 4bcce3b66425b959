"""Everything the engine and the service share: store, clock, settings, secrets, providers.

Settings live in the database, shared by every process. ``ctx.settings`` is a snapshot that
hot loops may read per recipient: it is re-read (one query of a few rows) when it is older
than ``settings_recheck`` seconds, and at once by ``refresh_settings()``, which each service
call that shows or changes settings makes.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from smsdesk.core.clock import Clock, SystemClock
from smsdesk.core.errors import InvalidInput, NotFound, SmsdeskError, StorageError
from smsdesk.core.planner import Capabilities
from smsdesk.providers.base import Provider
from smsdesk.providers.registry import kind_info, open_provider
from smsdesk.store.backup import backup_if_due
from smsdesk.store.db import Database
from smsdesk.store.models import ProviderAccount
from smsdesk.store.paths import ensure_home, home_dir
from smsdesk.store.secrets import SecretStore
from smsdesk.store.settings import Settings, Snapshot, import_settings_file, read_settings

ProviderFactory = Callable[[ProviderAccount], Provider]
log = logging.getLogger(__name__)

SANDBOX_ACCOUNT = "Sandbox"
# How stale ``ctx.settings`` may be (seconds) before a read goes back to the database: a
# change made by another process shows within this, without a query per access.
SETTINGS_RECHECK = 1.0


@dataclass
class AppContext:
    home: Path
    db: Database
    clock: Clock
    secrets: SecretStore
    provider_factory: ProviderFactory | None = None
    settings_recheck: float = SETTINGS_RECHECK
    _providers: dict[int, Provider] = field(default_factory=dict)
    _revisions: dict[int, int] = field(default_factory=dict)  # of the accounts opened
    _snapshot: Snapshot | None = field(default=None, repr=False)
    _snapshot_read_at: float = field(default=-math.inf, repr=False)
    _backing_up: threading.Thread | None = field(default=None, repr=False)

    @classmethod
    def open(
        cls,
        home: Path | None = None,
        *,
        clock: Clock | None = None,
        provider_factory: ProviderFactory | None = None,
        check: bool = True,
        auto_backup: bool = True,
    ) -> AppContext:
        """Open storage. ``check``: check the file for damage first, refusing a damaged
        one (the window passes False and checks in the background, see ui/startup.py).
        ``auto_backup``: make the daily backup if it is due, beside the caller's work."""
        home = ensure_home(home) if home is not None else home_dir()
        clock = clock or SystemClock()
        db = Database.open(home, check=check)
        try:
            import_settings_file(db, home, clock.now())
        except BaseException:
            db.dispose()
            raise
        ctx = cls(
            home=home,
            db=db,
            clock=clock,
            secrets=SecretStore(),
            provider_factory=provider_factory,
        )
        ctx.ensure_sandbox_account()
        if auto_backup and check:
            ctx.start_backup_if_due()
        return ctx

    def backup_if_due(self) -> None:
        """The rolling daily backup (a file database only; PostgreSQL has none here)."""
        if self.db.path is None:
            return
        try:
            backup_if_due(self.db.path, self.clock.now())
        except StorageError as exc:  # a full disk must not stop the work; say so
            log.warning("the daily backup was not made: %s", exc)

    def start_backup_if_due(self) -> None:
        """Back up in a thread beside the caller's work (SQLite copies without the GIL);
        ``close()`` waits for it."""
        if self.db.path is None:
            return
        self._backing_up = threading.Thread(target=self.backup_if_due, name="backup")
        self._backing_up.start()

    @property
    def settings(self) -> Settings:
        """The settings, at most ``settings_recheck`` seconds old. Read it once per
        operation (it is a frozen snapshot); change settings through SettingsService."""
        return self.settings_snapshot().settings

    def settings_snapshot(self) -> Snapshot:
        """The settings with their stored versions, at most ``settings_recheck`` seconds old."""
        snapshot = self._snapshot
        if snapshot is None or time.monotonic() - self._snapshot_read_at >= self.settings_recheck:
            return self._reread_settings()
        return snapshot

    def refresh_settings(self) -> Settings:
        """Re-read the settings now. An unchanged database keeps the same snapshot object."""
        return self._reread_settings().settings

    def _reread_settings(self) -> Snapshot:
        read_at = time.monotonic()
        fresh = read_settings(self.db)
        held = self._snapshot
        if held is None or held.versions != fresh.versions:
            self._snapshot = held = fresh
        self._snapshot_read_at = read_at
        return held

    @property
    def grace(self) -> timedelta:
        return timedelta(minutes=self.settings.catch_up_grace_minutes)

    def ensure_sandbox_account(self) -> None:
        """A new user schedules to the Sandbox: create it as the default on first start."""
        # Look before taking the write lock: a write waits for a damage check under way.
        with self.db.read() as s:
            if s.exec(select(ProviderAccount.id).limit(1)).first() is not None:
                return
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
        if self._revisions.get(account.id, account.revision) != account.revision:
            # Changed since it was opened, maybe by another process (the window's Settings
            # while this is the engine): open it again with its new address, options or key.
            self.forget_provider(account.id)
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
            self._revisions[account.id] = account.revision
        return cached

    def capabilities(self, account: ProviderAccount) -> Capabilities:
        """What the account's provider can do (its options may change that, e.g. Kaleyra OTP
        cannot be scheduled). If the provider cannot be opened, plan with what its kind can
        do; the hand-off will report the problem."""
        with contextlib.suppress(SmsdeskError):
            return self.provider(account).capabilities
        return kind_info(account.kind).capabilities

    def forget_provider(self, account_id: int) -> None:
        self._revisions.pop(account_id, None)
        provider = self._providers.pop(account_id, None)
        if provider is not None:
            provider.close()

    def close(self) -> None:
        if self._backing_up is not None:
            self._backing_up.join()
        for account_id in list(self._providers):
            self.forget_provider(account_id)
        self.db.dispose()
