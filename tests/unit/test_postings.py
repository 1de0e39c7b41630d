"""The ledger's idempotency keys are stored for ever: a replay finds its transfer by key, so a key spelt
differently would book every replayed callback, task or command a second time. These tests pin each key's
text, and each transfer's fields, as they have been stored since the ledger began."""

from datetime import UTC, datetime

import pytest

from everypenny.adapters.appeal_file import load_appeal_file
from everypenny.domain import postings
from everypenny.domain.allocation import allocation_description
from everypenny.domain.appeal import Channel
from everypenny.domain.donation import Donation
from everypenny.domain.ledger import Phase, Transfer, TransferKind, TransferRequest
from everypenny.domain.payouts import Fund
from everypenny.domain.text_giving import SmsCharge
from tests.conftest import SEED_APPEAL

APPEAL, _ = load_appeal_file(SEED_APPEAL)
SLUG = "sun-ukraine-fund"
SMS, ONLINE, LINK = "receivable:carrier_sms", "receivable:online", "receivable:text_to_link"
FUND = "fund:restricted"
CHARGE = SmsCharge("AB12C1", "EP-TEXT000001", 1, 500, "GBP", "O2")
CARD_GIFT = Donation("EP-CARD000001", SLUG, Channel.ONLINE, 2500, "GBP", datetime(2026, 11, 26, tzinfo=UTC))


@pytest.mark.parametrize(("key", "stored_as"), [
    (postings.text_charge_pending_key("AB12C1"), "sms:AB12C1"),
    (postings.text_charge_posted_key("AB12C1"), "sms:AB12C1:post"),
    (postings.text_charge_voided_key("AB12C1"), "sms:AB12C1:void"),
    (postings.text_charge_refunded_key("AB12C1"), "sms:AB12C1:refund"),
    (postings.text_charge_charged_after_void_key("AB12C1"), "sms:AB12C1:charged"),
    (postings.text_charge_correction_key("AB12C1"), "sms:AB12C1:correction"),
    (postings.checkout_pending_key("cs_test_1"), "stripe:cs_test_1:pending"),
    (postings.checkout_posted_key("cs_test_1"), "stripe:cs_test_1:post"),
    (postings.checkout_paid_key("cs_test_1"), "stripe:cs_test_1:paid"),
    (postings.checkout_voided_key("cs_test_1"), "stripe:cs_test_1:void"),
    (postings.card_refund_key("re_1"), "stripe:re_1:refunded"),
    (postings.card_refund_returned_key("re_1", "failed"), "stripe:re_1:failed"),
    (postings.card_refund_returned_key("re_1", "canceled"), "stripe:re_1:canceled"),
    (postings.dispute_movement_key("txn_1"), "stripe:txn_1"),
    (postings.allocation_key(SLUG, 3), "allocation:sun-ukraine-fund:3"),
    (postings.settlement_key(SLUG, Channel.CARRIER_SMS, "AGG-2026-11"),
     "settlement:sun-ukraine-fund:carrier_sms:AGG-2026-11"),
    (postings.settlement_fee_key(SLUG, Channel.ONLINE, "po_1"), "settlement-fee:sun-ukraine-fund:online:po_1"),
    (postings.fee_reimbursement_key(SLUG, "INV-7"), "fee-reimbursement:sun-ukraine-fund:INV-7"),
    (postings.payout_key(SLUG, "BACS-1"), "payout:sun-ukraine-fund:BACS-1"),
])
def test_every_key_keeps_the_text_it_was_stored_under(key, stored_as):
    assert key == stored_as


def stored(request: TransferRequest) -> Transfer:
    return Transfer.from_request(request, id=1)


def test_a_text_charge_is_reserved_then_posted_or_voided_under_its_own_keys():
    pending = postings.text_charge_pending(CHARGE, SLUG, "SUN", "70141")

    assert pending == TransferRequest(
        "sms:AB12C1", SLUG, SMS, FUND, 500, "GBP", TransferKind.DONATION, Phase.PENDING,
        reference="EP-TEXT000001", description="text SUN to 70141")
    assert postings.text_charge_posted(stored(pending), "AB12C1") == TransferRequest(
        "sms:AB12C1:post", SLUG, SMS, FUND, 500, "GBP", TransferKind.DONATION, Phase.POST,
        pending_key="sms:AB12C1", reference="EP-TEXT000001", description="charged")
    assert postings.text_charge_voided(stored(pending), "AB12C1", "NOFUNDS") == TransferRequest(
        "sms:AB12C1:void", SLUG, SMS, FUND, 500, "GBP", TransferKind.DONATION, Phase.VOID,
        pending_key="sms:AB12C1", reference="EP-TEXT000001", description="failed: NOFUNDS")


def test_a_text_charge_reported_charged_after_its_refusal_voided_it_is_booked_afresh():
    voided = stored(postings.text_charge_pending(CHARGE, SLUG, "SUN", "70141"))

    assert postings.text_charge_charged_after_void(voided, "AB12C1") == TransferRequest(
        "sms:AB12C1:charged", SLUG, SMS, FUND, 500, "GBP", TransferKind.DONATION, Phase.SINGLE,
        reference="EP-TEXT000001", description="charged after its request was refused")


def test_finance_corrects_a_contradicted_charge_into_or_out_of_the_fund():
    gift = Donation("EP-TEXT000001", SLUG, Channel.CARRIER_SMS, 500, "GBP", datetime(2026, 11, 26, tzinfo=UTC))

    assert postings.text_charge_corrected(CHARGE, gift, True, "cli:ann") == TransferRequest(
        "sms:AB12C1:correction", SLUG, SMS, FUND, 500, "GBP", TransferKind.DONATION,
        reference="EP-TEXT000001", description="correction by cli:ann: the network charged it")
    assert postings.text_charge_corrected(CHARGE, gift, False, "cli:ann") == TransferRequest(
        "sms:AB12C1:correction", SLUG, FUND, SMS, 500, "GBP", TransferKind.DONATION,
        reference="EP-TEXT000001", description="correction by cli:ann: the network did not charge it")


def test_a_text_refund_takes_the_charge_back_out_of_the_fund():
    gift = Donation("EP-TEXT000001", SLUG, Channel.CARRIER_SMS, 500, "GBP", datetime(2026, 11, 26, tzinfo=UTC))

    assert postings.text_charge_refunded(CHARGE, gift) == TransferRequest(
        "sms:AB12C1:refund", SLUG, FUND, SMS, 500, "GBP", TransferKind.REFUND,
        reference="EP-TEXT000001", description="refund of EP-TEXT000001")


def test_a_checkout_is_reserved_then_posted_voided_or_paid_afresh():
    pending = postings.checkout_pending(CARD_GIFT, "cs_test_1")

    assert pending == TransferRequest(
        "stripe:cs_test_1:pending", SLUG, ONLINE, FUND, 2500, "GBP", TransferKind.DONATION, Phase.PENDING,
        reference="EP-CARD000001", description="online donation EP-CARD000001")
    assert postings.checkout_posted(stored(pending), "cs_test_1") == TransferRequest(
        "stripe:cs_test_1:post", SLUG, ONLINE, FUND, 2500, "GBP", TransferKind.DONATION, Phase.POST,
        pending_key="stripe:cs_test_1:pending", reference="EP-CARD000001")
    assert postings.checkout_voided(stored(pending), "cs_test_1", "the checkout expired") == TransferRequest(
        "stripe:cs_test_1:void", SLUG, ONLINE, FUND, 2500, "GBP", TransferKind.DONATION, Phase.VOID,
        pending_key="stripe:cs_test_1:pending", reference="EP-CARD000001", description="the checkout expired")
    assert postings.checkout_paid(CARD_GIFT, "cs_test_1") == TransferRequest(
        "stripe:cs_test_1:paid", SLUG, ONLINE, FUND, 2500, "GBP", TransferKind.DONATION, Phase.SINGLE,
        reference="EP-CARD000001", description="online donation EP-CARD000001")


def test_card_money_given_back_and_taken_back_moves_between_the_fund_and_the_channels_receivable():
    by_link = Donation("EP-LINK000001", SLUG, Channel.TEXT_TO_LINK, 1000, "GBP", datetime(2026, 11, 26, tzinfo=UTC))

    assert postings.card_money_given_back(by_link, 400, "stripe:re_1:refunded", TransferKind.REFUND) == \
        TransferRequest("stripe:re_1:refunded", SLUG, FUND, LINK, 400, "GBP", TransferKind.REFUND,
                        reference="EP-LINK000001", description="refund of EP-LINK000001")
    assert postings.card_money_taken_back(CARD_GIFT, 2500, "stripe:txn_2", TransferKind.DISPUTE) == \
        TransferRequest("stripe:txn_2", SLUG, ONLINE, FUND, 2500, "GBP", TransferKind.DISPUTE,
                        reference="EP-CARD000001", description="dispute of EP-CARD000001 reversed")


def test_the_surplus_rule_moves_between_the_funds_either_way():
    assert postings.allocation(APPEAL, 1, 700) == TransferRequest(
        "allocation:sun-ukraine-fund:1", SLUG, FUND, "fund:surplus", 700, "GBP", TransferKind.ALLOCATION,
        description=allocation_description(APPEAL, 700))
    assert postings.allocation(APPEAL, 2, -200) == TransferRequest(
        "allocation:sun-ukraine-fund:2", SLUG, "fund:surplus", FUND, 200, "GBP", TransferKind.ALLOCATION,
        description=allocation_description(APPEAL, -200))


def test_settled_cash_fees_reimbursements_and_payouts():
    assert postings.settlement_cash(APPEAL, Channel.CARRIER_SMS, 10_000, "AGG-2026-11", 500) == TransferRequest(
        "settlement:sun-ukraine-fund:carrier_sms:AGG-2026-11", SLUG, "bank", SMS, 9_500, "GBP",
        TransferKind.SETTLEMENT, reference="AGG-2026-11",
        description="carrier_sms settlement AGG-2026-11: gross £100, fee £5 withheld")
    assert postings.settlement_cash(APPEAL, Channel.ONLINE, 2_500, "po_1", 0).description == \
        "online settlement po_1: gross £25"
    assert postings.settlement_fee(APPEAL, Channel.CARRIER_SMS, "AGG-2026-11", 500) == TransferRequest(
        "settlement-fee:sun-ukraine-fund:carrier_sms:AGG-2026-11", SLUG, "recoverable:fees", SMS, 500, "GBP",
        TransferKind.FEE, reference="AGG-2026-11",
        description="carrier_sms fee on settlement AGG-2026-11, borne by The Sun (media partner): "
                    "recoverable from them, never taken from donations")
    assert postings.fee_reimbursement(APPEAL, 500, "INV-7") == TransferRequest(
        "fee-reimbursement:sun-ukraine-fund:INV-7", SLUG, "bank", "recoverable:fees", 500, "GBP",
        TransferKind.FEE, reference="INV-7", description="fees reimbursed by The Sun (media partner), ref INV-7")
    assert postings.payout(APPEAL, 9_000, Fund.RESTRICTED, "BACS-1") == TransferRequest(
        "payout:sun-ukraine-fund:BACS-1", SLUG, "paid_out:beneficiary", "bank", 9_000, "GBP", TransferKind.PAYOUT,
        reference="BACS-1",
        description="Paid to British Red Cross (registered charity 220949) from the restricted fund, ref BACS-1")
