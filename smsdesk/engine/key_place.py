"""Where provider API keys are kept, for the window: which store holds them (shown in
Settings) and who is asked for the key file's passphrase (the window's dialog)."""

from __future__ import annotations

from smsdesk.engine.context import AppContext
from smsdesk.store import secrets

PassphrasePrompt = secrets.PassphrasePrompt
passphrase_from_fd = secrets.passphrase_from_fd  # for ``--passphrase-fd`` (services)


def set_passphrase_prompt(prompt: PassphrasePrompt | None) -> None:
    """Who is asked, once per session, for the encrypted key file's passphrase."""
    secrets.set_passphrase_prompt(prompt)


def where_keys_are(ctx: AppContext) -> str:
    """The key store in the user's words. May open the keyring: not on the Qt thread."""
    return ctx.secrets.describe()
