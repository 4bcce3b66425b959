"""Provider API keys, kept only in the operating system's keyring (service ``smsdesk``).

This is the one module that touches ``keyring``. Keys never reach the database, settings,
logs or exception text; keyring failures become a readable SecretStoreError.
"""

from __future__ import annotations

import threading

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from smsdesk.core.errors import SecretStoreError

SERVICE = "smsdesk"

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
        with self._lock:
            backend = self._open()
            try:
                backend.set_password(SERVICE, account, secret)
            except keyring.errors.KeyringError as exc:
                raise self._error("could not store the API key", exc) from None

    def get(self, account: str) -> str | None:
        with self._lock:
            backend = self._open()
            try:
                return backend.get_password(SERVICE, account)
            except keyring.errors.KeyringError as exc:
                raise self._error("could not read the API key", exc) from None

    def delete(self, account: str) -> None:
        with self._lock:
            backend = self._open()
            try:
                backend.delete_password(SERVICE, account)
            except keyring.errors.PasswordDeleteError:
                pass  # nothing stored: already gone
            except keyring.errors.KeyringError as exc:
                raise self._error("could not remove the API key", exc) from None

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
