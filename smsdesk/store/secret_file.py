"""An encrypted key file, for computers without an operating-system keyring.

The provider keys are kept in one file, encrypted with Fernet (AES-128-CBC with an
HMAC-SHA256) under a key derived from the user's passphrase with scrypt. The file holds only
the salt, the scrypt cost and the Fernet token: nothing readable without the passphrase.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from smsdesk.core.errors import SecretStoreError
from smsdesk.store.paths import create_private_file

FILE_NAME = "provider-keys.enc"
FORMAT = 1
# scrypt's cost: about 0.1-0.3 s on a front-desk PC, once per session.
_N, _R, _P = 2**15, 8, 1
_HINT = "Type the passphrase chosen when the first key was stored in this file."


def _fernet(passphrase: str, salt: bytes, n: int, r: int, p: int) -> Fernet:
    kdf = Scrypt(salt=salt, length=32, n=n, r=r, p=p)
    return Fernet(base64.urlsafe_b64encode(kdf.derive(passphrase.encode())))


class EncryptedKeyFile:
    """The keys of one data folder, unlocked with a passphrase once per process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._fernet: Fernet | None = None
        self._salt = b""
        self._keys: dict[str, str] = {}

    @property
    def unlocked(self) -> bool:
        return self._fernet is not None

    def exists(self) -> bool:
        return self.path.is_file()

    def unlock(self, passphrase: str) -> None:
        """Open the file with ``passphrase`` (or start a new one with it). A wrong passphrase
        is a SecretStoreError and leaves the file locked."""
        if not passphrase:
            raise SecretStoreError("The key file's passphrase is empty.", hint=_HINT)
        with self._lock:
            if not self.exists():
                self._salt = os.urandom(16)
                self._fernet = _fernet(passphrase, self._salt, _N, _R, _P)
                self._keys = {}
                return
            try:
                header = json.loads(self.path.read_text(encoding="utf-8"))
                salt = base64.b64decode(header["salt"])
                n, r, p = int(header["n"]), int(header["r"]), int(header["p"])
                token = str(header["token"]).encode()
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise SecretStoreError(
                    f"The key file {self.path.name} cannot be read ({type(exc).__name__}).",
                    hint="Restore it from a backup, or remove it and add the API keys again.",
                ) from None
            fernet = _fernet(passphrase, salt, n, r, p)
            keys: dict[str, str] | None = None
            with contextlib.suppress(InvalidToken):
                keys = dict(json.loads(fernet.decrypt(token)))
            if keys is None:  # raised outside the handler: nothing chained to it
                raise SecretStoreError("The passphrase does not open the key file.", hint=_HINT)
            self._salt, self._fernet, self._keys = salt, fernet, keys

    def get(self, account: str) -> str | None:
        with self._lock:
            self._require()
            return self._keys.get(account)

    def set(self, account: str, secret: str) -> None:
        with self._lock:
            self._require()
            self._keys[account] = secret
            self._write()

    def delete(self, account: str) -> None:
        with self._lock:
            self._require()
            if self._keys.pop(account, None) is not None:
                self._write()

    def _require(self) -> None:
        if self._fernet is None:
            raise SecretStoreError(
                "The encrypted key file is locked.", hint="Unlock it with its passphrase."
            )

    def _write(self) -> None:
        assert self._fernet is not None
        token = self._fernet.encrypt(json.dumps(self._keys).encode()).decode()
        body = {
            "format": FORMAT,
            "kdf": "scrypt",
            "salt": base64.b64encode(self._salt).decode(),
            "n": _N,
            "r": _R,
            "p": _P,
            "token": token,
        }
        # Written beside and renamed over: a crash leaves the old file or the new, never half.
        partial = self.path.with_name(self.path.name + ".new")
        partial.unlink(missing_ok=True)
        create_private_file(partial)
        with partial.open("w", encoding="utf-8") as out:
            json.dump(body, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, self.path)
