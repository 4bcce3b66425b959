"""No test gives a provider client a timeout that an ordinary answer can reach on a loaded
machine, nor a simulator stall shorter than five times that timeout: such a test passes on a
quiet machine and fails under load (a status sync of 500 messages took over 0.2 s while the
suite ran beside two busy loops)."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
CLIENT_TIMEOUT = 1.0
# An option given in code ("timeout": "1.0", "timeout=1.0") or typed into the account form.
TIMEOUT_OPTION = re.compile(r'"timeout(?:": "|=|"\), ")(\d+(?:\.\d+)?)"')
STALL = re.compile(r"\bstall=(\d+(?:\.\d+)?)")


def _sources() -> list[Path]:
    return [p for p in TESTS.rglob("*.py") if p.resolve() != Path(__file__).resolve()]


def test_no_provider_client_in_the_tests_gives_up_before_a_second() -> None:
    short = [
        f"{p.relative_to(TESTS)}: timeout {m.group(1)}"
        for p in _sources()
        for m in TIMEOUT_OPTION.finditer(p.read_text(encoding="utf-8"))
        if 0 < float(m.group(1)) < CLIENT_TIMEOUT  # 0 is refused input, tested as such
    ]
    assert short == []


def test_every_stall_is_five_times_the_client_timeout() -> None:
    short = [
        f"{p.relative_to(TESTS)}: stall {m.group(1)}"
        for p in _sources()
        for m in STALL.finditer(p.read_text(encoding="utf-8"))
        if float(m.group(1)) < 5 * CLIENT_TIMEOUT
    ]
    assert short == []


def test_the_scan_finds_what_it_looks_for() -> None:
    # The patterns must match the forms the tests use, or the two tests above check nothing.
    assert TIMEOUT_OPTION.search('options={"timeout": "0.2"}')
    assert TIMEOUT_OPTION.search('"--option", "timeout=0.2"')
    assert TIMEOUT_OPTION.search('qtbot.keyClicks(_option(view, "timeout"), "0.5")')
    assert STALL.search("InfobipSimulator(clock, api_key=KEY, stall=0.5)")
    assert sum(1 for p in _sources() if TIMEOUT_OPTION.search(p.read_text("utf-8"))) >= 10
