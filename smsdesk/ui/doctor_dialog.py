"""Settings → "Check this computer": the report of ``smsdesk doctor``, in the window.

The engine's checks (keyring, database, providers over the network, clock) run off the Qt
thread; the display and font checks need Qt and run here once those are back.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QPushButton, QVBoxLayout, QWidget

from smsdesk.engine.doctor import Checkup, Finding, check_service, report_ok
from smsdesk.engine.service import Service
from smsdesk.ui.doctor_checks import display_findings, font_findings
from smsdesk.ui.tasks import TaskRunner

CHECKING = "Checking this computer…"


def finding_lines(findings: list[Finding]) -> str:
    lines = []
    for f in findings:
        lines.append(f"{'✓' if f.ok else '✗'} {f.label}: {f.detail}")
        if not f.ok and f.fix:
            lines.append(f"      {f.fix}")
    return "\n".join(lines)


class DoctorDialog(QDialog):
    def __init__(
        self,
        service: Service,
        tasks: TaskRunner,
        *,
        sending: bool | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("doctorDialog")
        self.setWindowTitle("Check this computer")
        self.service = service
        self.tasks = tasks
        self.sending = sending  # the window's engine: running, paused, or None (none)
        self.findings: list[Finding] = []
        self.report = QLabel(CHECKING)
        self.report.setObjectName("doctorReport")
        self.report.setAccessibleName("What was checked")
        self.report.setTextFormat(Qt.TextFormat.PlainText)
        self.report.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.report.setWordWrap(True)
        self.summary = QLabel()
        self.summary.setObjectName("doctorSummary")
        self.again_button = QPushButton("Check again")
        self.again_button.setObjectName("doctorAgain")
        close = QPushButton("Close")
        close.setObjectName("doctorClose")
        layout = QVBoxLayout(self)
        layout.addWidget(self.report, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.again_button)
        layout.addWidget(close)
        self.again_button.clicked.connect(self.run)
        close.clicked.connect(self.accept)

    def run(self) -> None:
        self.again_button.setEnabled(False)
        self.report.setText(CHECKING)
        self.summary.clear()
        self.tasks.submit(
            lambda: check_service(self.service, sending=self.sending),
            self._checked,
            self._failed,
        )

    def _checked(self, checkup: Checkup) -> None:
        self.findings = display_findings() + font_findings(checkup.scripts) + checkup.findings
        self.report.setText(finding_lines(self.findings))
        passed = sum(f.ok for f in self.findings)
        verdict = "All good." if report_ok(self.findings) else "Fix the lines marked ✗."
        self.summary.setText(f"{passed} of {len(self.findings)} checks passed. {verdict}")
        self.again_button.setEnabled(True)

    def _failed(self, exc: Exception) -> None:
        self.report.setText(f"The check could not finish: {exc}")
        self.again_button.setEnabled(True)
