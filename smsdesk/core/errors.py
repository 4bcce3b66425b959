"""Errors meant for people: a one-line message and, where it helps, how to fix it."""

from __future__ import annotations


class SmsdeskError(Exception):
    """Base of every error smsdesk shows to a user.

    ``str(error)`` is a single readable line; ``hint`` says what to do about it.
    """

    def __init__(self, message: str, *, hint: str = "", field: str = "") -> None:
        # Messages often quote what the user typed; its line breaks and control characters
        # are shown escaped so that an error is always one readable line.
        message = _visible(message)
        super().__init__(message)
        self.message = message
        self.hint = hint
        # Which input the error belongs to, so a window can show it beside that field.
        self.field = field

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip() if self.hint else self.message


class InvalidInput(SmsdeskError):
    """The user gave something we cannot accept; nothing was changed."""


class NotFound(InvalidInput):
    """An id or name that does not exist."""


class ConflictError(SmsdeskError):
    """The request is valid but the message's current state does not allow it."""


class StorageError(SmsdeskError):
    """The local database or settings cannot be read or written."""


class SecretStoreError(SmsdeskError):
    """The system keyring is missing, locked or refused access."""


def _visible(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
