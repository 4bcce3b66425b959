"""Templates in the window: create, edit, delete, with the live segment counter, the
worst-case length after merging and the STOP-word warning."""

# pytest-qt ships no type hints for its qtbot methods.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from smsdesk.engine.context import AppContext
from smsdesk.engine.service import Service
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.templates_view import TemplatesView
from tests.cli_runner import Cli
from tests.ui.conftest import Answers


def _view(window: MainWindow) -> TemplatesView:
    window.show_view("Templates")
    view = window.templates
    assert view.isVisible() and view.objectName() == "templatesView"
    return view


def _names(view: TemplatesView) -> list[str]:
    return [view.list.item(i).text() for i in range(view.list.count())]


def test_create_a_template_and_see_its_segment_count(
    qtbot: QtBot, window: MainWindow, cli: Cli
) -> None:
    view = _view(window)
    qtbot.mouseClick(view.new_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(view.name_edit, "Reminder")
    qtbot.keyClicks(view.text_edit, "Hi {first_name|there}, see you tomorrow. " + "x" * 130)
    # Counted as typed: 171 characters of GSM-7 with the field as written.
    assert view.counter_label.text().startswith("171 characters · 2 segments · GSM-7")
    qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)

    assert view.status_label.text() == "Saved “Reminder”."
    assert _names(view) == ["Reminder"]
    shown = cli("template", "show", "Reminder", "--json").json()
    assert shown["fields"] == ["first_name"]


def test_worst_case_uses_the_longest_contact_values(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    book = service.contact_book()
    book.save_contact("+15555550101", name="Al")
    book.save_contact("+15555550102", name="Bartholomew Featherstonehaugh")
    view = _view(window)
    qtbot.waitUntil(lambda: "first_name" in view.longest)
    qtbot.keyClicks(view.text_edit, "Hi {name}! " + "y" * 150)
    # "Hi Al! ..." fits one segment; the longest name does not.
    assert view.worst_label.text().startswith(
        "Longest after merging: 184 characters · 2 segments · GSM-7"
    )
    qtbot.keyClicks(view.text_edit, " {clinic}")
    assert "no contact has a value for {clinic}" in view.worst_label.text()


def test_stop_word_lint_and_a_malformed_field_show_while_typing(
    qtbot: QtBot, window: MainWindow
) -> None:
    view = _view(window)
    qtbot.keyClicks(view.text_edit, "Reply STOP to cancel your appointment")
    assert view.lint_label.isVisible()
    assert "reply STOP opts them out of ALL your messages" in view.lint_label.text()
    view.text_edit.clear()
    qtbot.keyClicks(view.text_edit, "Hi {first name}")
    assert view.text_error.isVisible() and "not a field name" in view.text_error.text()
    qtbot.keyClicks(view.name_edit, "Broken")
    qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    assert _names(view) == []


def test_edit_and_delete_a_template(
    qtbot: QtBot, window: MainWindow, service: Service, answers: Answers, cli: Cli
) -> None:
    service.contact_book().save_template("Welcome", "Welcome to the clinic")
    view = _view(window)
    view.refresh()
    rect = view.list.visualItemRect(view.list.item(0))
    qtbot.mouseClick(view.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert view.text_edit.toPlainText() == "Welcome to the clinic"
    view.text_edit.moveCursor(view.text_edit.textCursor().MoveOperation.End)
    qtbot.keyClicks(view.text_edit, ", Maria")
    qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    assert cli("template", "show", "Welcome", "--json").json()["text"] == (
        "Welcome to the clinic, Maria"
    )

    with qtbot.waitSignal(view.use_template_requested) as used:
        qtbot.mouseClick(view.use_button, Qt.MouseButton.LeftButton)
    assert used.args == ["Welcome to the clinic, Maria"]

    answers.confirm = True
    qtbot.mouseClick(view.delete_button, Qt.MouseButton.LeftButton)
    assert answers.asked == 1
    assert _names(view) == []
    assert cli("template", "list", "--json").json() == []


def test_the_longest_values_are_read_on_each_backend(db_ctx: AppContext) -> None:
    """What the worst case is worked out with, from SQLite and PostgreSQL alike."""
    book = Service(db_ctx).contact_book()
    book.save_contact("+15555550101", name="Al Smith", fields={"clinic": "North"})
    book.save_contact("+15555550102", name="Bartholomew Jones", fields={"clinic": "Southside"})
    assert book.longest_values() == {
        "number": "+15555550101",
        "name": "Bartholomew Jones",
        "first_name": "Bartholomew",
        "clinic": "Southside",
    }


def test_an_unsaved_edit_survives_a_visit_to_another_tab(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    service.contact_book().save_template("Welcome", "Welcome to the clinic")
    view = _view(window)
    rect = view.list.visualItemRect(view.list.item(0))
    qtbot.mouseClick(view.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.keyClicks(view.text_edit, "Dear patient, ")
    window.show_view("Compose")
    service.contact_book().save_template("Later", "Saved meanwhile elsewhere")
    window.show_view("Templates")
    assert _names(view) == ["Later", "Welcome"]  # read again when shown
    assert view.selected_name() == "Welcome"
    assert view.text_edit.toPlainText() == "Dear patient, Welcome to the clinic"


def _retype(qtbot: QtBot, edit: QLineEdit, text: str) -> None:
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    qtbot.keyClicks(edit, text)


def test_reply_words_and_answers_are_saved_with_the_template(
    qtbot: QtBot, window: MainWindow, service: Service, cli: Cli
) -> None:
    view = _view(window)
    fields = view.reply_fields
    qtbot.mouseClick(view.new_button, Qt.MouseButton.LeftButton)
    assert fields.confirm_edit.text() == "C, 1, YES"  # the defaults, shown to be changed
    assert fields.reschedule_edit.text() == "R, 2"
    qtbot.keyClicks(view.name_edit, "Visit")
    qtbot.keyClicks(view.text_edit, "See you {appt_time:%A}. Reply OK to confirm")
    _retype(qtbot, fields.confirm_edit, "ok, Yes")
    _retype(qtbot, fields.reschedule_edit, "move")
    qtbot.keyClicks(fields.confirmed_answer_edit, "Thanks, see you {appt_time:%A}.")
    qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    assert view.status_label.text() == "Saved “Visit”."
    saved = service.contact_book().template("Visit").replies
    assert (saved.confirm, saved.reschedule) == (("OK", "YES"), ("MOVE",))
    assert (saved.confirmed_answer, saved.reschedule_answer) == (
        "Thanks, see you {appt_time:%A}.",
        "",
    )
    shown = cli("template", "show", "Visit", "--json").json()
    assert shown["replies"]["confirm"] == ["OK", "YES"]
    # Another template shows its own (default) rules; back to Visit shows what was saved.
    service.contact_book().save_template("Other", "Hello")
    view.refresh()
    view.list.setFocus()
    qtbot.keyClick(view.list, Qt.Key.Key_Home)  # "Other" sorts first
    assert view.name_edit.text() == "Other" and fields.confirm_edit.text() == "C, 1, YES"
    qtbot.keyClick(view.list, Qt.Key.Key_End)
    assert view.name_edit.text() == "Visit"
    assert fields.confirm_edit.text() == "OK, YES"
    assert fields.confirmed_answer_edit.text() == "Thanks, see you {appt_time:%A}."


def test_a_bad_reply_word_is_said_beside_its_field_and_nothing_is_stored(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    view = _view(window)
    fields = view.reply_fields
    qtbot.keyClicks(view.name_edit, "Visit")
    qtbot.keyClicks(view.text_edit, "Reply C to confirm")
    _retype(qtbot, fields.confirm_edit, "C, stop")
    qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    error = fields.errors["confirm_words"]
    assert error.isVisible() and "STOP opts people out" in error.text()
    assert service.contact_book().templates() == []
    _retype(qtbot, fields.confirm_edit, "C")
    _retype(qtbot, fields.reschedule_edit, "c")  # both confirms and reschedules
    qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    assert not error.isVisible()
    assert fields.errors["reschedule_words"].isVisible()
    assert service.contact_book().templates() == []
    qtbot.keyClicks(fields.reschedule_answer_edit, "Call us on {phone}")
    _retype(qtbot, fields.reschedule_edit, "R")
    qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    assert "{phone} is not known to an answer" in fields.errors["reschedule_answer"].text()
    assert service.contact_book().templates() == []
