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
    try:
        port = parts.port  # ValueError beyond 65535 or when not a number
    except ValueError:
        port = 0
    if port == 0 and parts.netloc.rsplit("]", 1)[-1].count(":"):  # a port given, none usable
        raise InvalidInput(
            f"'{url}' names a port no server can listen on; ports are 1 to 65535.",
            field="base_url",
        )
    if parts.scheme != "https" and not is_loopback(parts.hostname):
        raise InvalidInput(
            f"'{url}' must use https:// (plain http is only allowed for this computer).",
            field="base_url",
        )
    return url.strip().rstrip("/")
