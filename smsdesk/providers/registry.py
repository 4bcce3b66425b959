"""Which provider kinds exist, and how an account becomes a working client."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from smsdesk.core.clock import Clock
from smsdesk.core.errors import InvalidInput
from smsdesk.core.planner import Capabilities
from smsdesk.providers import sandbox
from smsdesk.providers.base import Provider


@dataclass(frozen=True)
class ProviderKind:
    kind: str
    title: str
    needs_key: bool
    capabilities: Capabilities


KINDS: dict[str, ProviderKind] = {
    "sandbox": ProviderKind("sandbox", "Sandbox", False, sandbox.CAPABILITIES),
}


def kind_info(kind: str) -> ProviderKind:
    try:
        return KINDS[kind]
    except KeyError:
        raise InvalidInput(
            f"Unknown provider kind '{kind}'; available: {', '.join(sorted(KINDS))}",
            field="kind",
        ) from None


def open_provider(
    kind: str,
    *,
    home: Path,
    clock: Clock,
    settings_json: str = "{}",
    base_url: str | None = None,
    api_key: str | None = None,
) -> Provider:
    """Build the client for one account. The API key arrives here and nowhere else."""
    options = json.loads(settings_json or "{}")
    if kind == "sandbox":
        return sandbox.SandboxProvider(
            home / "sandbox.db",
            clock,
            fail_prefix=str(options.get("fail_prefix", sandbox.DEFAULT_FAIL_PREFIX)),
            delivery_delay=timedelta(seconds=float(options.get("delivery_seconds", 0))),
        )
    raise InvalidInput(f"Unknown provider kind '{kind}'", field="kind")
