"""The ledger's rules as the domain states them, before any database is involved."""

import pytest

from everypenny.domain.appeal import Channel
from everypenny.domain.ledger import (
    AccountCode,
    InvalidTransfer,
    PendingAlreadyResolved,
    PendingNotFound,
    Phase,
    Transfer,
    TransferKind,
    TransferRequest,
    check_resolution,
)

SMS = AccountCode.receivable(Channel.CARRIER_SMS)


def donation(key="t1", amount=500, phase=Phase.SINGLE, **overrides) -> TransferRequest:
    fields = dict(idempotency_key=key, appeal="a", debit=SMS, credit=AccountCode.RESTRICTED_FUND,
                  amount_pence=amount, currency="GBP", kind=TransferKind.DONATION, phase=phase)
    return TransferRequest(**{**fields, **overrides})


def pending(amount=1000) -> Transfer:
    return Transfer.from_request(donation("p1", amount, Phase.PENDING), id=1)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"amount_pence": 0}, "positive"),
    ({"amount_pence": -5}, "positive"),
    ({"amount_pence": 5.0}, "whole pence"),
    ({"credit": SMS}, "same account"),
    ({"currency": "XYZ"}, "unknown currency"),
    ({"idempotency_key": ""}, "1-255"),
    ({"idempotency_key": "k" * 256}, "1-255"),
    ({"phase": Phase.POST}, "pending key"),
])
def test_a_malformed_transfer_is_refused_with_the_reason(overrides, message):
    with pytest.raises(InvalidTransfer, match=message):
        donation(**overrides)


def test_the_fingerprint_covers_what_was_asked_but_not_the_wording():
    assert donation().fingerprint == donation(description="other words").fingerprint
    assert donation().fingerprint != donation(amount=501).fingerprint
    assert donation().fingerprint != donation(reference="EP-1").fingerprint


def test_a_pending_transfer_can_be_posted_in_part_but_not_beyond_it():
    check_resolution(pending(), TransferRequest.post(pending(), "post", 600), already_resolved=False)
    with pytest.raises(InvalidTransfer, match="cannot post 1001"):
        check_resolution(pending(), TransferRequest.post(pending(), "post", 1001), already_resolved=False)


def test_a_pending_transfer_is_resolved_once():
    with pytest.raises(PendingAlreadyResolved):
        check_resolution(pending(), TransferRequest.void(pending(), "void"), already_resolved=True)


def test_only_a_pending_transfer_can_be_posted():
    single = Transfer.from_request(donation("s1"), id=2)
    resolution = TransferRequest.post(pending(), "post")
    with pytest.raises(PendingNotFound):
        check_resolution(single, resolution, already_resolved=False)
    with pytest.raises(PendingNotFound):
        check_resolution(None, resolution, already_resolved=False)


def test_a_reversal_moves_the_same_amount_back():
    original = donation()
    back = original.reversal("r1", TransferKind.REFUND)
    assert (back.debit, back.credit, back.amount_pence, back.kind) == (
        original.credit, original.debit, original.amount_pence, TransferKind.REFUND)
