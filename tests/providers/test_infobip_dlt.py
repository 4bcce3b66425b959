"""India DLT for Infobip: the account's principal entity, content template and telemarketer
IDs go on every message to an Indian number as ``options.regional.indiaDlt`` (IndiaDltOptions),
declared for the Settings form, refused when saved without the required principal entity ID,
and checked by the simulator as the spec's schema says."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.core.errors import InvalidInput
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.service import Service
from smsdesk.providers.base import Outgoing, Receipt
from smsdesk.providers.infobip import InfobipProvider, build
from smsdesk.providers.registry import kind_info
from tests.simulators.infobip import InfobipSimulator

KEY = "ib-key-5f0c9e21d7"
MUMBAI, ZURICH = "+919876543210", "+41793026727"
DLT = {
    "dlt_principal_entity_id": "1101234567890123456",
    "dlt_content_template_id": "1107160000000012345",
    "dlt_telemarketer_id": "110200000000",
}
INDIA_DLT = {
    "principalEntityId": "1101234567890123456",
    "contentTemplateId": "1107160000000012345",
    "telemarketerId": "110200000000",
}
HOUR = timedelta(hours=1)


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[InfobipSimulator]:
    simulator = InfobipSimulator(clock, api_key=KEY)
    simulator.start()
    yield simulator
    simulator.stop()


def _provider(
    sim: InfobipSimulator, clock: ManualClock, tmp_path: Path, options: dict[str, str]
) -> InfobipProvider:
    return build(home=tmp_path, clock=clock, options=options, base_url=sim.base_url, api_key=KEY)


def _send(provider: InfobipProvider, clock: ManualClock) -> None:
    at = clock.now() + HOUR
    outs = [
        Outgoing(k, to, "Your appointment", "CLINIC", at)
        for k, to in (("in", MUMBAI), ("ch", ZURICH))
    ]
    outcomes = provider.schedule(provider.assign_groups(outs))
    assert all(isinstance(o, Receipt) for o in outcomes) and len(outcomes) == 2


def test_dlt_fields_go_on_messages_to_india_only(
    sim: InfobipSimulator, clock: ManualClock, tmp_path: Path
) -> None:
    provider = _provider(sim, clock, tmp_path, DLT)
    try:
        _send(provider, clock)
    finally:
        provider.close()
    assert sim.message("in").regional == {"indiaDlt": INDIA_DLT}
    assert sim.message("ch").regional is None
    # Two contents, so two bulks of one messages[] entry each.
    assert [len(b["messages"]) for b in sim.bodies] == [1, 1]


def test_the_principal_entity_alone_is_enough(
    sim: InfobipSimulator, clock: ManualClock, tmp_path: Path
) -> None:
    options = {"dlt_principal_entity_id": " 1101234567890123456 "}
    provider = _provider(sim, clock, tmp_path, options)
    try:
        _send(provider, clock)
    finally:
        provider.close()
    assert sim.message("in").regional == {"indiaDlt": {"principalEntityId": "1101234567890123456"}}


def test_without_dlt_options_nothing_regional_is_sent(
    sim: InfobipSimulator, clock: ManualClock, tmp_path: Path
) -> None:
    provider = _provider(sim, clock, tmp_path, {})
    try:
        _send(provider, clock)
    finally:
        provider.close()
    [body] = sim.bodies  # one text, no DLT: one bulk
    assert all("regional" not in (e.get("options") or {}) for e in body["messages"])


def test_an_account_with_dlt_ids_but_no_principal_entity_is_refused_when_saved(
    ctx: AppContext, sim: InfobipSimulator
) -> None:
    service = Service(ctx)
    with pytest.raises(InvalidInput, match="dlt_principal_entity_id is needed"):
        service.add_account(
            "Infobip",
            "infobip",
            api_key=KEY,
            base_url=sim.base_url,
            options={"dlt_content_template_id": "1107160000000012345"},
        )
    assert "Infobip" not in [a.name for a in service.accounts.list_accounts()]


def test_the_engine_hands_dlt_fields_to_infobip(
    ctx: AppContext, sim: InfobipSimulator, clock: ManualClock
) -> None:
    service = Service(ctx)
    service.update_settings(quiet_mode="off")
    service.add_account(
        "Infobip",
        "infobip",
        api_key=KEY,
        base_url=sim.base_url,
        options=dict(DLT),
        make_default=True,
    )
    result = service.schedule([MUMBAI], "Your appointment", clock.now() + HOUR, "UTC")
    assert Dispatcher(ctx).run_once().handed_off == 1
    [entry] = sim.bodies[0]["messages"]
    assert entry["options"]["regional"] == {"indiaDlt": INDIA_DLT}
    assert service.show(result.messages[0].message.id)[0].state == "scheduled"


def test_the_settings_form_declares_the_dlt_options_with_labels() -> None:
    specs = {spec.name: spec for spec in kind_info("infobip").options}
    for name in DLT:
        assert "India DLT" in specs[name].label and "India" in specs[name].help


@pytest.mark.parametrize(
    ("regional", "violation"),
    [
        ({"indiaDlt": {"contentTemplateId": "1"}}, "indiaDlt.principalEntityId: must not be null"),
        ({"indiaDlt": {"principalEntityId": 1}}, "indiaDlt: values must be strings"),
        ({"indiaDlt": {"principalEntityId": "1", "entityId": "2"}}, "indiaDlt: unknown property"),
        ({"indiaDLT": {"principalEntityId": "1"}}, "unknown property indiaDLT"),
    ],
)
def test_the_simulator_refuses_what_india_dlt_options_schema_refuses(
    sim: InfobipSimulator, regional: dict[str, object], violation: str
) -> None:
    body = {
        "messages": [
            {
                "destinations": [{"to": MUMBAI.removeprefix("+")}],
                "content": {"text": "Hi"},
                "options": {"regional": regional},
            }
        ]
    }
    answer = httpx.post(
        f"{sim.base_url}/sms/3/messages", json=body, headers={"Authorization": f"App {KEY}"}
    )
    assert answer.status_code == 400
    [found] = answer.json()["violations"]
    assert found["property"] == "messages[0].options.regional"
    assert found["violation"].startswith(violation)
    assert sim.bodies == []
