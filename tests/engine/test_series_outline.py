"""The series outline: how often, how many, first and last, and what quiet hours, clock
changes and holidays do to each occurrence, worked out before anything is stored and equal
to what filling the series then stores."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import col, select

from smsdesk.engine.series import SeriesBook
from smsdesk.engine.series_outline import outline_details, outline_headline, outline_rows
from smsdesk.engine.service import Service
from smsdesk.store.models import Message, SeriesOccurrence
from tests.engine.series_setup import series_request as _req

NEW_YORK = "+12125550123"


def _sent(service: Service) -> list[datetime]:
    with service.ctx.db.read() as s:
        return list(s.exec(select(Message.send_at).order_by(col(Message.send_at))).all())


def test_quiet_hours_moves_are_the_times_filling_stores(service: Service) -> None:
    service.update_settings(zone="Europe/London")
    book = SeriesBook(service)
    req = _req(rule="daily", start=datetime(2026, 12, 2, 7, 0), count=3)
    outline = book.outline(req)
    assert service.list_messages() == []  # worked out, nothing stored
    assert outline.count == 3 and outline.moved == 3
    why = "moved from 07:00 to 08:00 (quiet hours 21:00–08:00 in Europe/London)"
    assert outline_headline(outline) == (
        "Daily at 07:00, 3 times: first Wed 2 Dec 2026 08:00 GMT, last Fri 4 Dec 2026 "
        f"08:00 GMT — each {why}."
    )
    view = book.add(req)
    assert [t.send_at for t in outline.notable] == _sent(service)
    # The stored occurrences say the same: the time they go, and why it moved.
    stored = view.upcoming[:3]
    assert [o.send_at for o in stored] == [t.send_at for t in outline.notable]
    assert [o.when for o in stored] == [t.when for t in outline.notable]
    assert {o.moved for o in stored} == {why}


def test_a_recipient_elsewhere_gets_their_time_beside_the_desks(service: Service) -> None:
    service.update_settings(zone="Europe/London")
    req = _req(start=datetime(2026, 12, 7, 23, 30), zone="America/New_York", count=2,
               numbers=(NEW_YORK,))  # fmt: skip
    outline = SeriesBook(service).outline(req)
    assert outline.first is not None and outline.last is not None
    assert outline.first.when == "Tue 8 Dec 2026 13:00 GMT"
    assert outline.first.when_recipient == "Tue 8 Dec 2026 08:00 EST"
    assert outline_details(outline) == [
        f"Tue {day} Dec 2026 08:00 EST (Tue {day} Dec 2026 13:00 GMT here) — moved from 23:30 "
        "to 08:00 next day (quiet hours 21:00–08:00 in America/New_York)"
        for day in (8, 15)
    ]
    SeriesBook(service).add(req)
    assert _sent(service) == [outline.first.send_at, outline.last.send_at]


def test_until_a_date_counts_what_is_sent_and_lists_the_skipped(service: Service) -> None:
    req = _req(rule="FREQ=WEEKLY;BYDAY=FR", start=datetime(2026, 12, 4, 10, 0),
               until=date(2027, 1, 31), holidays="GB")  # fmt: skip
    outline = SeriesBook(service).outline(req)
    # The rule gives 9 Fridays; 2 are holidays.
    assert (outline.count, outline.skipped, outline.ends) == (7, 2, "until 2027-01-31, 9 times")
    assert outline.last is not None and outline.last.nominal == "2027-01-29T10:00"
    assert outline_details(outline) == [
        "Fri 25 Dec 2026 10:00 UTC: skipped — public holiday (GB): Christmas Day",
        "Fri 1 Jan 2027 10:00 UTC: skipped — public holiday (GB): New Year's Day",
    ]
    assert dict(outline_rows(outline))["Occurrences"] == "7 sent"
    assert outline_headline(outline).endswith("; 2 skipped (listed below).")


def test_a_series_without_an_end_names_its_next_dates(service: Service) -> None:
    outline = SeriesBook(service).outline(_req())
    assert (outline.count, outline.last) == (None, None)
    assert outline_headline(outline) == (
        "Weekly on Monday at 08:30 Europe/London, until stopped: next Mon 7 Dec 2026 08:30 UTC, "
        "Mon 14 Dec 2026 08:30 UTC, Mon 21 Dec 2026 08:30 UTC."
    )
    assert dict(outline_rows(outline))["Last send"] == "none: it repeats until stopped"


def test_quiet_hours_that_refuse_skip_as_filling_does(service: Service) -> None:
    service.update_settings(quiet_mode="refuse", zone="Europe/London")
    book = SeriesBook(service)
    # 10:00 and 07:00 each day: the 07:00 ones are inside quiet hours.
    req = _req(rule="FREQ=DAILY;BYHOUR=7,10", start=datetime(2026, 12, 2, 10, 0), count=3)
    outline = book.outline(req)
    assert (outline.count, outline.skipped) == (2, 1)
    assert outline_headline(outline).endswith("; 1 skipped (listed below).")
    [refused] = outline.notable
    assert refused.skipped.startswith("Thu 3 Dec 2026 07:00 GMT is inside quiet hours")
    book.add(req)
    with service.ctx.db.read() as s:
        stored = s.exec(select(SeriesOccurrence).order_by(col(SeriesOccurrence.nominal))).all()
    assert [(o.nominal, o.status, o.detail) for o in stored if o.status == "skipped"] == [
        (refused.nominal, "skipped", refused.skipped)
    ]
    assert len(_sent(service)) == outline.count
