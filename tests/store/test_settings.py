"""Settings in the database: one row per key, compare-and-set changes, a snapshot for readers,
and the one-time import of the old settings.json (wrong shapes refused whole)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from smsdesk.core.clock import ManualClock
from smsdesk.core.errors import InvalidInput, StorageError
from smsdesk.engine.context import AppContext
from smsdesk.engine.settings import SettingsService
from smsdesk.store.models import Setting
from smsdesk.store.settings import Settings, write_settings
from tests.cli_runner import Cli

ROOT = Path(__file__).resolve().parents[2]


def _rows(ctx: AppContext) -> dict[str, tuple[object, int]]:
    with ctx.db.read() as s:
        return {r.key: (json.loads(r.value_json), r.version) for r in s.exec(select(Setting))}


def test_a_new_database_has_the_defaults_and_no_rows(ctx: AppContext) -> None:
    assert ctx.settings == Settings()
    assert _rows(ctx) == {}


def test_only_the_changed_keys_are_written_each_raising_its_version(
    ctx: AppContext, isolated_home: Path
) -> None:
    prefs = SettingsService(ctx)
    saved = prefs.update_settings(zone="Europe/Dublin", default_region="ie")
    assert (saved.zone, saved.default_region) == ("Europe/Dublin", "IE")
    assert _rows(ctx) == {"zone": ("Europe/Dublin", 1), "default_region": ("IE", 1)}
    # The window's form passes both fields back; only the one the user changed is written.
    prefs.update_settings(zone="Europe/London", default_region="IE")
    assert _rows(ctx) == {"zone": ("Europe/London", 2), "default_region": ("IE", 1)}
    prefs.update_settings(quiet_hours="22:00-07:30", quiet_mode="refuse")
    rows = _rows(ctx)
    assert rows["quiet_start"] == ("22:00", 1) and rows["quiet_end"] == ("07:30", 1)
    assert rows["quiet_mode"] == ("refuse", 1)
    assert prefs.update_settings(zone="").zone is None
    assert _rows(ctx)["zone"] == (None, 3)
    # Nothing writes the old file any more.
    assert not (isolated_home / "settings.json").exists()


def test_invalid_changes_store_nothing(ctx: AppContext) -> None:
    prefs = SettingsService(ctx)
    for bad in (
        {"zone": "Nowhere/Land"},
        {"default_region": "XX"},
        {"catch_up_grace_minutes": 24 * 60 + 1},
        {"quiet_hours": "21:00"},
        {"quiet_mode": "loud"},
        # Valid zone, invalid region: the zone is not written either.
        {"zone": "Europe/Paris", "default_region": "XX"},
    ):
        with pytest.raises(InvalidInput):
            prefs.update_settings(**bad)
    assert _rows(ctx) == {}
    with pytest.raises(InvalidInput, match="not HH:MM-HH:MM"):
        prefs.update_settings(quiet_hours="9pm-8am")


def test_the_snapshot_is_frozen_and_cheap_to_read(ctx: AppContext) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.settings.zone = "Europe/Paris"  # type: ignore[misc]
    # Hot loops read ctx.settings per recipient: within the recheck interval no query runs
    # and the same object is returned; a re-read of an unchanged database keeps it too.
    first = ctx.settings
    assert ctx.settings is first
    assert ctx.refresh_settings() is first


def test_a_change_by_another_process_shows_on_refresh_and_after_the_recheck_interval(
    isolated_home: Path, clock: ManualClock
) -> None:
    window = AppContext.open(isolated_home, clock=clock)
    window.settings_recheck = 3600.0  # only an explicit refresh re-reads
    other = AppContext.open(isolated_home, clock=clock)
    try:
        assert window.settings.quiet_mode == "move"
        SettingsService(other).update_settings(quiet_mode="off", catch_up_grace_minutes=40)
        assert window.settings.quiet_mode == "move"  # the snapshot, until re-read
        # A service call that shows settings reads them as stored now.
        assert SettingsService(window).settings().quiet_mode == "off"
        assert window.settings.catch_up_grace_minutes == 40
        assert window.grace.total_seconds() == 40 * 60
        window.settings_recheck = 0.0  # every read re-reads
        write_settings(other.db, {"default_region": "GB"}, clock.now())
        assert window.settings.default_region == "GB"
    finally:
        other.close()
        window.close()


def test_a_form_passing_back_a_field_it_did_not_change_keeps_another_processs_change(
    isolated_home: Path, clock: ManualClock
) -> None:
    window = AppContext.open(isolated_home, clock=clock)
    window.settings_recheck = 3600.0
    shown = SettingsService(window).settings()  # the form is filled
    cli = AppContext.open(isolated_home, clock=clock)
    SettingsService(cli).update_settings(default_region="FR", quiet_mode="refuse")
    cli.close()
    # The user changes only the zone; the form passes the region it showed back.
    saved = SettingsService(window).update_settings(
        zone="Europe/Paris", default_region=shown.default_region or ""
    )
    assert (saved.zone, saved.default_region, saved.quiet_mode) == (
        "Europe/Paris",
        "FR",
        "refuse",
    )
    window.close()


def test_the_settings_file_is_imported_once_then_renamed(
    isolated_home: Path, clock: ManualClock
) -> None:
    isolated_home.mkdir(parents=True)
    old = {
        "default_region": "GB",
        "zone": "Europe/London",
        "catch_up_grace_minutes": 30,
        "quiet_start": "20:00",
        "quiet_end": "09:00",
        "quiet_mode": "refuse",
        "retired_option": True,  # a key smsdesk no longer knows is ignored, as before
    }
    (isolated_home / "settings.json").write_text(json.dumps(old), encoding="utf-8")
    ctx = AppContext.open(isolated_home, clock=clock)
    assert ctx.settings == Settings(
        default_region="GB",
        zone="Europe/London",
        catch_up_grace_minutes=30,
        quiet_start="20:00",
        quiet_end="09:00",
        quiet_mode="refuse",
    )
    assert set(_rows(ctx)) == set(old) - {"retired_option"}
    assert not (isolated_home / "settings.json").exists()
    imported = isolated_home / "settings.json.imported"
    assert json.loads(imported.read_text(encoding="utf-8")) == old
    SettingsService(ctx).update_settings(quiet_mode="off")
    ctx.close()
    # The renamed file is never read again, even if it is edited.
    imported.write_text(json.dumps({**old, "quiet_mode": "move"}), encoding="utf-8")
    again = AppContext.open(isolated_home, clock=clock)
    assert again.settings.quiet_mode == "off"
    again.close()


def test_an_import_keeps_what_the_database_already_holds(
    isolated_home: Path, clock: ManualClock
) -> None:
    # Another desk on a shared database (or a crash between import and rename) stored some
    # keys first: those win; the rest of the file is imported.
    ctx = AppContext.open(isolated_home, clock=clock)
    SettingsService(ctx).update_settings(zone="Asia/Tokyo")
    ctx.close()
    (isolated_home / "settings.json").write_text(
        json.dumps({"zone": "Europe/London", "default_region": "GB"}), encoding="utf-8"
    )
    ctx = AppContext.open(isolated_home, clock=clock)
    assert (ctx.settings.zone, ctx.settings.default_region) == ("Asia/Tokyo", "GB")
    assert _rows(ctx)["zone"] == ("Asia/Tokyo", 1)
    ctx.close()


WRONG_SHAPES = [
    ("[1, 2]", "holds list, not an object of settings"),
    ('{"zone": 5}', "has zone 5: expected text or null"),
    ('"Europe/London"', "holds str, not an object of settings"),
    ('{"default_region": "GB", "catch_up_grace_minutes": "15"}', "catch_up_grace_minutes"),
    ('{"default_region": "GB", "catch_up_grace_minutes": true}', "expected whole minutes"),
    ('{"quiet_start": "9pm"}', "expected a time like 21:00"),
    ('{"quiet_mode": "loud"}', "expected move, refuse or off"),
    ('{"zone": "Europe/Lon', "cannot be read"),
]


@pytest.mark.parametrize(("content", "why"), WRONG_SHAPES)
def test_a_wrong_shaped_settings_file_is_one_error_naming_it_and_nothing_is_imported(
    isolated_home: Path, clock: ManualClock, content: str, why: str
) -> None:
    isolated_home.mkdir(parents=True)
    path = isolated_home / "settings.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(StorageError) as caught:
        AppContext.open(isolated_home, clock=clock)
    text = str(caught.value)
    assert str(path) in text and why in text and "\n" not in text
    assert path.read_text(encoding="utf-8") == content  # left for the user to fix
    assert not (isolated_home / "settings.json.imported").exists()
    # Nothing half-imported: once the file is removed the defaults are what is stored.
    path.unlink()
    ctx = AppContext.open(isolated_home, clock=clock)
    assert _rows(ctx) == {} and ctx.settings == Settings()
    ctx.close()


@pytest.mark.parametrize("content", ["[1, 2]", '{"zone": 5}'])
def test_the_command_line_says_one_line_and_exits_1_for_a_wrong_shaped_file(
    cli: Cli, isolated_home: Path, content: str
) -> None:
    isolated_home.mkdir(parents=True)
    (isolated_home / "settings.json").write_text(content, encoding="utf-8")
    for argv in (("settings",), ("list",)):
        run = cli(*argv)
        assert run.code == 1, run
        assert run.err.startswith("smsdesk: The settings file ") and run.err.count("\n") == 1
        assert str(isolated_home / "settings.json") in run.err and "Traceback" not in run.err


def test_smsdesk_home_naming_a_file_is_one_line_and_exit_1(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x", encoding="utf-8")
    monkeypatch.setenv("SMSDESK_HOME", str(a_file))
    for argv in (
        ("settings",),
        ("list",),
        ("schedule", "--to", "+15551234567", "--text", "hi", "--at", "2026-12-01T12:00:00Z"),
    ):
        run = cli(*argv)
        assert run.code == 1, run
        assert run.err == (
            f"smsdesk: The data folder {a_file} is a file, not a folder. "
            "Point SMSDESK_HOME at a folder.\n"
        )
    # The window, started the same way, says the same line instead of a traceback.
    window = subprocess.run(
        [sys.executable, "-m", "smsdesk"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (window.returncode, window.stderr) == (1, run.err)
    assert a_file.read_text(encoding="utf-8") == "x"


def test_the_command_line_shows_and_changes_settings_in_the_database(
    cli: Cli, ctx: AppContext
) -> None:
    changed = cli(
        "settings", "--quiet-mode", "refuse", "--quiet-hours", "22:00-07:00",
        "--catch-up-grace", "45",
    )  # fmt: skip
    assert changed.code == 0, changed.err
    # The window's context (opened before) sees the command line's change.
    assert SettingsService(ctx).settings().quiet_mode == "refuse"
    assert ctx.grace.total_seconds() == 45 * 60
    refused = cli("settings", "--catch-up-grace", "2000")
    assert (refused.code, refused.err.count("\n")) == (2, 1) and "catch-up grace" in refused.err
    SettingsService(ctx).update_settings(zone="Europe/Berlin")
    shown = cli("settings")
    assert "time zone: Europe/Berlin" in shown.out
    assert "quiet hours: 22:00-07:00 recipient-local (refuse)" in shown.out
    assert "catch-up grace: 45 minutes" in shown.out


def test_a_stored_value_this_version_cannot_use_means_the_default_and_can_be_changed(
    ctx: AppContext, caplog: pytest.LogCaptureFixture
) -> None:
    # E.g. written by a newer smsdesk sharing the database; the desk still starts and works.
    write_settings(ctx.db, {"quiet_mode": "refuse", "catch_up_grace_minutes": 20}, ctx.clock.now())
    with ctx.db.write() as s:
        row = s.get(Setting, "quiet_mode")
        assert row is not None
        row.value_json = '"whisper"'
        row.version += 1
    settings = SettingsService(ctx).settings()
    assert (settings.quiet_mode, settings.catch_up_grace_minutes) == ("move", 20)
    assert "quiet_mode" in caplog.text and "default used" in caplog.text
    assert SettingsService(ctx).update_settings(quiet_mode="move").quiet_mode == "move"
    assert _rows(ctx)["quiet_mode"] == ("move", 3)
