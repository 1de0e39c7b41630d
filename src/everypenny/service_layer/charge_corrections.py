"""Finance resolves a charge whose charge reports contradict each other (issue 21).

The first final report stands in the books (service_layer/text_giving.py says why); the aggregator's monthly
statement says what the network really did. Finance records that once per charge: when the books already
agree, nothing moves; when they do not, one explicit correcting transfer does (never a re-posting of the
first): money into the fund for a charge the network made after all, out of it for one it did not. Who
resolved it, how and when is kept on the charge and in the transfer's description. Until then the desk lists
the charge under "needs attention", as `everypenny sms contradictions` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from everypenny.domain import postings
from everypenny.domain.donation import Donation
from everypenny.domain.ledger import TransferRequest
from everypenny.domain.text_giving import ChargeStatus, SmsCharge
from everypenny.service_layer.ledger import apply_transfers
from everypenny.service_layer.unit_of_work import UnitOfWorkFactory

log = structlog.get_logger(__name__)

NOT_CHARGED_REASON = "NOT_CHARGED (finance's correction)"


class CorrectionRefused(ValueError):
    """Nothing changed; the message says why."""


@dataclass(frozen=True)
class Correction:
    charge: SmsCharge
    charged: bool  # what the network really did, as finance found it
    transfer: TransferRequest | None  # None when the books already agreed

    def outcome(self) -> str:
        done = "the network charged it" if self.charged else "the network did not charge it"
        if self.transfer is None:
            return f"{self.charge.request_id}: {done}; the books already agreed, no money moved"
        return f"{self.charge.request_id}: {done}; corrected by transfer {self.transfer.idempotency_key}"


def contradictions(uow_factory: UnitOfWorkFactory, appeal_slug: str) -> list[SmsCharge]:
    """The appeal's charges whose reports contradict each other, not yet resolved: they need attention."""
    with uow_factory() as uow:
        return uow.texts.contradicted_charges(appeal_slug)


def resolve_contradiction(uow_factory: UnitOfWorkFactory, request_id: str, charged: bool, by: str) -> Correction:
    """Records what the network really did with a contradicted charge, correcting the books if they differ."""
    with uow_factory() as uow:
        charge = uow.texts.charges([request_id]).get(request_id)
        if charge is None or not charge.contradicting_report:
            raise CorrectionRefused(f"no charge {request_id!r} has contradicting reports")
        if charge.contradiction_resolved:
            raise CorrectionRefused(f"{request_id} was resolved already: {charge.contradiction_resolved}")
        transfer = None
        if charged != (charge.status is ChargeStatus.CHARGED):
            if charge.refund_status:
                raise CorrectionRefused(f"{request_id} has a refund {charge.refund_status}: settle that first")
            donation = uow.donations.get(charge.donation_reference)
            assert donation is not None  # every charge belongs to a stored donation
            transfer = postings.text_charge_corrected(charge, donation, charged, by)
            apply_transfers(uow, [transfer])
            uow.donations.save(_corrected(donation, charge.amount_pence if charged else -charge.amount_pence))
        resolution = (f"{'charged' if charged else 'not charged'}, by {by} at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
                      f"{', corrected by transfer' if transfer else ', books already agreed'}")
        if not uow.texts.resolve_contradiction(request_id, resolution[:200]):
            raise CorrectionRefused(f"{request_id} was resolved by someone else meanwhile")
        uow.commit()
    log.warning("contradicted charge resolved", request_id=request_id, charged=charged, by=by,
                corrected=transfer is not None)
    return Correction(charge, charged, transfer)


def _corrected(donation: Donation, change_pence: int) -> Donation:
    paid = donation.paid_pence + change_pence
    return donation.settled(paid, None if paid == donation.amount_pence else
                            donation.failure_reason or NOT_CHARGED_REASON)
