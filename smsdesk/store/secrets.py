"""Provider API keys: in a keyring the operating system encrypts (service ``smsdesk``), or,
where there is none, in smsdesk's own key file encrypted under a passphrase. Never in plain text
unless the user chose such a keyring backend by name (``PYTHON_KEYRING_BACKEND`` or keyring's
own configuration file).

This is the one module that touches ``keyring``. Keys never reach the database, settings,
logs or exception text; keyring failures become a one-line SecretStoreError.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

import keyring
import keyring.backend
import keyring.core
import keyring.errors
from keyring.backend import KeyringBackend

from smsdesk.core.errors import InvalidInput, SecretStoreError
from smsdesk.store.paths import home_dir
from smsdesk.store.secret_file import FILE_NAME, EncryptedKeyFile

SERVICE = "smsdesk"
T = TypeVar("T")

# Backends whose secrets the operating system keeps encrypted, and what a user calls them.
OS_KEYRINGS = {
    "keyring.backends.SecretService.Keyring": "Secret Service (system keyring)",
    "keyring.backends.libsecret.Keyring": "Secret Service (system keyring)",
    "keyring.backends.kwallet.DBusKeyring": "KWallet",
    "keyring.backends.kwallet.DBusKeyringKWallet4": "KWallet",
    "keyring.backends.macOS.Keyring": "macOS Keychain",
    "keyring.backends.Windows.WinVaultKeyring": "Windows Credential Manager",
}
KEY_FILE = "smsdesk.encrypted-key-file"

_HINT = "Unlock your system keyring, or choose a backend by name with PYTHON_KEYRING_BACKEND."

# Asks the user for the key file's passphrase; ``True`` when it is a new file (confirm it).
# None: nobody to ask (the file stays locked). The window installs a dialog here.
PassphrasePrompt = Callable[[bool], str | None]


def terminal_passphrase(creating: bool) -> str | None:
    """The command line's prompt: typed without echo at a terminal, else one line of stdin."""
    try:
        if not sys.stdin or sys.stdin.closed:
            return None
        if not sys.stdin.isatty():
            return sys.stdin.readline().rstrip("\r\n") or None
    except (OSError, ValueError):  # no readable standard input: nobody to ask
        return None
    words = "New passphrase for smsdesk's key file: " if creating else "Key file passphrase: "
    first = getpass.getpass(words)
    if creating and getpass.getpass("Again: ") != first:
        raise SecretStoreError("The two passphrases differ; nothing was stored.")
    return first or None


def passphrase_from_fd(fd: int) -> PassphrasePrompt:
    """A prompt that answers with the first line read from file descriptor ``fd`` (read
    once, then closed): how a service manager hands the passphrase over, never through the
    command line or the environment, which other users and child processes can see."""
    try:
        os.fstat(fd)
    except OSError:
        raise InvalidInput(
            f"--passphrase-fd {fd} is not an open file descriptor.", field="passphrase-fd"
        ) from None
    read: list[str | None] = []

    def prompt(creating: bool) -> str | None:
        if not read:
            chunks = []
            with contextlib.suppress(OSError):
                while chunk := os.read(fd, 4096):
                    chunks.append(chunk)
                    if b"\n" in chunk:
                        break
            with contextlib.suppress(OSError):
                os.close(fd)
            line = b"".join(chunks).split(b"\n", 1)[0].rstrip(b"\r")
            read.append(line.decode("utf-8", "replace") or None)
        return read[0]

    return prompt


_session_lock = threading.Lock()
_prompt: PassphrasePrompt | None = terminal_passphrase
_files: dict[str, EncryptedKeyFile] = {}  # unlocked once per session, by path


def set_passphrase_prompt(prompt: PassphrasePrompt | None) -> None:
    global _prompt
    with _session_lock:
        _prompt = prompt


@contextlib.contextmanager
def never_asking() -> Iterator[None]:
    """Within it, a locked key file is an error rather than a question: start-up's quick look
    at the database (store/first_page.py) must not wait for anyone before the window shows."""
    global _prompt
    with _session_lock:
        saved, _prompt = _prompt, None
    try:
        yield
    finally:
        with _session_lock:
            _prompt = saved


def _explicit_choice() -> bool:
    if os.environ.get("PYTHON_KEYRING_BACKEND"):
        return True
    with contextlib.suppress(Exception):  # a broken config file is no choice at all
        return keyring.core.load_config() is not None
    return False


def _name(backend: KeyringBackend) -> str:
    return f"{type(backend).__module__}.{type(backend).__name__}"


def _os_keyring() -> KeyringBackend | None:
    """The best viable OS-encrypted backend; never a chainer that may fall through to a file."""
    try:
        found = [b for b in keyring.backend.get_all_keyring() if _name(b) in OS_KEYRINGS]
    except Exception:  # a backend failing to load is as good as absent
        return None
    found = [b for b in found if b.priority > 0]
    return max(found, key=lambda b: b.priority) if found else None


class SecretStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._backend: KeyringBackend | None = None
        self._file: EncryptedKeyFile | None = None

    def backend_name(self) -> str:
        self._open()
        return KEY_FILE if self._backend is None else _name(self._backend)

    def describe(self) -> str:
        """Where the keys are, in the user's words (shown in Settings)."""
        name = self.backend_name()
        if name == KEY_FILE:
            return "smsdesk's encrypted key file, unlocked with your passphrase"
        if name in OS_KEYRINGS:
            return f"{OS_KEYRINGS[name]}, encrypted by the operating system"
        return f"{name}, chosen with PYTHON_KEYRING_BACKEND"

    def set(self, account: str, secret: str) -> None:
        if self._open() is None:
            self._unlocked(creating=not self._key_file().exists()).set(account, secret)
            return
        self._guarded(
            "could not store the API key", lambda b: b.set_password(SERVICE, account, secret)
        )

    def get(self, account: str) -> str | None:
        if self._open() is None:
            if not self._key_file().exists():
                return None  # no file, no keys: nothing to unlock
            return self._unlocked(creating=False).get(account)
        return self._guarded(
            "could not read the API key", lambda b: b.get_password(SERVICE, account)
        )

    def delete(self, account: str) -> None:
        if self._open() is None:
            if self._key_file().exists():
                self._unlocked(creating=False).delete(account)
            return

        def delete(backend: KeyringBackend) -> None:
            with contextlib.suppress(keyring.errors.PasswordDeleteError):  # already gone
                backend.delete_password(SERVICE, account)

        self._guarded("could not remove the API key", delete)

    def _guarded(self, what: str, call: Callable[[KeyringBackend], T]) -> T:
        with self._lock:
            backend = self._backend
            assert backend is not None
            failure: SecretStoreError
            try:
                return call(backend)
            except keyring.errors.KeyringError as exc:
                failure = self._error(what, exc)
            # Raised outside the handler so the backend's exception (which may quote the
            # secret) is not even kept as __context__ for a crash report to print.
            raise failure

    def _open(self) -> KeyringBackend | None:
        """The keyring backend, or None when the keys go to the encrypted key file. Opened
        lazily: merely starting smsdesk must not prompt for a keyring password."""
        with self._lock:
            if self._backend is not None or self._file is not None:
                return self._backend
            if not _explicit_choice():
                self._backend = _os_keyring()
                if self._backend is None:
                    self._file = self._key_file()
                return self._backend
            try:
                backend = keyring.get_keyring()
            except Exception as exc:  # a misnamed backend: keyring raises all sorts
                raise self._error("the chosen keyring could not be opened", exc) from None
            if type(backend).__module__.startswith("keyring.backends.fail"):
                raise SecretStoreError(
                    "No system keyring is available to hold provider API keys.", hint=_HINT
                )
            self._backend = backend
            return backend

    def _key_file(self) -> EncryptedKeyFile:
        path = home_dir() / FILE_NAME
        with _session_lock:
            return _files.setdefault(str(path), EncryptedKeyFile(path))

    def _unlocked(self, *, creating: bool) -> EncryptedKeyFile:
        key_file = self._key_file()
        with _session_lock:  # one prompt at a time, however many threads want a key
            if key_file.unlocked:
                return key_file
            passphrase = _prompt(creating) if _prompt is not None else None
            if not passphrase:
                raise SecretStoreError(
                    "No system keyring is available, and smsdesk's encrypted key file "
                    "needs its passphrase.",
                    hint="Give the passphrase when asked, or unlock a system keyring.",
                )
            key_file.unlock(passphrase)
            return key_file

    @staticmethod
    def _error(what: str, exc: Exception) -> SecretStoreError:
        # Only the exception's type: keyring backends may echo what they were given.
        return SecretStoreError(f"The keyring {what} ({type(exc).__name__}).", hint=_HINT)
