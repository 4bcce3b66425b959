"""Handing a claim to a provider that takes one message per request (Telnyx, Twilio)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from smsdesk.providers.base import (
    AmbiguousError,
    AuthenticationError,
    Outcome,
    Outgoing,
    Rejected,
    TransientError,
)

log = logging.getLogger(__name__)


def schedule_one_by_one(
    provider: str, messages: Sequence[Outgoing], create: Callable[[Outgoing], Outcome]
) -> list[Outcome]:
    """``create`` for each message in turn. A failure before anything was accepted is
    raised (nothing reached the provider, or the engine asks it); after that, what was
    accepted is answered and must be recorded."""
    outcomes: list[Outcome] = []
    for msg in messages:
        try:
            outcomes.append(create(msg))
        except AuthenticationError as exc:
            if not outcomes:
                raise
            # Raising now would mark the ones already accepted as failed too.
            outcomes.append(Rejected(msg.key, str(exc)))
        except (TransientError, AmbiguousError):
            if not outcomes:
                raise
            # Some were accepted: raising would put them back in the queue (a resend).
            # Leaving the rest out of the answer makes the engine treat them as unknown.
            log.warning(
                "%s hand-off stopped after %d of %d", provider, len(outcomes), len(messages)
            )
            break
    return outcomes
