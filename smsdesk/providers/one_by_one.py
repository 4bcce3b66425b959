"""What the providers that take one message per request (Telnyx, Twilio, Kaleyra) do alike.

None of them takes an idempotency key or keeps a reference of ours, so none can be asked
whether it received a message: every lookup answers "cannot tell". None can move a message
it holds, so reschedule is refused. Each provider's module says why, in the provider's own
documented words, and sets the sentences the user sees (``OneByOne``'s class attributes).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import ClassVar, TypeVar

from smsdesk.core.lifecycle import State
from smsdesk.providers.base import (
    AmbiguousError,
    AuthenticationError,
    CannotTell,
    Found,
    Outcome,
    Outgoing,
    PermanentError,
    ProviderError,
    Rejected,
    StatusReport,
    TransientError,
)
from smsdesk.providers.http import HttpClient
from smsdesk.providers.pace import Spacing

log = logging.getLogger(__name__)

Record = TypeVar("Record")


class OneByOne(ABC):
    """The parts of the provider protocol these providers answer the same way. A subclass
    names itself (``title``), says what lookup and reschedule answer, and creates one
    message (``_create``)."""

    title: ClassVar[str]
    # Why lookup cannot tell, and where the user can look instead.
    cannot_tell: ClassVar[str]
    # Why reschedule is refused; its hint says what to do instead.
    no_reschedule: ClassVar[str]
    no_reschedule_hint: ClassVar[str] = ""

    _http: HttpClient

    def close(self) -> None:
        self._http.close()

    def assign_groups(self, messages: Sequence[Outgoing]) -> list[Outgoing]:
        return list(messages)  # one message per request, no provider-side group

    def schedule(self, messages: Sequence[Outgoing]) -> list[Outcome]:
        return schedule_one_by_one(self.title, messages, self._create)

    @abstractmethod
    def _create(self, msg: Outgoing) -> Outcome:
        """One request for one message."""

    def group_of(self, ref: str) -> str | None:
        return None

    def lookup(self, messages: Sequence[tuple[str, str | None]]) -> list[Found]:
        # Never "not received", and no request: the provider cannot be asked by our key.
        return [CannotTell(key, self.cannot_tell) for key, _ in messages]

    def reschedule(self, ref: str, send_at: datetime) -> None:
        raise PermanentError(self.no_reschedule, hint=self.no_reschedule_hint)


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


def statuses_one_by_one(
    provider: str,
    refs: Sequence[str],
    pace: Spacing,
    read: Callable[[str], Record],
    report: Callable[[str, Record], StatusReport | None],
) -> list[StatusReport]:
    """Status where the provider has no batch form: one ``read`` per message, spaced by
    ``pace``, each turned into a report (None: nothing to say about it). A message the
    provider will not tell about is skipped; when the provider struggles the pass stops
    with what it has, and the next pass asks again."""
    reports: list[StatusReport] = []
    for ref in refs:
        try:
            pace.wait()
            record = read(ref)
        except AuthenticationError:
            raise
        except PermanentError as exc:
            log.info("%s status of %s unavailable: %s", provider, ref, exc)
            continue
        except ProviderError as exc:
            log.warning("%s status sync stopped: %s", provider, exc)
            break
        found = report(ref, record)
        if found is not None:
            reports.append(found)
    return reports


def provider_said(provider: str, refused: PermanentError) -> str:
    """The provider's own words in a refusal, without the prefix HttpClient gives them."""
    return str(refused).removeprefix(f"{provider} refused the request: ")


def still_scheduled(
    provider: str,
    refused: PermanentError,
    read: Callable[[], Record],
    status_of: Callable[[Record], str],
    states: Mapping[str, State | None],
) -> Record | None:
    """The message, read after the provider refused to cancel it, while it is still
    "scheduled" (the caller may explain more, then raises ``refused``). None when it is
    cancelled after all: the refusal answered a repeat of a cancel that worked, whose answer
    was lost. Raises ``refused`` when the message cannot be read, and a PermanentError that
    says so when it is past "scheduled"."""
    try:
        record = read()
    except ProviderError:
        raise refused from None
    status = status_of(record)
    if states.get(status) is State.CANCELLED:
        return None
    if status != "scheduled":
        raise PermanentError(
            f"{provider} cannot cancel this message: it is no longer scheduled ({status}). "
            f"{provider} said: {provider_said(provider, refused)}"
        ) from None
    return record
