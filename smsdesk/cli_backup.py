"""Command-line parts for backups and recovery: ``backup`` and ``restore``. Registered by
smsdesk.cli. They work on the data folder directly, without opening storage the usual way,
because a damaged database cannot be opened and that is when ``restore`` is needed."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import IO, Any

from smsdesk.core.clock import Clock

BACKUP_COMMANDS = frozenset({"backup", "restore", "storage"})


def add_backup_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    b = sub.add_parser(
        "backup",
        parents=[common],
        help="back the database up now (a backup is also made each day by itself)",
    )
    what = b.add_mutually_exclusive_group()
    what.add_argument("--list", action="store_true", help="list the backups kept")
    what.add_argument("--check", action="store_true", help="check the database for damage")

    r = sub.add_parser(
        "restore",
        parents=[common],
        help="recover a damaged database: from a backup, or by salvaging what can be read",
        description=(
            "Put the newest backup (or FILE) in place of the database, or with --salvage a "
            "new database holding what can still be read. The old file is kept beside it. "
            "Close the window and stop any dispatch agent first: they would go on using "
            "the old file."
        ),
    )
    r.add_argument("file", nargs="?", type=Path, help="a backup file (default: the newest)")
    r.add_argument(
        "--salvage",
        action="store_true",
        help="copy what can still be read into a new database and list what was lost",
    )
    r.add_argument(
        "--force",
        action="store_true",
        help="restore even though the database is not damaged (drops later changes)",
    )

    st = sub.add_parser(
        "storage",
        parents=[common],
        help="encryption at rest of the local database: status, encrypt, decrypt, key",
        description=(
            "Encrypt or decrypt the database file (a checked copy is renamed over it and the "
            "old bytes overwritten). Close the window and stop any dispatch agent first."
        ),
    )
    st.add_argument(
        "action", nargs="?", default="status", choices=("status", "encrypt", "decrypt", "key")
    )
    st.add_argument(
        "--restore",
        action="store_true",
        help="with 'key': put the key back from its recovery code, read from standard input",
    )


def run_backup(
    args: argparse.Namespace, clock: Clock | None, out: IO[str], stdin: IO[str] | None = None
) -> int:
    """Run ``backup`` or ``restore``; errors go up to the caller's one-line handling."""
    from smsdesk.engine.backups import Backups
    from smsdesk.engine.views import dumps

    backups = Backups(clock=clock)
    if args.command == "backup":
        result, text = _backup(args, backups)
    elif args.command == "storage":
        result, text = _storage(args, backups, stdin)
    else:
        result, text = _restore(args, backups)
    print(dumps(result) if args.json else text, file=out)
    return 0


def _size(n: int) -> str:
    return f"{n / 1_048_576:.1f} MB" if n >= 1_048_576 else f"{max(n // 1024, 1)} KB"


def _backup(args: argparse.Namespace, backups: Any) -> tuple[Any, str]:
    from smsdesk.engine.backups import DatabaseDamaged

    if args.list:
        kept = backups.list()
        lines = [f"{b.taken_at:%Y-%m-%d %H:%M} UTC  {_size(b.size):>9}  {b.path}" for b in kept]
        return kept, "\n".join(lines) or "No backups yet."
    if args.check:
        problems = backups.check()
        if problems:
            raise DatabaseDamaged(problems)
        return {"sound": True}, "The database is sound."
    made = backups.backup_now()
    return made, f"Backed up to {made.path} ({_size(made.size)})."


def _restore(args: argparse.Namespace, backups: Any) -> tuple[Any, str]:
    from smsdesk.core.errors import InvalidInput

    if args.salvage:
        if args.file is not None:
            raise InvalidInput("--salvage works on the database itself; give no FILE.")
        done = backups.salvage()
        head = "Salvaged what could be read into a new database."
    else:
        done = backups.restore(args.file, force=args.force)
        head = done.lines[0]
    lines = [head]
    if done.set_aside:
        lines.append(f"The old file is kept as {done.set_aside}.")
    if done.how == "salvaged":
        lines += [f"  {line}" for line in done.lines]
        if done.complete:
            lines.append("Nothing was lost.")
        elif done.report_file:
            lines.append(f"What was lost is also written to {done.report_file}.")
    return done, "\n".join(lines)


def _storage(args: argparse.Namespace, backups: Any, stdin: IO[str] | None) -> tuple[Any, str]:
    import sys

    stdin = stdin or sys.stdin
    from smsdesk.core.errors import InvalidInput

    if args.restore and args.action != "key":
        raise InvalidInput("--restore goes with 'smsdesk storage key'.", field="restore")
    if args.action == "encrypt":
        done = backups.encrypt()
        return done, f"The database is now {done.detail}.\n{backups.key_warning()}"
    if args.action == "decrypt":
        done = backups.decrypt()
        return done, f"The database is now {done.detail}."
    if args.action == "key" and args.restore:
        # Never on the command line: argument lists are visible to other users.
        code = stdin.readline() if not stdin.isatty() else _ask_code()
        backups.restore_key(code)
        return {"restored": True}, "The database key is back in this computer's keyring."
    if args.action == "key":
        code = backups.recovery_code()
        text = f"Recovery code (write it down, keep it locked away):\n{code}"
        return {"recovery_code": code}, text
    state = backups.encryption()
    return state, f"Database: {state.detail}."


def _ask_code() -> str:
    import getpass

    return getpass.getpass("Recovery code: ")
