"""The release feed: at most once a day, never when turned off, and nothing about the user
in the request (a real HTTP server on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smsdesk import __version__
from smsdesk.engine import updates
from tests.packaging.feed_server import Feed, serve_feed

NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def feed() -> Iterator[Feed]:
    with serve_feed() as served:
        yield served


def test_a_newer_release_is_found_with_a_plain_get(tmp_path: Path, feed: Feed) -> None:
    found = updates.look_if_due(tmp_path, NOON, feed.url)
    assert found == updates.Release("99.0.0", "https://example.org/releases/v99.0.0")
    [(method, path, headers)] = feed.requests
    assert (method, path) == ("GET", "/latest.json")  # no query string, no identifier
    sent = {k.lower(): v for k, v in headers.items()}
    assert sent["user-agent"] == "smsdesk"
    assert set(sent) <= {"host", "user-agent", "accept", "accept-encoding", "connection"}
    assert not any(__version__ in v for v in sent.values())


def test_at_most_once_a_day(tmp_path: Path, feed: Feed) -> None:
    assert updates.look_if_due(tmp_path, NOON, feed.url) is not None
    assert updates.look_if_due(tmp_path, NOON + timedelta(hours=23), feed.url) is None
    assert len(feed.requests) == 1  # the second call did not ask
    assert updates.look_if_due(tmp_path, NOON + timedelta(days=1), feed.url) is not None
    assert len(feed.requests) == 2


def test_turned_off_it_never_asks(tmp_path: Path, feed: Feed) -> None:
    updates.set_enabled(tmp_path, False)
    assert updates.look_if_due(tmp_path, NOON, feed.url) is None
    assert updates.look_if_due(tmp_path, NOON + timedelta(days=3), feed.url) is None
    assert feed.requests == []
    updates.set_enabled(tmp_path, True)
    assert updates.look_if_due(tmp_path, NOON + timedelta(days=3), feed.url) is not None


def test_the_same_or_an_older_release_is_no_news(tmp_path: Path, feed: Feed) -> None:
    feed.body = f'{{"version": "{__version__}", "url": "https://example.org/x"}}'.encode()
    assert updates.look_if_due(tmp_path, NOON, feed.url) is None
    feed.body = b'{"version": "0.0.1", "url": "https://example.org/x"}'
    assert updates.look_if_due(tmp_path, NOON + timedelta(days=1), feed.url) is None
    assert len(feed.requests) == 2


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, b"<html>not json</html>"),
        (200, b'{"version": "1.0.0rc1", "url": "https://example.org/x"}'),
        (200, b'{"version": "99.0.0", "url": "http://example.org/plain-http"}'),
        (503, b"{}"),
    ],
)
def test_a_feed_that_cannot_be_read_is_tried_again_the_next_day(
    tmp_path: Path, feed: Feed, status: int, body: bytes
) -> None:
    feed.status, feed.body = status, body
    assert updates.look_if_due(tmp_path, NOON, feed.url) is None
    assert updates.look_if_due(tmp_path, NOON + timedelta(hours=1), feed.url) is None
    assert len(feed.requests) == 1  # a failed look counts: no storm against the host


def test_a_damaged_preferences_file_means_the_defaults(tmp_path: Path, feed: Feed) -> None:
    updates.prefs_path(tmp_path).write_text("{not json", encoding="utf-8")
    assert updates.read_prefs(tmp_path) == updates.UpdatePrefs()
    assert updates.look_if_due(tmp_path, NOON, feed.url) is not None


def test_versions_compare_by_their_numbers() -> None:
    assert updates.is_newer("0.1.10", "0.1.9")
    assert not updates.is_newer("0.1.0", "0.1.0+smoke1")
    assert not updates.is_newer("1.0.0rc1", "0.1.0")
