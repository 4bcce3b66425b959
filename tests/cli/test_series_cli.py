"""``smsdesk series ...`` over the real database, with the test's clock."""

from __future__ import annotations

from tests.cli_runner import Cli

ANN = "+447911123456"


def _add(cli: Cli, *extra: str) -> str:
    run = cli(
        "series",
        "add",
        "--to",
        ANN,
        "--text",
        "Staff rota is up",
        "--repeat",
        "FREQ=WEEKLY;BYDAY=FR",
        "--at",
        "2026-12-04 10:00",
        "--tz",
        "Europe/London",
        "--json",
        *extra,
    )
    assert run.code == 0, run.err
    series_id: str = run.json()["id"]
    return series_id


def test_add_then_show_lists_occurrences_in_utc_and_local_with_skips(cli: Cli) -> None:
    series_id = _add(cli, "--skip-holidays", "GB", "--count", "6")
    shown = cli("series", "show", series_id, "--json")
    assert shown.code == 0, shown.err
    data = shown.json()
    assert data["state"] == "active"
    ahead = {o["nominal"][:10]: o for o in data["upcoming"]}
    assert ahead["2026-12-04"]["send_at"] == "2026-12-04T10:00:00+00:00"
    assert ahead["2026-12-04"]["send_at_local"] == "Fri 4 Dec 2026 10:00 GMT"
    assert ahead["2026-12-04"]["status"] == "stored"
    assert ahead["2026-12-25"]["status"] == "skipped"
    assert ahead["2026-12-25"]["send_at"] is None
    assert "Christmas Day" in ahead["2026-12-25"]["skipped_because"]
    assert len(data["upcoming"]) == 6  # COUNT=6: the 6 rule instances, 2 of them skipped
    text = cli("series", "show", series_id)
    assert "skipped: public holiday (GB): Christmas Day" in text.out
    assert "[2026-12-11 10:00 UTC]" in text.out
    listed = cli("series", "list", "--json").json()
    assert [s["id"] for s in listed] == [series_id]
    stored = cli("list", "--json").json()
    assert len(stored) == 3  # 4, 11 and 18 Dec are in the queue


def test_pause_resume_skip_and_cancel(cli: Cli) -> None:
    series_id = _add(cli)
    skip = cli("series", "skip", series_id, "--on", "2026-12-11")
    assert skip.code == 0, skip.err
    assert "1 stored occurrence(s) cancelled" in skip.out
    paused = cli("series", "pause", series_id, "--json")
    assert paused.json()["withdrawn"] == 4  # 4, 18, 25 Dec and 1 Jan
    assert cli("series", "resume", series_id).code == 0
    shown = cli("series", "show", series_id, "--json").json()
    ahead = {o["nominal"][:10]: o for o in shown["upcoming"]}
    assert ahead["2026-12-11"]["status"] == "skipped"
    assert ahead["2026-12-18"]["status"] == "stored"
    cancelled = cli("series", "cancel", series_id, "--json")
    assert cancelled.code == 0 and cancelled.json()["withdrawn"] == 4  # stored again
    states = {m["state"] for m in cli("list", "--json").json()}
    assert states == {"cancelled"}
    assert cli("series", "show", series_id, "--json").json()["state"] == "cancelled"


def test_edit_moves_the_future_occurrences(cli: Cli) -> None:
    series_id = _add(cli)
    run = cli(
        "series", "edit", series_id, "--at", "2026-12-03 09:15", "--repeat", "weekly", "--json"
    )
    assert run.code == 0, run.err
    queued = [m for m in cli("list", "--json").json() if m["state"] == "queued"]
    assert queued[0]["send_at"] == "2026-12-03T09:15:00+00:00"
    assert {m["text"] for m in queued} == {"Staff rota is up"}


def test_edit_this_and_following_splits_the_series(cli: Cli) -> None:
    series_id = _add(cli, "--count", "10")
    run = cli(
        "series", "edit", series_id, "--starting", "2026-12-18", "--text", "New rota", "--json"
    )
    assert run.code == 0, run.err
    new = run.json()
    assert new["id"] != series_id and "8 times" in new["description"]
    old = cli("series", "show", series_id, "--json").json()
    assert "until 2026-12-11" in old["description"]
    queued = [
        (m["send_at"][:10], m["text"])
        for m in cli("list", "--json").json()
        if m["state"] == "queued"
    ]
    assert queued == [
        ("2026-12-04", "Staff rota is up"),
        ("2026-12-11", "Staff rota is up"),
        ("2026-12-18", "New rota"),
        ("2026-12-25", "New rota"),
        ("2027-01-01", "New rota"),
    ]


def test_bad_input_is_one_line_and_stores_nothing(cli: Cli) -> None:
    for argv, needle in [
        (("--repeat", "FREQ=FORTNIGHTLY"), "not a repeat rule"),
        (("--repeat", "weekly", "--skip-holidays", "ZZ"), "holiday calendar"),
        (("--repeat", "weekly", "--until", "31/12/2027"), "not a date"),
    ]:
        run = cli("series", "add", "--to", ANN, "--text", "Hi", "--at", "2026-12-04 10:00", *argv)
        assert run.code == 2, (argv, run.out)
        assert needle in run.err
        assert len(run.err.strip().splitlines()) == 1
        assert "Traceback" not in run.err
    assert cli("series", "list").out.strip() == "No series."
    assert cli("list", "--json").json() == []
    missing = cli("series", "show", "s-nothing")
    assert missing.code == 2 and "No series with id" in missing.err
