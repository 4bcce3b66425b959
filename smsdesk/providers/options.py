"""Checks every provider applies to an account's key and options when it is built."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

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


# -- how each declared option is shown in the account form ----------------------------------


@dataclass(frozen=True)
class OptionSpec:
    """One provider option as the account form shows it: a labelled field with help text."""

    name: str
    label: str
    help: str
    required: bool = False
    choices: tuple[str, ...] = ()  # a fixed list (first is the default), else free text
    placeholder: str = ""


_TIMEOUT = OptionSpec(
    "timeout",
    "Answer timeout (seconds)",
    "How long to wait for the provider to answer a request. Leave empty for the usual 30 s.",
    placeholder="30",
)

# (kind, option) -> how it is shown. Every option a provider module declares in OPTIONS has
# an entry here (a test checks it), so no option needs the command line to be set.
SPECS: dict[tuple[str, str], OptionSpec] = {
    ("kaleyra", "sid"): OptionSpec(
        "sid",
        "Account SID",
        "Your Kaleyra account SID (letters and digits, e.g. HXIN1234567890), shown on the "
        "Kaleyra console next to the API key.",
        required=True,
        placeholder="HX…",
    ),
    ("kaleyra", "region"): OptionSpec(
        "region",
        "Data centre",
        "Where your Kaleyra account lives: IN (India), SG (Singapore), EU (Europe) or NA "
        "(North America).",
        choices=("IN", "SG", "EU", "NA"),
    ),
    ("kaleyra", "host"): OptionSpec(
        "host",
        "API host",
        "Only if Kaleyra gave you a different API address than your data centre's, e.g. "
        "api.ap.kaleyra.io. Leave empty otherwise.",
        placeholder="the data centre's",
    ),
    ("kaleyra", "type"): OptionSpec(
        "type",
        "Message type",
        "TXN for transactional messages such as reminders, MKT for promotions, TXND for "
        "transactional messages to DND numbers. OTP messages cannot be scheduled.",
        choices=("TXN", "MKT", "TXND", "OTP"),
    ),
    ("kaleyra", "template_id"): OptionSpec(
        "template_id",
        "DLT template ID",
        "For messages to India: the ID of the registered DLT template the texts follow.",
    ),
    ("kaleyra", "sender"): OptionSpec(
        "sender",
        "Sender ID",
        "The approved sender ID Kaleyra sends from (e.g. KLRHXA).",
    ),
    ("kaleyra", "timeout"): _TIMEOUT,
    ("telnyx", "messaging_profile_id"): OptionSpec(
        "messaging_profile_id",
        "Messaging profile ID",
        "The messaging profile to send through (Telnyx portal, Messaging). Needed when you "
        "send without a From number: the profile's number pool picks one.",
        placeholder="e.g. 40017f8e-…",
    ),
    ("telnyx", "timeout"): _TIMEOUT,
    ("twilio", "account_sid"): OptionSpec(
        "account_sid",
        "Account SID",
        "Your Twilio Account SID (AC followed by 32 characters), on the Twilio console's "
        "dashboard. The API key field takes the account's Auth Token, or an API key's secret.",
        required=True,
        placeholder="AC…",
    ),
    ("twilio", "messaging_service_sid"): OptionSpec(
        "messaging_service_sid",
        "Messaging Service SID",
        "The Messaging Service to send through (MG followed by 32 characters; Twilio console, "
        "Messaging, Services). Twilio schedules messages only through a Messaging Service, and "
        "picks the sending number from its sender pool.",
        required=True,
        placeholder="MG…",
    ),
    ("twilio", "api_key_sid"): OptionSpec(
        "api_key_sid",
        "API key SID",
        "Only when you sign in with an API key instead of the Auth Token: the key's SID (SK "
        "followed by 32 characters); the API key field then takes the key's secret.",
        placeholder="SK…",
    ),
    ("twilio", "reply_numbers"): OptionSpec(
        "reply_numbers",
        "Numbers replies come to",
        "Your Twilio numbers that patients reply to, comma separated (e.g. +12025550100). "
        "Leave empty to look at every number of the account.",
        placeholder="+12025550100",
    ),
    ("twilio", "timeout"): _TIMEOUT,
    ("infobip", "validity_minutes"): OptionSpec(
        "validity_minutes",
        "Validity (minutes)",
        "How long Infobip keeps trying to deliver a message, 1 to 2880 minutes (48 hours, "
        "also the default).",
        placeholder="2880",
    ),
    ("infobip", "delivery_window"): OptionSpec(
        "delivery_window",
        "Delivery window (UTC)",
        "Hours in which Infobip may deliver, HH:MM-HH:MM in UTC, at least one hour apart, "
        "e.g. 08:00-20:00. Leave empty to deliver at any hour.",
        placeholder="08:00-20:00",
    ),
    ("infobip", "delivery_days"): OptionSpec(
        "delivery_days",
        "Delivery days",
        "Weekdays on which Infobip may deliver, comma separated (MON, TUE, …). Empty: every day.",
        placeholder="MON,TUE,WED,THU,FRI",
    ),
    ("infobip", "several_texts_per_bulk"): OptionSpec(
        "several_texts_per_bulk",
        "Several texts per bulk",
        "no (recommended): each distinct text goes to Infobip as its own bulk, the only kind "
        "Infobip documents as movable and cancellable as a whole; personalised texts then take "
        "one request each. yes: fewer requests, but Infobip may refuse to move or cancel a "
        "bulk of different texts.",
        choices=("no", "yes"),
    ),
    # India DLT (MessageOptions.regional.indiaDlt), sent with every message to +91 numbers.
    ("infobip", "dlt_principal_entity_id"): OptionSpec(
        "dlt_principal_entity_id",
        "India DLT principal entity ID",
        "Only for messages to India: your assigned DLT principal entity ID (the DLT portal "
        "shows it). Infobip needs it on every message to an Indian number. Leave empty "
        "otherwise.",
        placeholder="e.g. 1101234567890123456",
    ),
    ("infobip", "dlt_content_template_id"): OptionSpec(
        "dlt_content_template_id",
        "India DLT content template ID",
        "Only for messages to India: the registered DLT content template ID that the texts "
        "follow. Needs the principal entity ID.",
    ),
    ("infobip", "dlt_telemarketer_id"): OptionSpec(
        "dlt_telemarketer_id",
        "India DLT telemarketer ID",
        "Only for messages to India, and only if you send through an aggregator: your "
        "assigned telemarketer ID. Needs the principal entity ID.",
    ),
    ("infobip", "timeout"): _TIMEOUT,
}


def describe_options(kind: str, names: Collection[str]) -> tuple[OptionSpec, ...]:
    """The declared options of ``kind`` in declaration order, each with its label and help;
    an option without an entry is shown by its name rather than hidden."""
    return tuple(
        SPECS.get((kind, name))
        or OptionSpec(name, name.replace("_", " ").capitalize(), f"The {name} option.")
        for name in names
    )
