"""Provider API keys, kept only in the operating system's keyring (service ``smsdesk``).

This is the one module that touches ``keyring``. Keys never reach the database, settings,
logs or exception text; keyring failures become a readable SecretStoreError.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from smsdesk.core.errors import SecretStoreError

SERVICE = "smsdesk"
T = TypeVar("T")

_HINT = (
    "Unlock your system keyring, or choose a backend with PYTHON_KEYRING_BACKEND "
    "(for example keyrings.alt.file.EncryptedKeyring)."
)


class SecretStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._backend: KeyringBackend | None = None

    def backend_name(self) -> str:
        backend = self._open()
        return f"{type(backend).__module__}.{type(backend).__name__}"

    def set(self, account: str, secret: str) -> None:
        self._guarded(
            "could not store the API key", lambda b: b.set_password(SERVICE, account, secret)
        )

    def get(self, account: str) -> str | None:
        return self._guarded(
            "could not read the API key", lambda b: b.get_password(SERVICE, account)
        )

    def delete(self, account: str) -> None:
        def delete(backend: KeyringBackend) -> None:
            with contextlib.suppress(keyring.errors.PasswordDeleteError):  # already gone
                backend.delete_password(SERVICE, account)

        self._guarded("could not remove the API key", delete)

    def _guarded(self, what: str, call: Callable[[KeyringBackend], T]) -> T:
        with self._lock:
            backend = self._open()
            failure: SecretStoreError
            try:
                return call(backend)
            except keyring.errors.KeyringError as exc:
                failure = self._error(what, exc)
            # Raised outside the handler so the backend's exception (which may quote the
            # secret) is not even kept as __context__ for a crash report to print.
            raise failure

    def _open(self) -> KeyringBackend:
        # Opened lazily: merely starting smsdesk must not prompt for a keyring password.
        if self._backend is None:
            try:
                backend = keyring.get_keyring()
            except keyring.errors.KeyringError as exc:
                raise self._error("the system keyring could not be opened", exc) from None
            if type(backend).__module__.startswith("keyring.backends.fail"):
                raise SecretStoreError(
                    "No system keyring is available to hold provider API keys.", hint=_HINT
                )
            self._backend = backend
        return self._backend

    @staticmethod
    def _error(what: str, exc: Exception) -> SecretStoreError:
        # Only the exception's type: keyring backends may echo what they were given.
        return SecretStoreError(f"The keyring {what} ({type(exc).__name__}).", hint=_HINT)
