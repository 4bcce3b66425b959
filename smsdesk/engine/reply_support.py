"""Whether smsdesk can collect an account's replies, in the words the window and
``provider list`` show. Telnyx and Kaleyra deliver replies only by webhook (providers.md), which
needs a server smsdesk does not have: they say so plainly."""

from __future__ import annotations

from smsdesk.providers.registry import MODULES, kind_info

WEBHOOK_ONLY = frozenset({"telnyx", "kaleyra"})
NO_WEBHOOK = "not available without a webhook"


def replies_wording(kind: str) -> str:
    if kind in MODULES and kind_info(kind).replies:
        return "collected by smsdesk: pulled from the provider, no server needed"
    if kind in WEBHOOK_ONLY:
        return NO_WEBHOOK
    return "not collected by smsdesk for this provider"
