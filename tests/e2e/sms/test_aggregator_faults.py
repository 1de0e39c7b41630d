"""The aggregator misbehaves (issue 21): whatever it does, a donor who was charged is on the books and gets the
receipt, never a failure notice. The simulator's faults (simulators/aggregator_faults.py) play the aggregator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sms_harness import TextGiving, connect
from sqlalchemy import update

from everypenny.adapters.db.schema import outbox_tasks, sms_outbound
from everypenny.domain.donation import DonationStatus
from everypenny.domain.text_giving import ChargeStatus
from everypenny.service_layer.text_giving import SEND
from everypenny.simulators.aggregator import SimulatedAggregator
from everypenny.simulators.aggregator_faults import LATE_BY_S, Faults

EARLIER_DONORS = ("+447700900011", "+447700900012")
DONOR = "+447700900061"  # an EE contract: the network charges it


def _with_faults(platform, client, faults: Faults) -> TextGiving:
    texts = TextGiving(platform, client, connect(platform, client))
    for donor in EARLIER_DONORS:
        texts.text(donor, "SUN5")
    texts.simulator.faults = faults
    return texts


def _late_reports_arrive(texts: TextGiving) -> None:
    texts.simulator.deliver_due(ahead_s=2 * LATE_BY_S)
    texts.settle()


def _failure_notices(texts: TextGiving, phone: str) -> list[str]:
    return [body for body in texts.received(phone) if "did not go through" in body]


def test_a_lost_answer_and_a_refused_retry_leave_the_charge_waiting_for_its_report(platform, client, seed_appeal):
    texts = _with_faults(platform, client, Faults(lost_answers=100, refuse_repeats=100, late_reports=100))

    texts.text(DONOR, "SUN5")  # charged; the connection closes before the answer
    texts.make_retries_due()  # asked again with the same REQUESTID: 400 IS_DUPLICATE

    [donation] = [d for d in texts.donations() if d.phone == DONOR]
    assert donation.status is DonationStatus.PENDING
    assert [c.status for c in texts.charges(donation.reference)] == [ChargeStatus.REQUESTED]
    assert texts.totals()["raised_pence"] == 1000 and texts.totals()["pending_pence"] == 500
    assert _failure_notices(texts, DONOR) == []


def test_the_issue_scenario_the_report_that_follows_books_the_gift_and_the_donor_gets_one_receipt(
        platform, client, seed_appeal):
    texts = _with_faults(platform, client, Faults(lost_answers=100, refuse_repeats=100, late_reports=100))
    texts.text(DONOR, "SUN5")
    texts.make_retries_due()

    _late_reports_arrive(texts)  # DELIVERED

    assert texts.totals()["raised_pence"] == 1500 == texts.simulator.charged_pence()
    assert texts.totals()["pending_pence"] == 0
    [donation] = [d for d in texts.donations() if d.phone == DONOR]
    assert (donation.status, donation.paid_pence) == (DonationStatus.PAID, 500)
    received = texts.received(DONOR)
    assert len(received) == 1 and received[0].startswith("Thank you! You gave £5")
    assert _failure_notices(texts, DONOR) == []


def test_a_charge_report_outranks_a_refusal_read_from_the_answer_and_withdraws_the_queued_notice(
        platform, client, seed_appeal, monkeypatch):
    charge = SimulatedAggregator.charge
    monkeypatch.setattr(SimulatedAggregator, "charge", lambda self, fields: (
        charge(self, fields), (400, {"failure": {"parameter": "AMOUNT", "failcode": "IS_INVALID"}}))[1]
        if fields["NUMBERS"] == DONOR[1:] else charge(self, fields))
    texts = _with_faults(platform, client, Faults(late_reports=100))

    texts.simulator.text(DONOR, "70141", "SUN5")
    texts.simulator.deliver_due()
    for _ in range(10):  # the network charges, but the answer refuses the request: failed, for now
        texts.worker.run_once()
        _hold_sending(texts)  # the failure notice waits behind other messages
    donation = _gift_of(texts)
    assert donation.status is DonationStatus.FAILED and texts.totals()["raised_pence"] == 1000

    _late_reports_arrive(texts)
    texts.make_retries_due()

    assert texts.totals()["raised_pence"] == 1500 == texts.simulator.charged_pence()
    [donation] = [d for d in texts.donations() if d.phone == DONOR]
    assert (donation.status, donation.paid_pence, donation.failure_reason) == (DonationStatus.PAID, 500, None)
    assert [c.status for c in texts.charges(donation.reference)] == [ChargeStatus.CHARGED]
    received = texts.received(DONOR)
    assert len(received) == 1 and received[0].startswith("Thank you! You gave £5")
    with platform.engine.connect() as connection:
        notice = connection.execute(sms_outbound.select().where(sms_outbound.c.purpose == "failure")).all()
    assert {(part.status, part.status_detail) for part in notice} == {
        ("failed", "not sent: a report says the charge went through")}


def test_a_refusal_of_a_first_request_that_no_report_contradicts_still_fails_the_gift(
        platform, client, seed_appeal, monkeypatch):
    charge = SimulatedAggregator.charge
    monkeypatch.setattr(SimulatedAggregator, "charge", lambda self, fields: (
        400, {"failure": {"parameter": "NUMBERS", "failcode": "IS_INVALID"}})
        if fields["NUMBERS"] == DONOR[1:] else charge(self, fields))
    texts = _with_faults(platform, client, Faults())

    replies = texts.text(DONOR, "SUN5")

    assert "did not go through" in replies[0] and texts.totals()["raised_pence"] == 1000


def _gift_of(texts: TextGiving):
    return next(d for d in texts.donations() if d.phone == DONOR)


def _hold_sending(texts: TextGiving) -> None:
    with texts.platform.engine.begin() as connection:
        connection.execute(update(outbox_tasks).where(outbox_tasks.c.topic == SEND, outbox_tasks.c.done_at.is_(None))
                           .values(available_at=datetime.now(UTC) + timedelta(hours=1)))
