"""Workers take texts and reports by the batch: a batch ends exactly as its callbacks would one at a time."""

from __future__ import annotations

from sms_harness import count_rows
from test_sms_reliability import _report

from everypenny.adapters.db.schema import ledger_transfers
from everypenny.domain.donation import DonationStatus, Medium
from everypenny.domain.text_giving import ChargeStatus

EE = "+447700900011"
OTHER_EE = "+447700900012"


def _texts_in_one_batch(texts, *messages: tuple[str, str]) -> None:
    for sender, body in messages:
        texts.simulator.text(sender, "70141", body)
    texts.simulator.deliver_due()
    texts.worker.run_once()  # every text above is claimed and handled together
    texts.settle()


def test_a_stop_just_before_a_donation_in_the_same_batch_keeps_the_donor_opted_out(texts, platform):
    _texts_in_one_batch(texts, (EE, "STOP"), (OTHER_EE, "SUN3"), (EE, "SUN5"))

    gifts = {donation.phone: donation for donation in texts.donations()}
    assert gifts[EE].status is DonationStatus.PAID and not gifts[EE].marketing_consent
    assert gifts[OTHER_EE].marketing_consent
    with platform.uow() as uow:
        assert uow.consents.current_many([EE, OTHER_EE], Medium.SMS) == {EE: False, OTHER_EE: True}


def test_a_start_after_a_stop_in_the_same_batch_opts_the_donor_back_in(texts, platform):
    _texts_in_one_batch(texts, (EE, "STOP"), (EE, "START"), (EE, "SUN5"))

    [donation] = texts.donations()
    assert donation.marketing_consent
    with platform.uow() as uow:
        assert uow.consents.current(EE, Medium.SMS) is True


def test_a_report_and_its_contradiction_in_one_batch_keep_the_first_outcome(texts):
    texts.simulator.text(EE, "70141", "SUN5")
    texts.simulator.deliver_due()
    texts.worker.run_once()  # the text: a pending donation and its charge queued
    texts.worker.run_once()  # the charge requested; the network's "charged" report is on its way
    [donation] = texts.donations()
    [charge] = texts.charges(donation.reference)
    assert texts.callback("charge-report", _report(charge.request_id, "TEMPORARY_BARRED")).is_success

    texts.settle()  # "charged" arrives; both reports are worked in one batch, "failed" first

    [charge] = texts.charges(donation.reference)
    assert (charge.status, charge.contradicting_report) == (ChargeStatus.FAILED, "charged after failed")
    assert texts.donations()[0].status is DonationStatus.FAILED
    assert texts.totals()["raised_pence"] == 0 and texts.totals()["pending_pence"] == 0
    assert count_rows(platform=texts.platform, table=ledger_transfers) == 2  # the pending and its void, once
    # The network charged and sent the receipt, Gift Aid link and all, with the charge; we add nothing more.
    assert [m for m in texts.received(EE) if "Gift Aid" in m] == [m for m in texts.received(EE)
                                                                 if m.startswith("Thank you!")]
    with texts.platform.uow() as uow:
        assert uow.outbox.depth() == 0
