"""Provider base URLs: HTTPS is required, except for loopback addresses (simulators)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from smsdesk.core.errors import InvalidInput


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_provider_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"'{url}' is not a web address.", field="base_url")
    if parts.scheme != "https" and not is_loopback(parts.hostname):
        raise InvalidInput(
            f"'{url}' must use https:// (plain http is only allowed for this computer).",
            field="base_url",
        )
    return url.strip().rstrip("/")
