from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsdesk.core.errors import InvalidInput
from smsdesk.core.templates import (
    Template,
    lint,
    parse_template,
    render,
    render_all,
    shape,
    worst_case,
)

APPOINTMENT = datetime(2026, 12, 1, 9, 30)


def test_parse_lists_fields_once_in_order() -> None:
    template = parse_template("Hi {name|there}, {when:%H:%M} on {when:%d %b}. {{ok}} {clinic}")
    assert template == Template(
        "Hi {name|there}, {when:%H:%M} on {when:%d %b}. {{ok}} {clinic}",
        ("name", "when", "clinic"),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Hi {name", "Unclosed '{' at character 4"),
        ("Hi {} there", "Empty merge field at character 4"),
        ("Hi {|friend}", "Empty merge field at character 4"),
        ("Hi {first name}", "'first name' at character 4 is not a field name"),
        ("Hi {näme}", "'näme' at character 4 is not a field name"),
        ("Hi {a{b}}", "'{' inside a merge field at character 6"),
        ("Hi name}", "Unmatched '}' at character 8"),
    ],
)
def test_parse_errors_say_where(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_template(text)
    assert str(caught.value).startswith(message)
    assert caught.value.field == "text"
    assert "\n" not in str(caught.value)


def test_render_values_fallbacks_and_literal_braces() -> None:
    template = parse_template("Hi {first_name|there}, {{see}} you at {clinic}.")
    assert render(template, {"first_name": "Ana", "clinic": "Riverside"}) == (
        "Hi Ana, {see} you at Riverside."
    )
    assert render(template, {"first_name": "  ", "clinic": "Riverside"}) == (
        "Hi there, {see} you at Riverside."
    )
    assert render(parse_template("{a|x: y|z}"), {}) == "x: y|z"
    assert render(parse_template("[{a|}]"), {}) == "[]"


def test_missing_value_without_fallback_names_the_field() -> None:
    template = parse_template("See you at {clinic}")
    for values in ({}, {"clinic": ""}, {"clinic": None}):
        with pytest.raises(InvalidInput) as caught:
            render(template, values)
        assert str(caught.value).startswith("No value for {clinic}")


def test_dates_and_times() -> None:
    values: dict[str, object] = {
        "when": APPOINTMENT,
        "day": date(2026, 12, 1),
        "at": time(14, 5),
        "count": 3,
    }
    assert render(parse_template("{when}"), values) == "2026-12-01 09:30"
    assert render(parse_template("{when:%a %d %b at %H:%M}"), values) == "Tue 01 Dec at 09:30"
    assert render(parse_template("{when:%A %B|soon}"), values) == "Tuesday December"
    assert render(parse_template("{when:%d %b|soon}"), {}) == "soon"
    assert render(parse_template("{day} {day:%d/%m}"), values) == "2026-12-01 01/12"
    assert render(parse_template("{at} {at:%I:%M %p}"), values) == "14:05 02:05 PM"
    assert render(parse_template("{when:100%%}"), values) == "100%"
    # A format on a value that is not a date is ignored.
    assert render(parse_template("{count:%H:%M}"), values) == "3"
    aware = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert render(parse_template("{when:%H:%M %Z}"), {"when": aware}) == "09:30 UTC"


def test_field_names_fall_back_to_lower_case() -> None:
    assert render(parse_template("{First_Name}"), {"first_name": "Ana"}) == "Ana"
    assert render(parse_template("{First_Name}"), {"First_Name": "A", "first_name": "b"}) == "A"


def test_render_all_and_worst_case() -> None:
    template = parse_template("Hi {name}, your visit is at {when:%H:%M}.")
    rows: list[dict[str, object]] = [
        {"name": "Ana", "when": APPOINTMENT},
        {"when": APPOINTMENT},
        {"name": "Bartholomew " * 15, "when": APPOINTMENT},
        {"name": "Zoë", "when": APPOINTMENT},
    ]
    results = render_all(template, rows)
    assert results[0] == "Hi Ana, your visit is at 09:30."
    assert isinstance(results[1], InvalidInput)
    assert "{name}" in str(results[1])

    segments, text = worst_case(template, rows)
    assert segments == 2
    assert text.startswith("Hi Bartholomew")
    assert worst_case(template, [{}]) == (0, "")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Reply CANCEL to cancel", ["CANCEL"]),
        ("Reply Y to confirm or cancel to cancel.", ["CANCEL"]),
        ("Text END to end these reminders", ["END"]),
        ("To stop, reply STOP or QUIT", ["STOP", "QUIT"]),
        ("Your visit is at 9. Reply 1 to confirm, 2 to reschedule", []),
        ("We had to cancel your visit; we will call you.", []),  # no reply asked
        ("Reply STOP to opt out", []),  # a proper opt-out notice
        ("Reply STOP to unsubscribe", []),
        ("Sending love; see you soon", []),
        ("Reply CANCELLED to ...", []),  # not a whole word
    ],
)
def test_lint_flags_opt_out_words(text: str, words: list[str]) -> None:
    warnings = lint(text)
    assert len(warnings) == len(words)
    for word, warning in zip(words, warnings, strict=True):
        assert f"reply {word} opts them out of ALL your messages" in warning
        assert "reply 1 to confirm, 2 to reschedule" in warning


plain = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="{}"))


@given(plain)
def test_text_without_braces_renders_to_itself(text: str) -> None:
    template = parse_template(text)
    assert template.fields == ()
    assert render(template, {}) == text


@given(st.text(alphabet=st.characters(codec="utf-8")))
def test_doubled_braces_always_render_the_original(text: str) -> None:
    escaped = text.replace("{", "{{").replace("}", "}}")
    assert render(parse_template(escaped), {}) == text


@given(st.text(alphabet=st.sampled_from("{}|:%ab_ 1"), max_size=20))
def test_any_text_parses_or_gives_a_readable_error(text: str) -> None:
    try:
        template = parse_template(text)
    except InvalidInput as exc:
        assert exc.field == "text"
        assert "character" in str(exc)
        return
    values = dict.fromkeys(template.fields, "x")
    assert isinstance(render(template, values), str)


def test_a_shape_fits_every_message_rendered_from_its_template_and_no_other() -> None:
    text = "Hi {first_name|there}, see you {appt_time:%A at %H:%M}. Reply C (or 1) [now]"
    fits = shape(text)
    for values in ({"first_name": "Ada", "appt_time": APPOINTMENT}, {"appt_time": APPOINTMENT}):
        assert fits.pattern.fullmatch(render(parse_template(text), values))
    assert not fits.pattern.fullmatch("Hi Ada, see you Tuesday. Reply C to confirm")
    assert not fits.pattern.fullmatch("Hello Ada, see you Tuesday at 09:30. Reply C (or 1) [now]")
    assert fits.fixed == len("Hi,seeyou.ReplyC(or1)[now]")
    assert shape("{name}").fixed == 0  # merge fields alone: it would fit anything
