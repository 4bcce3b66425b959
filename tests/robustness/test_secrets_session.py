"""After a full session with every provider, the API keys appear nowhere but the keyring: not
in files under SMSDESK_HOME, logs (DEBUG), output, exception text, provider reprs, nor in the
argument list of a running ``smsdesk provider add``."""

from __future__ import annotations

import argparse
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from smsdesk.cli import build_parser
from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from tests.cli_runner import Cli, Run
from tests.simulators.base import Fault
from tests.simulators.infobip import InfobipSimulator
from tests.simulators.kaleyra import DEFAULT_SID, KaleyraSimulator
from tests.simulators.telnyx import PROFILE_ID, TelnyxSimulator

ROOT = Path(__file__).resolve().parents[2]
KEYS = {
    "infobip": "ib-secret-8c1f0e77a2d94b",
    "telnyx": "KEYtx-secret-51d2a0c9e8f3",
    "kaleyra": "kal-secret-0b6e93d4c21a7f",
}


@pytest.fixture
def debug_log(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "debug.log"
    handler = logging.FileHandler(path)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield path
    root.removeHandler(handler)
    root.setLevel(old)
    handler.close()


def test_keys_leak_nowhere_after_a_full_session(
    cli: Cli, clock: ManualClock, isolated_home: Path, tmp_path: Path, debug_log: Path
) -> None:
    sims = {
        "infobip": InfobipSimulator(clock, api_key=KEYS["infobip"], stall=5.0),
        "telnyx": TelnyxSimulator(clock, api_key=KEYS["telnyx"], stall=5.0),
        "kaleyra": KaleyraSimulator(clock, KEYS["kaleyra"], stall=5.0),
    }
    for sim in sims.values():
        sim.start()
    runs: list[Run] = []

    def run(*argv: str, stdin: str = "", code: int | None = 0) -> Run:
        result = cli(*argv, stdin=stdin)
        runs.append(result)
        if code is not None:
            assert result.code == code, (argv, result.err)
        return result

    try:
        extra = {
            "infobip": [],
            "telnyx": [
                "--sender",
                "+15551230000",
                "--option",
                f"messaging_profile_id={PROFILE_ID}",
            ],
            "kaleyra": ["--sender", "KLRHXA", "--option", f"sid={DEFAULT_SID}"],
        }
        to = {"infobip": "+41793026727", "telnyx": "+12025550143", "kaleyra": "+919876543210"}
        for kind, sim in sims.items():
            name = kind.title()
            run(
                "provider",
                "add",
                name,
                "--kind",
                kind,
                "--base-url",
                sim.base_url,
                "--option",
                "timeout=1.0",
                *extra[kind],
                stdin=KEYS[kind] + "\n",
            )
            run("provider", "test", name)
            run("preview", "--text", "Hello ünïcode", "--provider", name)
            at = (clock.now() + timedelta(hours=2)).isoformat()
            ids = []
            for _ in range(2):
                out = run(
                    "schedule",
                    "--to",
                    to[kind],
                    "--text",
                    "See you",
                    "--at",
                    at,
                    "--provider",
                    name,
                    "--json",
                ).json()
                ids.append(out["messages"][0]["message"]["id"])
            sim.inject(Fault.SERVER_ERROR)  # an error on the way, with its text
            run("dispatch", "--once", code=None)
            clock.advance(timedelta(minutes=1))
            run("dispatch", "--once", code=None)
            run("cancel", ids[0], code=None)
            run("show", ids[1])
            # A wrong key: the refusal must not quote either key.
            run(
                "provider",
                "add",
                f"{name} wrong",
                "--kind",
                kind,
                "--base-url",
                sim.base_url,
                *extra[kind],
                stdin="wrong-" + KEYS[kind] + "\n",
            )
            run("provider", "test", f"{name} wrong", code=1)
        run("list")
        run("provider", "list", "--json")
        clock.advance(timedelta(hours=3))
        run("dispatch", "--once", code=None)

        ctx = AppContext.open(isolated_home, clock=clock)
        reprs = []
        try:
            for kind in sims:
                provider = ctx.provider(ctx.account(kind.title()))
                reprs += [repr(provider), str(provider), repr(vars(provider).keys())]
                reprs.append(repr(ctx.account(kind.title())))
            errors = []
            for kind in sims:
                try:
                    ctx.provider(ctx.account(f"{kind.title()} wrong")).check()
                except Exception as exc:  # the point: whatever it is, it must not quote a key
                    errors += [str(exc), repr(exc), repr(exc.__context__), repr(exc.__cause__)]
            assert len(errors) == 12
        finally:
            ctx.close()
    finally:
        for sim in sims.values():
            sim.stop()

    log_text = debug_log.read_text()
    assert "GET" in log_text or "POST" in log_text  # the log did capture the session
    texts = {"log": log_text, "reprs": "\n".join(reprs), "errors": "\n".join(errors)}
    texts["output"] = "\n".join(r.out + r.err for r in runs)
    files = [p for p in isolated_home.rglob("*") if p.is_file()]
    assert any(p.name == "smsdesk.db" for p in files)
    for kind, key in KEYS.items():
        for what, text in texts.items():
            assert key not in text, f"{kind} key in {what}"
        for path in files:
            assert key.encode() not in path.read_bytes(), f"{kind} key in {path}"
    # ...while the keyring (outside SMSDESK_HOME) does hold them.
    keyring_files = [p for p in (tmp_path / "keyring-data").rglob("*") if p.is_file()]
    assert keyring_files


def _syscall(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/syscall").read_text()
    except OSError:
        return ""


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_the_key_is_never_in_the_argument_list(isolated_home: Path) -> None:
    key = KEYS["infobip"]
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "smsdesk",
            "provider",
            "add",
            "Shop",
            "--kind",
            "infobip",
            "--base-url",
            "http://127.0.0.1:9",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[bytes] = []
    deadline = time.monotonic() + 30
    waiting = False
    while time.monotonic() < deadline and child.poll() is None:
        seen.append(Path(f"/proc/{child.pid}/cmdline").read_bytes())
        seen.append(Path(f"/proc/{child.pid}/environ").read_bytes())
        # x86-64: syscall 0 (read) on fd 0 means it waits for the key on stdin.
        if _syscall(child.pid).startswith("0 0x0 "):
            waiting = True
            break
        time.sleep(0.02)
    assert child.poll() is None
    seen.append(Path(f"/proc/{child.pid}/cmdline").read_bytes())
    out, err = child.communicate(key + "\n", timeout=60)
    assert child.returncode == 0, err
    # The first reads may predate exec (the forked pytest's own argument list).
    assert any(b"provider\0add\0Shop" in s for s in seen)
    assert all(key.encode() not in s for s in seen)
    assert key not in out + err
    if not waiting and os.uname().machine == "x86_64":
        pytest.fail("never saw the process wait on stdin")


def test_plain_http_to_a_remote_host_is_refused(cli: Cli, isolated_home: Path) -> None:
    run = cli(
        "provider",
        "add",
        "Remote",
        "--kind",
        "infobip",
        "--base-url",
        "http://api.example.com",
        stdin=KEYS["infobip"] + "\n",
    )
    assert run.code == 2 and run.err.count("\n") == 1
    assert "https" in run.err.lower()
    assert KEYS["infobip"] not in run.err
    listed = cli("provider", "list", "--json").json()
    assert [a["name"] for a in listed] == ["Sandbox"]
    from smsdesk.store.secrets import SecretStore

    assert SecretStore().get("Remote") is None


def _every_option(parser: argparse.ArgumentParser, path: str = "smsdesk") -> Iterator[str]:
    """Every option string of every (sub)command, as `command: --option`."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _every_option(sub, f"{path} {name}")
        else:
            yield from (f"{path}: {o}" for o in action.option_strings)


def test_no_command_takes_a_key_as_an_option() -> None:
    """A key on the command line is visible to every user of the machine (ps, /proc)."""
    options = list(_every_option(build_parser()))
    assert any(o.endswith("provider add: --kind") for o in options)  # the walk sees them all
    secretive = re.compile(r"key|secret|token|password|passphrase|auth", re.IGNORECASE)
    names = [o.rsplit(": ", 1)[1] for o in options]
    # --passphrase-fd names a file descriptor the passphrase is read from, never the passphrase.
    assert "--passphrase-fd" in names
    assert [n for n in names if secretive.search(n) and n != "--passphrase-fd"] == []


def test_a_key_given_as_an_option_is_refused_and_stored_nowhere(
    cli: Cli, isolated_home: Path
) -> None:
    key = KEYS["telnyx"]
    result = cli(
        "provider", "add", "Shop", "--kind", "telnyx", "--sender", "+15551230000",
        "--api-key", key,
        stdin="",
    )  # fmt: skip
    assert result.code == 2
    assert "--api-key" in result.err and len(result.err.strip().splitlines()) == 1
    assert key not in result.out + result.err
    import keyring

    assert keyring.get_password("smsdesk", "Shop") is None
    assert "Shop" not in cli("provider", "list").out
