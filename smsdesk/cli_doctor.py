"""``smsdesk doctor``: is this computer ready for smsdesk? One line per check, ✓ or ✗ with the
fix; exit 0 when every check passes, 1 otherwise. Registered by smsdesk.cli.

It runs without opening storage the usual way (a damaged database is something to report).
The display and font checks run in a child process: a Qt display plugin that cannot load
ends the process it is loaded in.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import IO, Any

from smsdesk.core.clock import Clock
from smsdesk.engine.doctor import AREAS, Finding, report_ok, run_checks

DOCTOR_COMMAND = "doctor"
QT_AREAS = ("display", "fonts")
QT_TIMEOUT = 60  # seconds for the child to start Qt and look at every font


def add_doctor_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    d = sub.add_parser(
        DOCTOR_COMMAND,
        parents=[common],
        help="check this computer: display, fonts, keyring, database, providers, clock",
    )
    d.add_argument(
        "areas",
        nargs="*",
        metavar="AREA",
        help=f"only these: {', '.join(AREAS)} (default: all)",
    )


def qt_findings(areas: list[str], scripts: dict[str, str]) -> list[Finding]:
    """The display and font lines, from a child process."""
    command = [sys.executable, "-m", "smsdesk.ui.doctor_checks", ",".join(areas)]
    try:
        done = subprocess.run(
            [*command, json.dumps(scripts)],
            capture_output=True,
            text=True,
            timeout=QT_TIMEOUT,
            check=False,
        )
        rows = json.loads(done.stdout.strip().splitlines()[-1])
        return [Finding(**row) for row in rows]
    except (OSError, subprocess.SubprocessError, ValueError, IndexError, TypeError):
        return [
            Finding(
                "display",
                "Display",
                False,
                "Qt could not be started to check the display and fonts",
                "Run 'smsdesk' to see why the window does not open.",
            )
        ]


def text_report(findings: list[Finding]) -> str:
    lines = []
    for f in findings:
        lines.append(f"{'✓' if f.ok else '✗'} {f.label}: {f.detail}")
        if not f.ok and f.fix:
            lines.append(f"    fix: {f.fix}")
    passed = sum(f.ok for f in findings)
    lines.append(f"{passed} of {len(findings)} checks passed.")
    return "\n".join(lines)


def run_doctor(args: argparse.Namespace, clock: Clock | None, out: IO[str]) -> int:
    from smsdesk.core.errors import InvalidInput
    from smsdesk.engine.places import home_dir

    unknown = [a for a in args.areas if a not in AREAS]
    if unknown:
        raise InvalidInput(
            f"unknown area(s) {', '.join(unknown)}; the areas are {', '.join(AREAS)}",
            field="areas",
        )
    areas = [a for a in AREAS if a in args.areas] if args.areas else list(AREAS)
    checkup = run_checks(areas, home=home_dir(), clock=clock)
    findings = checkup.findings
    wanted_qt = [a for a in QT_AREAS if a in areas]
    if wanted_qt:
        findings = qt_findings(wanted_qt, checkup.scripts) + findings
    ok = report_ok(findings)
    if args.json:
        print(json.dumps({"ok": ok, "checks": [f.as_dict() for f in findings]}, indent=2), file=out)
    else:
        print(text_report(findings), file=out)
    return 0 if ok else 1
