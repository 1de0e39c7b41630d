"""Every transfer the platform books, and the idempotency key it books each under: one place to read them all.

A key is stored with its transfer for ever, and a replay (a provider's retry, a worker running a task again,
a person repeating a command) finds the transfer under its key and books nothing new. A key spelt differently
tomorrow would book every replay of yesterday's work a second time, so tests/unit/test_postings.py pins each
key's exact text and each transfer's fields: change one only together with the keys already stored.

Accounts and postings are described in domain/ledger.py and domain/payouts.py. Refunds and lost disputes are
reversals (money back out of the fund to the channel's receivable), built here directly rather than by
reversing a made-up original.
"""

from __future__ import annotations

from everypenny.domain.allocation import allocation_description
from everypenny.domain.appeal import Appeal, Channel, FeesBorneBy
from everypenny.domain.donation import Donation
from everypenny.domain.ledger import AccountCode, Phase, Transfer, TransferKind, TransferRequest
from everypenny.domain.money import format_pence
from everypenny.domain.national import Member
from everypenny.domain.payouts import Fund
from everypenny.domain.text_giving import SmsCharge

# ---- the keys ------------------------------------------------------------------------------------------------


def text_charge_pending_key(request_id: str) -> str:
    return f"sms:{request_id}"


def text_charge_posted_key(request_id: str) -> str:
    return f"{text_charge_pending_key(request_id)}:post"


def text_charge_voided_key(request_id: str) -> str:
    return f"{text_charge_pending_key(request_id)}:void"


def text_charge_charged_after_void_key(request_id: str) -> str:
    """A charge reported charged after a refusal read from the aggregator's answer had voided its money."""
    return f"{text_charge_pending_key(request_id)}:charged"


def text_charge_correction_key(request_id: str) -> str:
    """Finance's one correction of a charge whose reports contradicted each other."""
    return f"{text_charge_pending_key(request_id)}:correction"


def text_charge_refunded_key(request_id: str) -> str:
    return f"{text_charge_pending_key(request_id)}:refund"


def checkout_pending_key(session_id: str) -> str:
    return f"stripe:{session_id}:pending"


def checkout_posted_key(session_id: str) -> str:
    return f"stripe:{session_id}:post"


def checkout_paid_key(session_id: str) -> str:
    """A card that paid after a failed attempt had released the pending money."""
    return f"stripe:{session_id}:paid"


def checkout_voided_key(session_id: str) -> str:
    return f"stripe:{session_id}:void"


def card_refund_key(refund_id: str) -> str:
    return f"stripe:{refund_id}:refunded"


def card_refund_returned_key(refund_id: str, status: str) -> str:
    """A refund that failed or was cancelled (`status`): the money came back."""
    return f"stripe:{refund_id}:{status}"


def dispute_movement_key(balance_transaction_id: str) -> str:
    """A dispute's withdrawal or reinstatement, by the balance transaction Stripe made for it."""
    return f"stripe:{balance_transaction_id}"


def allocation_key(slug: str, number: int) -> str:
    """Numbered per appeal, so two workers allocating at once collide on the key."""
    return f"allocation:{slug}:{number}"


def settlement_key(slug: str, channel: Channel, reference: str) -> str:
    return f"settlement:{slug}:{channel.value}:{reference}"


def settlement_fee_key(slug: str, channel: Channel, reference: str) -> str:
    return f"settlement-fee:{slug}:{channel.value}:{reference}"


def fee_reimbursement_key(slug: str, reference: str) -> str:
    return f"fee-reimbursement:{slug}:{reference}"


def payout_key(slug: str, reference: str) -> str:
    return f"payout:{slug}:{reference}"


# ---- text gifts: a pending transfer per charge, posted or voided by its report -------------------------------


def text_charge_pending(charge: SmsCharge, appeal_slug: str, keyword: str, shortcode: str) -> TransferRequest:
    """The charge's money reserved when the text is accepted (aggregator fees are never netted from a gift)."""
    return TransferRequest(
        idempotency_key=text_charge_pending_key(charge.request_id), appeal=appeal_slug,
        debit=AccountCode.receivable(Channel.CARRIER_SMS), credit=AccountCode.RESTRICTED_FUND,
        amount_pence=charge.amount_pence, currency=charge.currency, kind=TransferKind.DONATION, phase=Phase.PENDING,
        reference=charge.donation_reference, description=f"text {keyword} to {shortcode}")


def text_charge_posted(pending: Transfer, request_id: str) -> TransferRequest:
    return TransferRequest.post(pending, text_charge_posted_key(request_id), description="charged")


def text_charge_voided(pending: Transfer, request_id: str, failure_reason: str | None) -> TransferRequest:
    return TransferRequest.void(pending, text_charge_voided_key(request_id), description=f"failed: {failure_reason}")


def text_charge_charged_after_void(voided: Transfer, request_id: str) -> TransferRequest:
    """The gift booked as a new transfer (the pending one is resolved for ever), between the same accounts."""
    return TransferRequest(
        idempotency_key=text_charge_charged_after_void_key(request_id), appeal=voided.appeal, debit=voided.debit,
        credit=voided.credit, amount_pence=voided.amount_pence, currency=voided.currency, kind=TransferKind.DONATION,
        phase=Phase.SINGLE, reference=voided.reference, description="charged after its request was refused")


def text_charge_corrected(charge: SmsCharge, donation: Donation, charged: bool, by: str) -> TransferRequest:
    """Finance's correction of a charge whose first report the statement contradicts: the gift into the fund
    for a charge the network made after all, out of it again for one it did not (a donation's movement either
    way, so the raised total follows)."""
    receivable, fund = AccountCode.receivable(Channel.CARRIER_SMS), AccountCode.RESTRICTED_FUND
    return TransferRequest(
        idempotency_key=text_charge_correction_key(charge.request_id), appeal=donation.appeal,
        debit=receivable if charged else fund, credit=fund if charged else receivable,
        amount_pence=charge.amount_pence, currency=charge.currency, kind=TransferKind.DONATION,
        reference=donation.reference, description=f"correction by {by}: the network "
                                                  f"{'charged it' if charged else 'did not charge it'}")


def text_charge_refunded(charge: SmsCharge, donation: Donation) -> TransferRequest:
    """A charge the aggregator gave back: its money leaves the fund, back to the phone bill that paid it."""
    return _given_back(text_charge_refunded_key(charge.request_id), donation, Channel.CARRIER_SMS,
                       charge.amount_pence, charge.currency, TransferKind.REFUND)


# ---- card gifts: a pending transfer per checkout, then refunds and disputes ----------------------------------


def _card_donation(donation: Donation, key: str, phase: Phase, amount_pence: int) -> TransferRequest:
    """The donation's own movement: the donor's money owed to us by the processor, held for the fund."""
    return TransferRequest(
        idempotency_key=key, appeal=donation.appeal, debit=AccountCode.receivable(donation.channel),
        credit=AccountCode.RESTRICTED_FUND, amount_pence=amount_pence, currency=donation.currency,
        kind=TransferKind.DONATION, phase=phase, reference=donation.reference,
        description=f"online donation {donation.reference}")


def checkout_pending(donation: Donation, session_id: str) -> TransferRequest:
    return _card_donation(donation, checkout_pending_key(session_id), Phase.PENDING, donation.amount_pence)


def checkout_posted(pending: Transfer, session_id: str) -> TransferRequest:
    return TransferRequest.post(pending, checkout_posted_key(session_id))


def checkout_paid(donation: Donation, session_id: str) -> TransferRequest:
    """The donation paid after a failed attempt had voided its pending transfer: booked as a new one."""
    return _card_donation(donation, checkout_paid_key(session_id), Phase.SINGLE, donation.amount_pence)


def checkout_voided(pending: Transfer, session_id: str, reason: str) -> TransferRequest:
    return TransferRequest.void(pending, checkout_voided_key(session_id), description=reason)


def card_money_given_back(donation: Donation, pence: int, key: str, kind: TransferKind) -> TransferRequest:
    """Money that left the fund for the donor's card (a refund, a dispute's withdrawal): the reversal of a
    donation's movement."""
    return _given_back(key, donation, donation.channel, pence, donation.currency, kind)


def card_money_taken_back(donation: Donation, pence: int, key: str, kind: TransferKind) -> TransferRequest:
    """Money given back that came back to us (a failed refund, a won dispute): the reversal reversed."""
    return TransferRequest(
        idempotency_key=key, appeal=donation.appeal, debit=AccountCode.receivable(donation.channel),
        credit=AccountCode.RESTRICTED_FUND, amount_pence=pence, currency=donation.currency, kind=kind,
        phase=Phase.SINGLE, reference=donation.reference, description=f"{kind.value} of {donation.reference} reversed")


def _given_back(key: str, donation: Donation, channel: Channel, pence: int, currency: str,
                kind: TransferKind) -> TransferRequest:
    return TransferRequest(
        idempotency_key=key, appeal=donation.appeal, debit=AccountCode.RESTRICTED_FUND,
        credit=AccountCode.receivable(channel), amount_pence=pence, currency=currency, kind=kind,
        reference=donation.reference, description=f"{kind.value} of {donation.reference}")


# ---- money out: the surplus rule, settled cash, fees, payouts --------------------------------------------------


def allocation(appeal: Appeal, number: int, move_pence: int) -> TransferRequest:
    """The surplus rule's move between the funds: restricted to surplus, or back when `move_pence` < 0."""
    debit, credit = AccountCode.RESTRICTED_FUND, AccountCode.SURPLUS_FUND
    if move_pence < 0:
        debit, credit = credit, debit
    return TransferRequest(allocation_key(appeal.slug, number), appeal.slug, debit, credit, abs(move_pence),
                           appeal.currency, TransferKind.ALLOCATION,
                           description=allocation_description(appeal, move_pence))


def member_allocation(appeal: Appeal, number: int, member: Member, move_pence: int) -> TransferRequest:
    """A member charity's share moved from the appeal's restricted fund to its own, or back when `move_pence` < 0
    (refunds, or the largest remainder's penny passing to another member)."""
    debit, credit = AccountCode.RESTRICTED_FUND, AccountCode.member_fund(member.slug)
    if move_pence < 0:
        debit, credit = credit, debit
    towards = "to" if move_pence > 0 else "back from"
    return TransferRequest(allocation_key(appeal.slug, number), appeal.slug, debit, credit, abs(move_pence),
                           appeal.currency, TransferKind.ALLOCATION,
                           description=f"Share of {appeal.restricted_fund.name} {towards} {member.name} "
                                       f"(registered charity {member.charity_number}) for its {member.fund}")


def fee_bearer(appeal: Appeal) -> str:
    if appeal.fees_borne_by is FeesBorneBy.MEDIA_PARTNER:
        return f"{appeal.media_partner} (media partner)"
    return "the platform"


def settlement_cash(appeal: Appeal, channel: Channel, gross_pence: int, reference: str,
                    fee_pence: int) -> TransferRequest:
    """The cash a payer settled a channel's charged donations with: the gross less any fee it withheld."""
    def money(pence: int) -> str:
        return format_pence(pence, appeal.currency)

    return TransferRequest(
        settlement_key(appeal.slug, channel, reference), appeal.slug, AccountCode.BANK,
        AccountCode.receivable(channel), gross_pence - fee_pence, appeal.currency, TransferKind.SETTLEMENT,
        reference=reference,
        description=f"{channel.value} settlement {reference}: gross {money(gross_pence)}"
                    + (f", fee {money(fee_pence)} withheld" if fee_pence else ""))


def settlement_fee(appeal: Appeal, channel: Channel, reference: str, fee_pence: int) -> TransferRequest:
    """A fee withheld from a settlement: recoverable from whoever bears fees, so no gift is ever reduced."""
    return TransferRequest(
        settlement_fee_key(appeal.slug, channel, reference), appeal.slug, AccountCode.FEES_RECOVERABLE,
        AccountCode.receivable(channel), fee_pence, appeal.currency, TransferKind.FEE, reference=reference,
        description=f"{channel.value} fee on settlement {reference}, borne by {fee_bearer(appeal)}: "
                    "recoverable from them, never taken from donations")


def fee_reimbursement(appeal: Appeal, amount_pence: int, reference: str) -> TransferRequest:
    return TransferRequest(
        fee_reimbursement_key(appeal.slug, reference), appeal.slug, AccountCode.BANK, AccountCode.FEES_RECOVERABLE,
        amount_pence, appeal.currency, TransferKind.FEE, reference=reference,
        description=f"fees reimbursed by {fee_bearer(appeal)}, ref {reference}")


def payout(appeal: Appeal, amount_pence: int, fund: Fund, reference: str) -> TransferRequest:
    beneficiary = appeal.beneficiary
    return TransferRequest(
        payout_key(appeal.slug, reference), appeal.slug, AccountCode.PAID_OUT, AccountCode.BANK, amount_pence,
        appeal.currency, TransferKind.PAYOUT, reference=reference,
        description=f"Paid to {beneficiary.name} (registered charity {beneficiary.charity_number}) "
                    f"from the {fund.value} fund, ref {reference}")
