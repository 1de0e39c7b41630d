"""A charge whose report never comes: unconfirmed after its time to live and a margin, never raised on trust,
shown as such, and settled by the network's monthly statement. Nothing stays pending forever."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from test_sms_metrics import metric

from everypenny.adapters.db.schema import sms_charges
from everypenny.domain.donation import DonationStatus
from everypenny.domain.text_giving import ChargeStatus
from everypenny.service_layer import settlement
from everypenny.service_layer.desk import donation_history
from everypenny.service_layer.text_giving import CHARGE_TIME_TO_LIVE, UNCONFIRMED_MARGIN, mark_unconfirmed

SLUG = "sun-ukraine-fund"
REPORTS_LOST = ["+447700900601", "+447700900602"]  # EE: charged, but the charge report never comes


def _asked_for(platform, ago: timedelta) -> None:
    with platform.engine.begin() as connection:
        connection.execute(update(sms_charges).values(created_at=datetime.now(UTC) - ago))


def _texts_whose_reports_never_come(texts):
    texts.text(REPORTS_LOST[0], "SUN5")
    texts.text(REPORTS_LOST[1], "SUN3")
    return {donation.phone: texts.charges(donation.reference)[0] for donation in texts.donations()}


def test_a_charge_still_within_its_time_to_live_stays_requested(texts, platform):
    _texts_whose_reports_never_come(texts)
    _asked_for(platform, CHARGE_TIME_TO_LIVE)

    assert mark_unconfirmed(platform.uow) == 0
    assert texts.totals()["pending_pence"] == 800


def test_an_unreported_charge_becomes_unconfirmed_and_is_shown_as_such(texts, platform, client, cli):
    charges = _texts_whose_reports_never_come(texts)
    _asked_for(platform, CHARGE_TIME_TO_LIVE + UNCONFIRMED_MARGIN + timedelta(minutes=1))

    assert mark_unconfirmed(platform.uow) == 2
    assert mark_unconfirmed(platform.uow) == 0  # once

    assert {c.status for d in texts.donations() for c in texts.charges(d.reference)} == {ChargeStatus.UNCONFIRMED}
    assert (texts.totals()["raised_pence"], texts.totals()["pending_pence"]) == (0, 800)  # not raised on trust
    assert metric(client.get("/metrics").text, 'everypenny_charges_total{outcome="unconfirmed"}') == 2
    listing = cli("donations", "list", "--appeal", SLUG)
    assert listing.exit_code == 0 and listing.output.count("unconfirmed") == 2
    donation = texts.donations()[0]
    [charges_section] = [s for s in donation_history(platform.uow(), donation.reference).sections
                         if s.title == "Phone-bill charges"]
    assert "unconfirmed" in charges_section.events[0].what
    assert "monthly statement" in charges_section.events[0].detail
    assert charges[REPORTS_LOST[0]].txguid  # Fonix's id, kept from its answer


def test_the_statement_posts_an_unconfirmed_charge_it_lists_and_voids_one_it_does_not(texts, platform):
    charges = _texts_whose_reports_never_come(texts)
    _asked_for(platform, CHARGE_TIME_TO_LIVE + UNCONFIRMED_MARGIN + timedelta(minutes=1))
    mark_unconfirmed(platform.uow)
    missing = charges[REPORTS_LOST[1]]
    month = f"{datetime.now(UTC):%Y-%m}"
    statement = texts.simulator.settlement_statement(month, "EE", omit=[missing.request_id])
    sent_before = {phone: len(texts.received(phone)) for phone in REPORTS_LOST}

    result = settlement.import_aggregator_statement(platform.uow(), SLUG, statement.encode())

    assert result.settled_pence == 500
    gifts = {donation.phone: donation for donation in texts.donations()}
    assert (gifts[REPORTS_LOST[0]].status, gifts[REPORTS_LOST[0]].paid_pence) == (DonationStatus.PAID, 500)
    assert (gifts[REPORTS_LOST[1]].status, gifts[REPORTS_LOST[1]].failure_reason) == (
        DonationStatus.FAILED, "NOT_ON_STATEMENT")
    assert [c.status for c in texts.charges(gifts[REPORTS_LOST[0]].reference)] == [ChargeStatus.CHARGED]
    assert (texts.totals()["raised_pence"], texts.totals()["pending_pence"]) == (500, 0)
    texts.settle()
    assert {phone: len(texts.received(phone)) for phone in REPORTS_LOST} == sent_before  # no texts weeks later
