"""``smsdesk template save`` with a template's reply words and automatic answers: stored with
the template, shown by ``template show``; bad input is one line on stderr, exit 2, and
changes nothing."""

from __future__ import annotations

from tests.cli_runner import Cli


def test_reply_words_and_answers_from_the_command_line(cli: Cli) -> None:
    saved = cli(
        "template",
        "save",
        "Visit",
        "--text",
        "See you {appt_time:%A}. Reply OK to confirm",
        "--confirm-words",
        "ok, yes",
        "--confirmed-answer",
        "Thanks, see you {appt_time:%A}.",
    )
    assert saved.code == 0, saved.err
    assert "replies: OK, YES confirm; R, 2 ask to reschedule" in saved.out
    assert "answer if confirmed: Thanks, see you {appt_time:%A}." in saved.out
    # An option left out keeps what the template has.
    again = cli("template", "save", "Visit", "--text", "Reply OK", "--reschedule-words", "move")
    assert again.code == 0, again.err
    shown = cli("template", "show", "Visit", "--json").json()
    assert shown["replies"] == {
        "confirm": ["OK", "YES"],
        "reschedule": ["MOVE"],
        "confirmed_answer": "Thanks, see you {appt_time:%A}.",
        "reschedule_answer": "",
    }
    cleared = cli("template", "save", "Visit", "--text", "Reply OK", "--confirmed-answer", "")
    assert cleared.code == 0 and "answer if confirmed" not in cleared.out


def test_a_bad_reply_word_is_one_line_exit_2_and_nothing_stored(cli: Cli) -> None:
    bad = cli("template", "save", "Visit", "--text", "Reply C", "--confirm-words", "C, STOP")
    assert bad.code == 2
    assert bad.err.count("\n") == 1 and "STOP opts people out" in bad.err
    assert "Traceback" not in bad.err
    assert cli("template", "list", "--json").json() == []
