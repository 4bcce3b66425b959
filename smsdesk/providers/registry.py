"""Which provider kinds exist, and how an account becomes a working client.

Each provider module declares ``TITLE``, ``NEEDS_KEY``, ``CAPABILITIES``,
``DEFAULT_BASE_URL``, its ``OPTIONS`` (names; how each is shown lives in options.py) and
``build(...)``; they are imported only when an account uses them.
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
from smsdesk.providers.options import OptionSpec, describe_options

MODULES: dict[str, str] = {
    "sandbox": "smsdesk.providers.sandbox",
    "infobip": "smsdesk.providers.infobip",
    "telnyx": "smsdesk.providers.telnyx",
    "kaleyra": "smsdesk.providers.kaleyra",
    "twilio": "smsdesk.providers.twilio",
}


@dataclass(frozen=True)
class ProviderKind:
    kind: str
    title: str
    needs_key: bool
    capabilities: Capabilities
    default_base_url: str | None
    options: tuple[OptionSpec, ...] = ()
    # Whether smsdesk collects replies through this provider (none does yet).
    replies: bool = False

    @property
    def needs_base_url(self) -> bool:
        """An account of this kind must say its own address (Infobip: one per customer)."""
        return self.needs_key and self.default_base_url is None


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
        kind,
        module.TITLE,
        module.NEEDS_KEY,
        module.CAPABILITIES,
        module.DEFAULT_BASE_URL,
        describe_options(kind, getattr(module, "OPTIONS", ())),
        bool(getattr(module, "PULLS_REPLIES", False)),
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
