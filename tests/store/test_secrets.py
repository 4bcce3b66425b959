"""API keys live in a real keyring backend (a file backend chosen by PYTHON_KEYRING_BACKEND)."""

from __future__ import annotations

from pathlib import Path

import pytest

from smsdesk.core.errors import SecretStoreError
from smsdesk.store.secrets import SecretStore

KEY = "live-key-4f9a1c7d2e"


def test_a_key_round_trips_through_the_keyring_file(tmp_path: Path) -> None:
    store = SecretStore()
    assert store.backend_name() == "keyrings.alt.file.PlaintextKeyring"
    store.set("Clinic Telnyx", KEY)
    # A new store (a new process would do the same) reads it back from the backend.
    assert SecretStore().get("Clinic Telnyx") == KEY
    store.delete("Clinic Telnyx")
    assert store.get("Clinic Telnyx") is None
    store.delete("Clinic Telnyx")  # deleting twice is fine


def test_the_key_is_stored_outside_smsdesk_home(isolated_home: Path, tmp_path: Path) -> None:
    SecretStore().set("Shop", KEY)
    keyring_files = [p for p in (tmp_path / "keyring-data").rglob("*") if p.is_file()]
    assert keyring_files, "the file backend wrote nothing"
    isolated_home.mkdir(parents=True, exist_ok=True)
    for path in isolated_home.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def test_no_keyring_is_a_clear_error_never_a_plain_text_fallback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import keyring.core

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    keyring.core.init_backend()
    store = SecretStore()
    with pytest.raises(SecretStoreError, match="No system keyring is available") as info:
        store.set("Shop", KEY)
    assert KEY not in str(info.value)
    assert "PYTHON_KEYRING_BACKEND" in info.value.hint


def test_a_locked_keyring_is_a_readable_error_without_the_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import keyring.core

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.store.locked_keyring.LockedKeyring")
    keyring.core.init_backend()
    store = SecretStore()
    with pytest.raises(SecretStoreError) as info:
        store.set("Shop", KEY)
    assert str(info.value).startswith("The keyring could not store the API key (KeyringLocked).")
    assert KEY not in str(info.value) and KEY not in repr(info.value.__context__)
    with pytest.raises(SecretStoreError, match="could not read"):
        store.get("Shop")
