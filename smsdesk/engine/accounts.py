"""Provider accounts: add (key to the keyring), edit, list with capabilities, default, remove,
test. Each call that reads or writes the keyring or talks to a provider may take seconds: the
window runs them off the Qt thread."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, update
from sqlmodel import col, select

from smsdesk.core.errors import ConflictError, InvalidInput, SmsdeskError
from smsdesk.core.lifecycle import State
from smsdesk.core.planner import Capabilities
from smsdesk.core.text_checks import check_label
from smsdesk.core.urls import check_provider_url
from smsdesk.engine.context import AppContext
from smsdesk.engine.lease import BLOCKED
from smsdesk.engine.reply_support import replies_wording
from smsdesk.engine.views import AccountView
from smsdesk.providers.base import AuthenticationError, ProviderError, TransientError
from smsdesk.providers.registry import MODULES, ProviderKind, kind_info, open_provider
from smsdesk.store.models import Message, ProviderAccount

# Messages in these states still need their account.
ACTIVE_STATES = (State.QUEUED, State.HANDING_OFF, State.SCHEDULED, State.UNKNOWN)


@dataclass(frozen=True)
class OptionField:
    """One option of a provider kind, as the account form shows it."""

    name: str
    label: str
    help: str
    required: bool
    choices: tuple[str, ...]
    placeholder: str


@dataclass(frozen=True)
class AccountForm:
    """What the account form of one provider kind holds."""

    kind: str
    title: str
    needs_key: bool
    needs_base_url: bool
    default_base_url: str | None
    options: tuple[OptionField, ...]
    capabilities: tuple[tuple[str, str], ...]  # (what, in words)


@dataclass(frozen=True)
class AccountDetails:
    """One account's stored settings, for editing (never its key)."""

    name: str
    kind: str
    base_url: str | None
    sender: str | None
    options: dict[str, str]
    is_default: bool


@dataclass(frozen=True)
class CheckItem:
    """One line of "Test connection": ``ok`` None means not tried (an earlier step failed)."""

    label: str
    ok: bool | None
    detail: str = ""


def _span(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    for size, unit in ((1440, "day"), (60, "hour"), (1, "minute")):
        if minutes >= size and minutes % size == 0:
            count = minutes // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{int(value.total_seconds())} seconds"


def capability_words(title: str, caps: Capabilities, replies: str) -> tuple[tuple[str, str], ...]:
    """What a provider can do, in the words the account form shows."""
    lead = (
        f"{_span(caps.min_lead)}: {title} takes a message at least this long before its time"
        if caps.min_lead
        else "none: it can take a message right up to its time"
    )
    if caps.cancel_cutoff is None:
        cancel = (
            f"{title} cannot cancel; smsdesk holds each message on this computer until the "
            "last safe moment, so it can be cancelled or moved until then"
        )
    elif not caps.cancel_cutoff:
        cancel = "until the provider starts sending it"
    else:
        cancel = f"until {_span(caps.cancel_cutoff)} before its time"
    return (
        ("Minimum lead", lead),
        (
            "Horizon",
            f"{_span(caps.horizon)} ahead; a later message is held on this computer until then",
        ),
        ("Cancel cut-off", cancel),
        (
            "Moving a message",
            "moved in place at the provider"
            if caps.native_reschedule
            else "cancelled and handed off again",
        ),
        (
            "Preview",
            f"{title} counts the segments itself"
            if caps.server_preview
            else "segments are counted on this computer",
        ),
        (
            "Replies",
            replies,
        ),
    )


def _form(info: ProviderKind) -> AccountForm:
    return AccountForm(
        info.kind,
        info.title,
        info.needs_key,
        info.needs_base_url,
        info.default_base_url,
        tuple(
            OptionField(o.name, o.label, o.help, o.required, o.choices, o.placeholder)
            for o in info.options
        ),
        capability_words(info.title, info.capabilities, replies_wording(info.kind)),
    )


def _clean_options(info: ProviderKind, options: dict[str, object] | None) -> dict[str, object]:
    """The options without empty values (so the provider's defaults apply), a required
    one missing refused beside its field."""
    cleaned = {k: str(v).strip() for k, v in (options or {}).items() if str(v).strip()}
    for option in info.options:
        if option.required and option.name not in cleaned:
            raise InvalidInput(
                f"{info.title} needs the {option.label} ({option.name}). {option.help}",
                field=f"option_{option.name}",
            )
    return dict(cleaned)


def _option_error(info: ProviderKind, exc: InvalidInput) -> InvalidInput:
    """A provider's refusal of an option, placed beside that option's field and worded for
    the form (the provider speaks of ``--option name=``, the command line's spelling)."""
    if exc.field != "option":
        return exc
    for option in info.options:
        if re.search(rf"\b{re.escape(option.name)}\b", exc.message):
            text = re.sub(r"--option \w+=", "", exc.message)
            return InvalidInput(text, field=f"option_{option.name}")
    return exc


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

    @staticmethod
    def account_form(kind: str) -> AccountForm:
        """The fields and capabilities the form shows for ``kind``."""
        return _form(kind_info(kind))

    def account_details(self, name: str) -> AccountDetails:
        acct = self.ctx.account(name)
        raw = json.loads(acct.settings_json or "{}")
        return AccountDetails(
            acct.name,
            acct.kind,
            acct.base_url,
            acct.sender,
            {str(k): str(v) for k, v in raw.items()},
            acct.is_default,
        )

    def _validate(
        self,
        info: ProviderKind,
        options: dict[str, object],
        base_url: str | None,
        api_key: str | None,
    ) -> None:
        """Build the client (no request yet): checks key and options, so a bad account is
        refused now rather than failing at its first hand-off."""
        try:
            open_provider(
                info.kind,
                home=self.ctx.home,
                clock=self.ctx.clock,
                settings_json=json.dumps(options),
                base_url=base_url,
                api_key=api_key,
            ).close()
        except InvalidInput as exc:
            raise _option_error(info, exc) from None

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
                replies_wording(a.kind),
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
        name = check_label(name, field="name", what="account", limit=64)
        info = kind_info(kind)
        if info.needs_key and not (api_key and api_key.strip()):
            raise InvalidInput(f"A {info.title} account needs an API key.", field="api_key")
        if base_url:
            base_url = check_provider_url(base_url)
        options = _clean_options(info, options)
        self._validate(info, options, base_url, api_key)
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
                        settings_json=json.dumps(options),
                        is_default=make_default,
                        created_at=now,
                    )
                )
        except Exception:
            if api_key:
                self.ctx.secrets.delete(name)
            raise
        return next(a for a in self.list_accounts() if a.name == name)

    def update_account(
        self,
        name: str,
        *,
        base_url: str | None,
        sender: str | None,
        options: dict[str, object] | None,
        api_key: str | None = None,
    ) -> AccountView:
        """Change an account's address, sender and options, and replace its key when
        ``api_key`` is given (else the stored key stays). Everything is checked first; if
        the database write fails, the previous key is put back."""
        acct = self.ctx.account(name)
        info = kind_info(acct.kind)
        if base_url:
            base_url = check_provider_url(base_url)
        options = _clean_options(info, options)
        new_key = (api_key or "").strip() or None
        old_key = self.ctx.secrets.get(acct.name) if info.needs_key else None
        if info.needs_key and new_key is None and not old_key:
            raise InvalidInput(
                "No API key is stored for this account; type it to save.", field="api_key"
            )
        self._validate(info, options, base_url, new_key or old_key)
        if new_key and info.needs_key:
            self.ctx.secrets.set(acct.name, new_key)
        try:
            with self.ctx.db.write() as s:
                s.execute(
                    update(ProviderAccount)
                    .where(col(ProviderAccount.id) == acct.id)
                    .values(
                        base_url=base_url or None,
                        sender=(sender or "").strip() or None,
                        settings_json=json.dumps(options),
                        revision=col(ProviderAccount.revision) + 1,
                    )
                )
                # Messages held back because the account could not be used (a refused
                # key...) are tried again at the next pass, with the new settings.
                s.execute(
                    update(Message)
                    .where(
                        col(Message.account_id) == acct.id,
                        col(Message.lease_owner) == BLOCKED,
                    )
                    .values(lease_owner=None, lease_expires_at=None)
                )
        except Exception:
            if new_key and info.needs_key:
                if old_key:
                    self.ctx.secrets.set(acct.name, old_key)
                else:
                    self.ctx.secrets.delete(acct.name)
            raise
        assert acct.id is not None
        self.ctx.forget_provider(acct.id)  # the next request uses the new settings
        return next(a for a in self.list_accounts() if a.name == acct.name)

    def check_account(self, name: str) -> list[CheckItem]:
        """ "Test connection" as a checklist: the key is in the keyring, the settings are
        accepted, the provider answers, it accepts the key (network)."""
        acct = self.ctx.account(name)
        info = kind_info(acct.kind)
        items: list[CheckItem] = []
        reached = f"{info.title} answers"
        accepted = "The API key is accepted" if info.needs_key else "The account answers"

        def rest(*labels: str) -> list[CheckItem]:
            return [*items, *(CheckItem(label, None) for label in labels)]

        key: str | None = None
        if info.needs_key:
            try:
                key = self.ctx.secrets.get(acct.name)
            except SmsdeskError as exc:
                items.append(CheckItem("The API key is in the system keyring", False, str(exc)))
                return rest("The account settings are complete", reached, accepted)
            if not key:
                items.append(
                    CheckItem(
                        "The API key is in the system keyring",
                        False,
                        "No key is stored; edit the account and type it.",
                    )
                )
                return rest("The account settings are complete", reached, accepted)
            items.append(CheckItem("The API key is in the system keyring", True))
        try:
            provider = (
                self.ctx.provider(acct)
                if self.ctx.provider_factory is not None
                else open_provider(
                    acct.kind,
                    home=self.ctx.home,
                    clock=self.ctx.clock,
                    settings_json=acct.settings_json,
                    base_url=acct.base_url,
                    api_key=key,
                )
            )
        except InvalidInput as exc:
            why = _option_error(info, exc).message
            items.append(CheckItem("The account settings are complete", False, why))
            return rest(reached, accepted)
        items.append(CheckItem("The account settings are complete", True))
        try:
            detail = provider.check()
        except AuthenticationError as exc:
            return [*items, CheckItem(reached, True), CheckItem(accepted, False, str(exc))]
        except TransientError as exc:
            return [*items, CheckItem(reached, False, str(exc)), CheckItem(accepted, None)]
        except ProviderError as exc:
            return [*items, CheckItem(reached, True), CheckItem(accepted, False, str(exc))]
        finally:
            if self.ctx.provider_factory is None:
                provider.close()  # a client of its own: the engine's stays untouched
        return [*items, CheckItem(reached, True), CheckItem(accepted, True, detail)]

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
