"""Checks every provider applies to an account's key and options when it is built."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import httpx

from smsdesk.core.errors import InvalidInput
from smsdesk.providers.http import DEFAULT_TIMEOUT


def require_key(title: str, api_key: str | None) -> str:
    key = (api_key or "").strip()
    if not key:
        article = "An" if title[:1] in "AEIOU" else "A"
        raise InvalidInput(f"{article} {title} account needs an API key.", field="api_key")
    return key


def reject_unknown(title: str, options: Mapping[str, str], known: Collection[str]) -> None:
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise InvalidInput(
            f"{title} has no option {', '.join(unknown)}; known: {', '.join(known)}.",
            field="option",
        )


def timeout_from(options: Mapping[str, str]) -> httpx.Timeout:
    """``--option timeout=SECONDS``: how long to wait for an answer (tests use a short one)."""
    raw = options.get("timeout")
    if raw is None:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 300:
        raise InvalidInput(
            f"Option timeout='{raw}' is not a number of seconds (0 to 300).", field="option"
        )
    return httpx.Timeout(connect=5.0, read=seconds, write=10.0, pool=5.0)
