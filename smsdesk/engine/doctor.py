"""``smsdesk doctor`` and Settings → "Check this computer": what smsdesk needs, one line each,
✓ or ✗ with the fix.

The checks that need no window live here: keyring, database, provider accounts, time zone and
clock, and whether something is running to send held messages. Display and fonts need Qt and
live in the window's layer (ui/doctor_checks.py). Storage is checked before it is opened: a
damaged file is reported, not refused, and the checks that need it say they were not run.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlmodel import col, select

from smsdesk.core.clock import Clock, SystemClock
from smsdesk.core.errors import SmsdeskError
from smsdesk.core.timeparse import resolve_zone
from smsdesk.engine.accounts import Accounts
from smsdesk.engine.backups import Backups
from smsdesk.engine.context import AppContext
from smsdesk.engine.messages import MessageReader
from smsdesk.engine.running import running_for
from smsdesk.engine.service import Service
from smsdesk.providers.registry import kind_info
from smsdesk.store.models import Contact
from smsdesk.store.paths import database_path
from smsdesk.store.secrets import SecretStore

AREAS = ("display", "fonts", "keyring", "database", "providers", "clock", "sending")
# A clock further off than this moves every hand-off time: providers compare send times
# with their own clock.
MAX_SKEW = timedelta(seconds=60)
PAUSED = "paused"  # ``here`` for a window whose sending is paused
BACKUP_AGE = timedelta(days=2)  # one is made each day while smsdesk runs
DATE_TIMEOUT = httpx.Timeout(5.0)

# Keyring backends, by module.class, that keep keys encrypted (in words), and those that do not.
ENCRYPTING = {
    "keyring.backends.SecretService.Keyring": "the desktop keyring (Secret Service)",
    "keyring.backends.libsecret.Keyring": "the desktop keyring (libsecret)",
    "keyring.backends.kwallet.DBusKeyring": "KWallet",
    "keyring.backends.macOS.Keyring": "the macOS Keychain",
    "keyring.backends.Windows.WinVaultKeyring": "Windows Credential Manager",
    "keyrings.alt.file.EncryptedKeyring": "an encrypted file (keyrings.alt)",
    "smsdesk.encrypted-key-file": "smsdesk's key file, encrypted with your passphrase",
}
PLAIN = {
    "keyrings.alt.file.PlaintextKeyring": "a plain-text file (keyrings.alt)",
}
_PLAIN_FIX = (
    "Use the desktop keyring (GNOME Keyring or KWallet), or unset PYTHON_KEYRING_BACKEND so "
    "smsdesk keeps the keys in its passphrase-encrypted key file, then add the keys again."
)
_PROVIDER_FIX = {
    "The API key is in the system keyring": "Edit the account in Settings and type its key.",
    "The account settings are complete": "Edit the account in Settings.",
    "The API key is accepted": "Check the key at the provider, then edit the account.",
}


@dataclass(frozen=True)
class Finding:
    """One line of the report."""

    area: str  # one of AREAS
    label: str  # what was checked
    ok: bool
    detail: str  # what was found
    fix: str = ""  # what to do when not ok

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def report_ok(findings: Iterable[Finding]) -> bool:
    return all(f.ok for f in findings)


# -- keyring ---------------------------------------------------------------------------------


def keyring_findings(secrets: SecretStore) -> list[Finding]:
    try:
        name = secrets.backend_name()
        secrets.get("smsdesk-doctor")  # a read: a locked keyring says so here
    except SmsdeskError as exc:
        return [
            Finding("keyring", "Keyring", False, exc.message, exc.hint),
            Finding("keyring", "Keys encrypted", False, "not checked: no keyring to ask"),
        ]
    usable = Finding("keyring", "Keyring", True, f"{name} holds the provider keys")
    if name in PLAIN:
        return [usable, Finding("keyring", "Keys encrypted", False, PLAIN[name], _PLAIN_FIX)]
    if name in ENCRYPTING:
        return [usable, Finding("keyring", "Keys encrypted", True, ENCRYPTING[name])]
    return [usable, Finding("keyring", "Keys encrypted", True, f"as {name} keeps them")]


# -- database --------------------------------------------------------------------------------


def _size(n: int) -> str:
    return f"{n / 1_048_576:.1f} MB" if n >= 1_048_576 else f"{max(n // 1024, 1)} KB"


def database_findings(home: Path, clock: Clock) -> tuple[list[Finding], bool]:
    """The database's place, soundness and backups, without opening it; and whether it is
    sound enough for the other checks to open it."""
    backups = Backups(home, clock)
    if not backups.file_based:
        url = urlsplit(os.environ.get("SMSDESK_DATABASE_URL", ""))
        where = f"the PostgreSQL server {url.hostname or 'on this computer'}"  # no password
        return [
            Finding("database", "Database", True, f"on {where} (SMSDESK_DATABASE_URL)"),
            Finding("database", "Backups", True, "kept by the server, not by smsdesk"),
        ], True
    path = database_path(home)
    if not path.exists():
        return [
            Finding("database", "Database", True, f"{path}: not made yet (made at first start)")
        ], True
    size = sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())
    found = [Finding("database", "Database", True, f"{path} ({_size(size)})")]
    found.append(_encryption_finding(backups))
    try:
        problems = backups.check()
    except SmsdeskError as exc:  # the key is missing: not damage, and nothing else can run
        found.append(Finding("database", "Database is sound", False, exc.message, exc.hint))
        return found, False
    if problems:
        found.append(
            Finding(
                "database",
                "Database is sound",
                False,
                f"damaged: {problems[0]}",
                "Restore the newest backup with 'smsdesk restore' (or save what can be read "
                "with 'smsdesk restore --salvage').",
            )
        )
    else:
        found.append(Finding("database", "Database is sound", True, "no damage found"))
    found.append(_backups_finding(backups, clock.now()))
    return found, not problems


def _encryption_finding(backups: Backups) -> Finding:
    state = backups.encryption()
    fix = ""
    if not state.encrypted:
        fix = (
            "Turn it on in Settings → Storage, or with 'smsdesk storage encrypt'."
            if state.available
            else "Install smsdesk with the sqlcipher3-binary package to encrypt it."
        )
    return Finding("database", "Encrypted at rest", state.encrypted, state.detail, fix)


def _database_missing(home: Path) -> bool:
    return Backups(home).file_based and not database_path(home).exists()


def _backups_finding(backups: Backups, now: datetime) -> Finding:
    fix = "smsdesk makes one each day while it runs; make one now with 'smsdesk backup'."
    kept = backups.list()
    if not kept:
        return Finding("database", "Backups", False, "no backups yet", fix)
    newest = kept[0]
    age = now - newest.taken_at
    detail = f"{len(kept)} kept, the newest of {newest.taken_at:%Y-%m-%d %H:%M} UTC"
    if age > BACKUP_AGE:
        return Finding("database", "Backups", False, f"{detail}: {age.days} days old", fix)
    return Finding("database", "Backups", True, f"{detail}, in {Path(newest.path).parent}")


# -- provider accounts and the clock ---------------------------------------------------------


def _address(kind: str, base_url: str | None, options: dict[str, str]) -> str | None:
    """Where the account's provider is reached over HTTP (None: not over HTTP)."""
    info = kind_info(kind)
    if not info.needs_key:
        return None  # the Sandbox lives on this computer
    if base_url:
        return base_url
    if kind == "kaleyra":
        from smsdesk.providers.kaleyra import PODS

        region = options.get("region", "IN").strip().upper()
        host = options.get("host", "").strip() or PODS.get(region, "")
        return f"https://{host}" if host else info.default_base_url
    return info.default_base_url


def server_time(address: str) -> datetime | None:
    """The provider's clock: the ``Date`` header of any answer to a plain GET (no key is
    sent; a refusal carries the header too). None when it cannot be read."""
    try:
        with httpx.Client(timeout=DATE_TIMEOUT, follow_redirects=False) as client:
            response = client.get(address)
    except httpx.HTTPError:
        return None
    try:
        when = parsedate_to_datetime(response.headers.get("date", ""))
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def provider_findings(ctx: AppContext) -> tuple[list[Finding], list[tuple[str, timedelta]]]:
    """One line per account (reached, what the key can do), and how far this computer's
    clock is ahead of each provider's that could be read."""
    accounts = Accounts(ctx)
    found: list[Finding] = []
    clocks: list[tuple[str, timedelta]] = []
    for view in accounts.list_accounts():
        label = f"Provider '{view.name}'"
        try:
            items = accounts.check_account(view.name)
        except SmsdeskError as exc:
            found.append(Finding("providers", label, False, exc.message, exc.hint))
            continue
        failed = next((i for i in items if i.ok is not True), None)
        if failed is None:
            found.append(Finding("providers", label, True, items[-1].detail or "answers"))
            details = accounts.account_details(view.name)
            address = _address(view.kind, details.base_url, details.options)
            when = server_time(address) if address else None
            if when is not None:
                clocks.append((view.name, ctx.clock.now() - when))
            continue
        why = f"{failed.label}: {failed.detail}" if failed.detail else f"{failed.label}: no"
        fix = _PROVIDER_FIX.get(
            failed.label,
            "Check this computer's internet connection and the account's address in Settings.",
        )
        found.append(Finding("providers", label, False, why, fix))
    return found, clocks


def clock_findings(
    zone: str | None, now: datetime, clocks: list[tuple[str, timedelta]]
) -> list[Finding]:
    found: list[Finding] = []
    try:
        shown = resolve_zone(zone).key
        source = "from Settings" if zone else "this computer's"
        found.append(Finding("clock", "Time zone", True, f"{shown} ({source})"))
    except SmsdeskError as exc:
        found.append(Finding("clock", "Time zone", False, exc.message, "Pick it in Settings."))
    if not clocks:
        found.append(
            Finding(
                "clock",
                "Clock",
                True,
                f"{now:%Y-%m-%d %H:%M:%S} UTC; no provider reached over the internet "
                "to compare it with",
            )
        )
        return found
    name, ahead = max(clocks, key=lambda c: abs(c[1]))
    skew = ahead.total_seconds()
    words = f"{abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} '{name}'"
    if abs(skew) > MAX_SKEW.total_seconds():
        fix = "Turn on automatic time (on Linux: 'sudo timedatectl set-ntp true')."
        found.append(Finding("clock", "Clock", False, f"this computer's clock is {words}", fix))
    else:
        found.append(Finding("clock", "Clock", True, f"within {words}"))
    return found


# -- sending ---------------------------------------------------------------------------------


def sending_findings(ctx: AppContext, here: str | None) -> list[Finding]:
    """Whether something runs that sends the messages held on this computer. ``here``: the
    role of the calling process when it sends itself ("window"), PAUSED for a window whose
    sending is paused, else None."""
    held = MessageReader(ctx).summary().held_here
    others = running_for(ctx.home)
    roles = [f"the {here} (this one)"] if here and here != PAUSED else []
    roles += [f"the {r.role} (process {r.pid})" for r in others or []]
    held_words = f"{held} message{'s' if held != 1 else ''} held on this computer"
    if roles:
        verb = "send" if len(roles) > 1 else "sends"
        detail = f"{' and '.join(roles)} {verb} {held_words}"
        return [Finding("sending", "Sending", True, detail)]
    if here == PAUSED and held:
        detail = f"{held_words}, and sending is paused in this window"
        return [Finding("sending", "Sending", False, detail, "Press 'Resume sending' below.")]
    fix = "Open the window, or run 'smsdesk dispatch' (for example at login)."
    if others is None:
        detail = f"{held_words}; this system does not say whether smsdesk runs elsewhere"
        return [Finding("sending", "Sending", held == 0, detail, fix if held else "")]
    if held:
        detail = f"{held_words}, and no window or 'smsdesk dispatch' is running to send them"
        return [Finding("sending", "Sending", False, detail, fix)]
    detail = "nothing is held on this computer; nothing needs to run for the provider to send"
    return [Finding("sending", "Sending", True, detail)]


# -- contacts' scripts (for the font check in the window's layer) ----------------------------


def name_scripts(names: Iterable[str]) -> dict[str, str]:
    """The writing systems of the names, each with one character of it: {"CYRILLIC": "Д"}.
    Latin is always there (the window's own text)."""
    found = {"LATIN": "A"}
    for name in names:
        for ch in name:
            if not ch.isalpha():
                continue
            script = unicodedata.name(ch, "").split(" ")[0]
            if script and script not in found:
                found[script] = ch
    return found


def contact_scripts(ctx: AppContext) -> dict[str, str]:
    with ctx.db.read() as s:
        names = s.exec(select(Contact.name).where(col(Contact.name) != "")).all()
    return name_scripts(names)


# -- all of it -------------------------------------------------------------------------------


def _unchecked(areas: set[str], why: str) -> list[Finding]:
    """The areas that need storage, when it cannot be used (fonts go on without names)."""
    return [
        Finding(area, area.capitalize(), False, f"not checked: {why}")
        for area in AREAS
        if area in areas and area != "fonts"
    ]


@dataclass
class Checkup:
    """The engine's part of the report, and what the window's part needs from it."""

    findings: list[Finding]
    scripts: dict[str, str]


def run_checks(
    areas: Iterable[str] = AREAS,
    *,
    home: Path,
    clock: Clock | None = None,
    ctx: AppContext | None = None,
    here: str | None = None,
) -> Checkup:
    """Every check of ``areas`` that needs no window. ``ctx``: storage already open (the
    window's); otherwise it is opened here once the file is known to be sound."""
    wanted = set(areas)
    clock = clock or (ctx.clock if ctx is not None else SystemClock())
    found: list[Finding] = []
    if "keyring" in wanted:
        found += keyring_findings(ctx.secrets if ctx is not None else SecretStore())
    sound = True
    if "database" in wanted or ctx is None:
        db_findings, sound = database_findings(home, clock)
        if "database" in wanted:
            found += db_findings
    needs_storage = wanted & {"providers", "clock", "sending", "fonts"}
    if not needs_storage:
        return Checkup(found, {})
    if not sound:
        return Checkup(found + _unchecked(needs_storage, "the database is damaged"), {})
    fresh = ctx is None and _database_missing(home)
    try:
        opened = ctx or AppContext.open(home, clock=clock, check=False, auto_backup=False)
    except SmsdeskError as exc:  # a database from a newer smsdesk, a full disk, ...
        why = f"the database could not be opened: {exc.message}"
        return Checkup(found + _unchecked(needs_storage, why), {})
    try:
        if fresh and "database" in wanted:  # opening made it: report what is there now
            found = [f for f in found if f.area != "database"]
            found += database_findings(home, clock)[0]
        clocks: list[tuple[str, timedelta]] = []
        if wanted & {"providers", "clock"}:
            provider_lines, clocks = provider_findings(opened)
            if "providers" in wanted:
                found += provider_lines
        if "clock" in wanted:
            found += clock_findings(opened.settings.zone, clock.now(), clocks)
        if "sending" in wanted:
            found += sending_findings(opened, here)
        scripts = contact_scripts(opened) if "fonts" in wanted else {}
    finally:
        if ctx is None:
            opened.close()
    return Checkup(found, scripts)


def check_service(service: Service, *, sending: bool | None) -> Checkup:
    """The window's "Check this computer" on its own storage, already open. ``sending``:
    whether the window's engine is running (True) or paused (False); None without one."""
    areas = [a for a in AREAS if a != "display"]
    ctx = service.ctx
    here = None if sending is None else ("window" if sending else PAUSED)
    return run_checks(areas, home=ctx.home, ctx=ctx, here=here)
