"""Callbacks arrive twice, late, early, out of order or forged: no donation is counted twice or lost."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sms_harness import TextGiving, connect, count_rows

from everypenny.adapters.db.schema import inbox_messages, outbox_tasks, sms_outbound
from everypenny.domain.donation import DonationStatus
from everypenny.domain.text_giving import ChargeStatus
from everypenny.entrypoints.web.app import create_app
from everypenny.simulators.aggregator import Delivery, SimulatedAggregator, create_simulator_app

EE = "+447700900002"
O2 = "+447700900102"
PAYG_5 = "+447700900202"
NO_DONATIONS_NETWORK = "+447700900352"
SENDERS = [EE, O2, PAYG_5, "+447700900003", "+447700900252", "+447700900004"]


def _harness(platform, client, delivery: Delivery) -> TextGiving:
    return TextGiving(platform, client, connect(platform, client, delivery))


def _mo(guid: str, number: str = EE[1:], body: str = "SUN5") -> dict[str, str]:
    return {"IFVERSION": "201001", "MONUMBER": number, "OPERATOR": "eetmo-uk", "DESTINATION": "70141", "BODY": body,
            "RECEIVETIME": "20261126120000", "GUID": guid, "PRICE": "0"}


def _report(request_id: str, status: str) -> dict[str, str]:
    return {"IFVERSION": "201001", "CHARGEMETHOD": "BILL", "MONUMBER": EE[1:], "OPERATOR": "eetmo-uk",
            "GUID": "r-4-TX1", "DURATION": "2", "RETRYCOUNT": "0", "STATUSCODE": status,
            "STATUSTEXT": status.capitalize(), "REQUESTID": request_id, "STATUSTIME": "20261126120001",
            "CONTRACT": "PAYG"}


def test_every_callback_delivered_twice_counts_once(platform, client, seed_appeal):
    texts = _harness(platform, client, Delivery(duplicate_rate=1.0))

    replies = texts.text(EE, "SUN5")

    assert len(texts.donations()) == 1 and len(texts.simulator.charges) == 1
    assert len(replies) == 1  # one receipt, sent once
    assert texts.totals()["raised_pence"] == 500 == texts.simulator.charged_pence()


def test_the_same_mo_twice_is_acknowledged_and_ignored(texts):
    first = texts.callback("mo", _mo("mo-1"))
    again = texts.callback("mo", _mo("mo-1"))
    texts.settle()

    assert first.status_code == again.status_code == 200
    assert again.text == "OK (already received)"
    assert len(texts.donations()) == 1 and texts.totals()["raised_pence"] == 500


def test_reordered_callbacks_from_many_handsets_end_consistent(platform, client, seed_appeal):
    texts = _harness(platform, client, Delivery(reverse_batches=True, duplicate_rate=0.5))
    for sender in SENDERS:
        texts.simulator.text(sender, "70141", "SUN10")
        texts.simulator.text(sender, "70141", "SUN3")
    texts.settle()

    donations = texts.donations()
    assert len(donations) == 2 * len(SENDERS)
    assert all(d.status is not DonationStatus.PENDING for d in donations)
    assert texts.totals()["raised_pence"] == texts.simulator.charged_pence() == sum(d.paid_pence for d in donations)
    assert texts.totals()["pending_pence"] == 0


def test_a_charge_report_before_our_charge_exists_is_kept_and_applied_later(texts):
    early = texts.callback("charge-report", _report("mo2C1", "DELIVERED"))
    texts.settle()

    assert early.status_code == 200
    with texts.platform.uow() as uow:
        assert uow.outbox.depth() == 1  # waiting for its charge, with backoff

    texts.callback("mo", _mo("mo2"))
    texts.settle()
    texts.make_retries_due()

    [donation] = texts.donations()
    assert donation.status is DonationStatus.PAID
    assert texts.totals()["raised_pence"] == 500 and texts.totals()["pending_pence"] == 0
    with texts.platform.uow() as uow:
        assert uow.outbox.depth() == 0


def test_a_charge_report_twice_posts_once_and_receipts_once(texts):
    texts.callback("mo", _mo("mo3"))
    texts.settle()  # the simulator's own report has charged it
    again = texts.callback("charge-report", _report("mo3C1", "DELIVERED"))
    texts.settle()

    assert again.text == "OK (already received)"
    assert texts.totals()["raised_pence"] == 500
    assert len([m for m in texts.received(EE) if m.startswith("Thank you!")]) == 1


def test_failed_then_charged_keeps_the_first_outcome_and_flags_the_contradiction(texts):
    texts.text(NO_DONATIONS_NETWORK, "SUN5")
    [donation] = texts.donations()
    [charge] = texts.charges(donation.reference)
    assert charge.status is ChargeStatus.FAILED

    late = texts.callback("charge-report", _report(charge.request_id, "DELIVERED"))
    texts.settle()

    assert late.status_code == 200
    [charge] = texts.charges(donation.reference)
    assert charge.status is ChargeStatus.FAILED
    assert charge.contradicting_report == "charged after failed"
    assert texts.donations()[0].status is DonationStatus.FAILED
    assert texts.totals()["raised_pence"] == 0 and texts.totals()["pending_pence"] == 0
    assert not any(m.startswith("Thank you!") for m in texts.received(NO_DONATIONS_NETWORK))


def test_charged_then_failed_keeps_the_money_and_flags_the_contradiction(texts):
    texts.text(EE, "SUN5")
    [donation] = texts.donations()
    [charge] = texts.charges(donation.reference)

    texts.callback("charge-report", _report(charge.request_id, "TEMPORARY_BARRED"))
    texts.settle()

    [charge] = texts.charges(donation.reference)
    assert charge.status is ChargeStatus.CHARGED
    assert charge.contradicting_report == "failed (TEMPORARY_BARRED) after charged"
    assert texts.totals()["raised_pence"] == 500


@pytest.mark.parametrize("kind", ["mo", "charge-report", "delivery-report"])
def test_a_callback_without_the_secret_token_is_a_404_and_stores_nothing(texts, kind):
    fields = _mo("forged") if kind == "mo" else _report("x1C1", "DELIVERED")

    forged = texts.callback(kind, fields, token="not-the-token")
    unsigned_old_style = texts.client.post(f"/webhooks/aggregator/{kind}", data=fields)

    assert forged.status_code == unsigned_old_style.status_code == 404
    assert count_rows(texts.platform, inbox_messages) == 0 == count_rows(texts.platform, outbox_tasks)


def _calling_from(platform, address: str) -> TextGiving:
    caller = TestClient(create_app(platform), client=(address, 40000))
    return TextGiving(platform, caller, connect(platform, caller))


def test_a_callback_from_an_address_not_listed_is_a_403_and_stores_nothing(platform, seed_appeal):
    platform.settings.aggregator_callback_ips = "54.194.146.155, 54.194.13.0/24"

    for address in ("203.0.113.9", "testclient"):
        response = _calling_from(platform, address).callback("mo", _mo(f"from-{address}"))
        assert response.status_code == 403
        assert response.json()["detail"] == "callbacks are not taken from this address"
    assert count_rows(platform, inbox_messages) == 0


@pytest.mark.parametrize("address", ["54.194.146.155", "54.194.13.190"])
def test_a_callback_from_a_listed_address_or_network_is_taken(platform, seed_appeal, address):
    platform.settings.aggregator_callback_ips = "54.194.146.155, 54.194.13.0/24"

    assert _calling_from(platform, address).callback("mo", _mo("from-fonix")).text == "OK"


def test_a_mistyped_address_list_stops_the_app_from_starting(platform):
    platform.settings.aggregator_callback_ips = "54.194.146.155, fonix.example"

    with pytest.raises(ValueError, match="EVERYPENNY_AGGREGATOR_CALLBACK_IPS"):
        create_app(platform)


def test_a_callback_missing_fields_is_a_400_that_names_them(texts):
    response = texts.callback("mo", {"GUID": "g-1", "BODY": "SUN5"})

    assert response.status_code == 400
    assert response.json()["detail"] == "missing MONUMBER, DESTINATION"
    assert count_rows(texts.platform, inbox_messages) == 0


def test_an_aggregator_outage_delays_the_charge_but_never_loses_it(platform, client, seed_appeal):
    texts = _harness(platform, client, Delivery())
    texts.simulator.api_key = "rotated"  # the aggregator refuses us until the keys agree again

    texts.text(EE, "SUN5")
    assert texts.simulator.charges == {} and texts.totals()["pending_pence"] == 500

    texts.simulator.api_key = platform.settings.aggregator_api_key
    texts.make_retries_due()

    assert texts.totals()["raised_pence"] == 500 == texts.simulator.charged_pence()


def test_the_simulator_refuses_a_request_id_reused_for_another_charge(texts):
    simulator_client = TestClient(create_simulator_app(texts.simulator))
    fields = {"NUMBERS": EE[1:], "AMOUNT": "500", "CURRENCY": "GBP", "REQUESTID": "r1", "CHARGEDESCRIPTION": "Gift"}
    headers = {"X-API-KEY": texts.platform.settings.aggregator_api_key}

    first = simulator_client.post("/v2/chargemobile", data=fields, headers=headers)
    replay = simulator_client.post("/v2/chargemobile", data=fields, headers=headers)
    other = simulator_client.post("/v2/chargemobile", data={**fields, "AMOUNT": "1000"}, headers=headers)

    assert first.json() == replay.json() and other.status_code == 400
    assert other.json() == {"failure": {"parameter": "REQUESTID", "failcode": "DUPLICATE_REQUESTID"}}
    assert texts.simulator.charged_pence() == 500


def test_a_delivery_report_that_beats_our_record_of_the_message_is_applied_once_it_is_recorded(texts, platform):
    other_worker = platform.worker()
    send = platform.aggregator.send_message

    def send_and_report_at_once(order):
        txguid = send(order)
        texts.simulator.deliver_due()  # Fonix reports delivery before we have recorded its answer
        other_worker.run_once()  # and another worker takes the report up first
        return txguid

    platform.aggregator.send_message = send_and_report_at_once
    texts.text(EE, "STOP")  # a one-message reply

    with texts.platform.engine.connect() as connection:
        row = connection.execute(sms_outbound.select()).one()
    assert (row.purpose, row.status, row.txguid) == ("reply", "delivered", next(iter(texts.simulator.messages)))
    with texts.platform.uow() as uow:
        assert uow.outbox.depth() == 0  # nothing left retrying


def test_a_delivery_report_that_echoes_our_request_id_finds_its_message_before_its_id_is_recorded(texts, platform):
    texts.text(EE, "STOP")  # a one-text reply
    with platform.engine.begin() as connection:  # as if Fonix's answer to sendsms were not recorded yet
        connection.execute(sms_outbound.update().values(status="sent", txguid=None))
        request_id = connection.execute(sms_outbound.select()).one().request_id

    texts.callback("delivery-report", {"GUID": "r-4-NOTRECORDED", "STATUSCODE": "DELIVERED",
                                       "REQUESTID": request_id})
    texts.settle()

    with platform.engine.connect() as connection:
        assert connection.execute(sms_outbound.select()).one().status == "delivered"


def test_a_delivery_report_for_a_message_we_never_recorded_is_kept_but_not_retried(texts):
    response = texts.callback("delivery-report", {"GUID": "r-4-NEVERSENT", "STATUSCODE": "DELIVERED"})
    texts.settle()

    assert response.status_code == 200
    assert count_rows(texts.platform, inbox_messages) == 1
    with texts.platform.uow() as uow:
        assert uow.outbox.depth() == 0


def test_a_charge_the_aggregator_refuses_for_good_fails_the_gift_with_its_code(platform, client, seed_appeal,
                                                                              monkeypatch):
    monkeypatch.setattr(SimulatedAggregator, "charge", lambda self, fields: (
        400, {"failure": {"parameter": "NUMBERS", "failcode": "INVALID_MSISDN"}}))
    texts = _harness(platform, client, Delivery())

    replies = texts.text(EE, "SUN5")

    [donation] = texts.donations()
    assert (donation.status, donation.failure_reason) == (DonationStatus.FAILED, "INVALID_MSISDN (NUMBERS)")
    assert "your network could not take the donation, so no charge was made" in replies[0]
    assert "give online instead" in replies[-1]
    assert texts.totals()["pending_pence"] == 0
    with platform.uow() as uow:
        assert uow.outbox.depth() == 0  # not retried: the same request can never succeed


def test_a_message_the_aggregator_refuses_with_a_4xx_is_parked_with_its_reason_at_once(platform, client, seed_appeal,
                                                                                       monkeypatch):
    monkeypatch.setattr(SimulatedAggregator, "send", lambda self, fields: (
        400, {"failure": {"parameter": "ORIGINATOR", "failcode": "IS_INVALID"}}))
    texts = _harness(platform, client, Delivery())

    texts.text(EE, "STOP")  # a one-text reply

    with platform.engine.connect() as connection:
        [(attempts, parked, error)] = connection.execute(
            outbox_tasks.select().with_only_columns(outbox_tasks.c.attempts, outbox_tasks.c.parked_at,
                                                    outbox_tasks.c.last_error)
            .where(outbox_tasks.c.topic == "sms.send")).all()
    assert attempts == 1 and parked is not None and "IS_INVALID (ORIGINATOR)" in error
