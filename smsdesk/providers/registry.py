"""Which provider kinds exist, and how an account becomes a working client.

Each provider module declares ``TITLE``, ``NEEDS_KEY``, ``CAPABILITIES``,
``DEFAULT_BASE_URL`` and ``build(...)``; they are imported only when an account uses them.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from smsdesk.core.clock import Clock
from smsdesk.core.errors import InvalidInput
from smsdesk.core.planner import Capabilities
from smsdesk.providers.base import Provider

MODULES: dict[str, str] = {
    "sandbox": "smsdesk.providers.sandbox",
    "infobip": "smsdesk.providers.infobip",
    "telnyx": "smsdesk.providers.telnyx",
    "kaleyra": "smsdesk.providers.kaleyra",
}


@dataclass(frozen=True)
class ProviderKind:
    kind: str
    title: str
    needs_key: bool
    capabilities: Capabilities
    default_base_url: str | None


def _module(kind: str) -> ModuleType:
    if kind not in MODULES:
        raise InvalidInput(
            f"Unknown provider kind '{kind}'; available: {', '.join(sorted(MODULES))}",
            field="kind",
        )
    return importlib.import_module(MODULES[kind])


def kind_info(kind: str) -> ProviderKind:
    module = _module(kind)
    return ProviderKind(
        kind, module.TITLE, module.NEEDS_KEY, module.CAPABILITIES, module.DEFAULT_BASE_URL
    )


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
    options = {str(k): str(v) for k, v in json.loads(settings_json or "{}").items()}
    provider: Provider = _module(kind).build(
        home=home, clock=clock, options=options, base_url=base_url, api_key=api_key
    )
    return provider
