"""smsdesk's log file: ``logs/smsdesk.log`` in the data folder, rotated at 1 MB with three
old files kept, each line passed through the same number redaction as provider errors (a
number a provider quotes back, or one in a traceback, never lands in the file whole)."""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from smsdesk.core.redaction import redact_numbers

MAX_BYTES = 1_000_000
BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_path(home: Path) -> Path:
    return home / "logs" / "smsdesk.log"


class RedactingFormatter(logging.Formatter):
    """Formats as usual, traceback included, then redacts the whole line."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_numbers(super().format(record))


def install(home: Path, *, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> Path:
    """Send smsdesk's INFO and above to the log file (once: a second call is a no-op).
    Returns the file's path."""
    path = log_path(home)
    logger = logging.getLogger("smsdesk")
    for handler in logger.handlers:
        if isinstance(handler, RotatingFileHandler) and Path(handler.baseFilename) == path:
            return path
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
    handler.setFormatter(RedactingFormatter(FORMAT))
    handler.setLevel(logging.INFO)
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)
    return path


def uninstall(home: Path) -> None:
    """Close and remove the handler ``install`` added (tests, and a restart on another
    data folder)."""
    path = log_path(home)
    logger = logging.getLogger("smsdesk")
    for handler in list(logger.handlers):
        if isinstance(handler, RotatingFileHandler) and Path(handler.baseFilename) == path:
            logger.removeHandler(handler)
            handler.close()
