"""Where API keys go when nobody chose a keyring backend: a keyring the operating system
encrypts, else smsdesk's encrypted key file, never the plain-text file keyrings.alt offers.

This machine has keyrings.alt installed and no system keyring, which is exactly the case the
issue found: keyring then picks ``PlaintextKeyring`` on its own."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring.core
import pytest

from smsdesk.core.errors import SecretStoreError
from smsdesk.store import secrets
from smsdesk.store.secret_file import FILE_NAME
from smsdesk.store.secrets import KEY_FILE, SecretStore

KEY = "003026bbc133714df1834b8638bb496e-8f4b3d9a-e931-478d-a994-28a725159ab9"
ROOT = Path(__file__).resolve().parents[2]


class Asked:
    """A passphrase prompt that counts how often it was asked."""

    def __init__(self, answer: str | None) -> None:
        self.answer = answer
        self.calls: list[bool] = []

    def __call__(self, creating: bool) -> str | None:
        self.calls.append(creating)
        return self.answer


@pytest.fixture
def no_choice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Nobody chose a backend: keyring would pick what it finds (here keyrings.alt's file)."""
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    keyring.core.init_backend()
    yield
    secrets.set_passphrase_prompt(secrets.terminal_passphrase)


def _files_holding(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


def test_the_plaintext_keyring_is_refused_unless_chosen(
    no_choice: None, tmp_path: Path, isolated_home: Path
) -> None:
    # What keyring picks on its own here is a file (keyrings.alt's, or a test's backend).
    picked = type(keyring.get_keyring())
    assert f"{picked.__module__}.{picked.__name__}" not in secrets.OS_KEYRINGS
    asked = Asked("correct horse battery staple")
    secrets.set_passphrase_prompt(asked)
    store = SecretStore()
    assert store.backend_name() == KEY_FILE
    assert "encrypted key file" in store.describe()
    store.set("Clinic Infobip", KEY)
    assert asked.calls == [True]  # a new file: the prompt may ask to confirm
    assert SecretStore().get("Clinic Infobip") == KEY
    assert (isolated_home / FILE_NAME).is_file()
    assert _files_holding(tmp_path, KEY) == []  # neither the keyring file nor ours has it
    assert _files_holding(tmp_path, KEY[:12]) == []


def test_the_passphrase_is_asked_once_per_session(no_choice: None) -> None:
    asked = Asked("pass phrase 1")
    secrets.set_passphrase_prompt(asked)
    for n in range(3):
        SecretStore().set(f"Account {n}", f"{KEY}-{n}")
    assert [SecretStore().get(f"Account {n}") for n in range(3)] == [f"{KEY}-{n}" for n in range(3)]
    SecretStore().delete("Account 1")
    assert len(asked.calls) == 1


def test_a_new_session_reads_the_key_back_with_the_passphrase(
    no_choice: None, isolated_home: Path
) -> None:
    secrets.set_passphrase_prompt(Asked("pass phrase 2"))
    SecretStore().set("Shop", KEY)
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}
    code = "from smsdesk.store.secrets import SecretStore; print(SecretStore().get('Shop'))"

    def session(passphrase: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code],
            input=passphrase + "\n",
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=60,
        )

    good = session("pass phrase 2")
    assert (good.returncode, good.stdout.strip()) == (0, KEY)
    wrong = session("not the passphrase")
    assert wrong.returncode != 0 and KEY not in wrong.stdout + wrong.stderr
    assert "The passphrase does not open the key file." in wrong.stderr


def test_a_wrong_passphrase_is_one_clear_error_and_changes_nothing(
    no_choice: None, isolated_home: Path
) -> None:
    secrets.set_passphrase_prompt(Asked("the right one"))
    SecretStore().set("Shop", KEY)
    before = (isolated_home / FILE_NAME).read_bytes()
    secrets._files.clear()  # a new session
    secrets.set_passphrase_prompt(Asked("a wrong one"))
    with pytest.raises(SecretStoreError) as info:
        SecretStore().set("Shop", "another-key-value")
    assert len(str(info.value).splitlines()) == 1
    assert str(info.value).startswith("The passphrase does not open the key file.")
    assert info.value.__context__ is None and info.value.__cause__ is None
    assert (isolated_home / FILE_NAME).read_bytes() == before


def test_a_locked_store_with_nobody_to_ask_is_a_clear_error(no_choice: None) -> None:
    secrets.set_passphrase_prompt(None)
    store = SecretStore()
    assert store.get("Shop") is None  # no file yet: nothing to unlock, nothing to ask
    with pytest.raises(SecretStoreError, match="needs its passphrase"):
        store.set("Shop", KEY)


def test_an_explicit_choice_is_honoured_and_named(tmp_path: Path) -> None:
    store = SecretStore()  # the test harness chose PlaintextKeyring by name
    assert store.backend_name() == "keyrings.alt.file.PlaintextKeyring"
    assert store.describe() == (
        "keyrings.alt.file.PlaintextKeyring, chosen with PYTHON_KEYRING_BACKEND"
    )
