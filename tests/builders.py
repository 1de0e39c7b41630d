"""Builds donations as the text and card features will store them: a donation row, its ledger transfers
(pending then posted or voided for texts, posted at once online, under the keys the features use:
domain/postings.py) and the donor's consent record."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from everypenny.domain import postings
from everypenny.domain.appeal import Channel
from everypenny.domain.donation import ConsentRecord, Donation, Medium, new_reference
from everypenny.domain.gift_aid import GiftAidDeclaration, GiftAidScope
from everypenny.domain.ledger import AccountCode, Phase, TransferKind, TransferRequest
from everypenny.domain.text_giving import charge_request_id
from everypenny.service_layer.ledger import apply_transfer
from everypenny.service_layer.online_ports import Checkout, CheckoutStatus

_phones = itertools.count(900100)


def a_phone() -> str:
    """A fresh number in Ofcom's drama range, so no real subscriber is ever named in a test."""
    return f"+447700{next(_phones):06d}"


def _session_id(donation: Donation) -> str:
    return f"cs_test_{donation.reference}"


@dataclass
class DonationBuilder:
    platform: object
    appeal: str = "sun-ukraine-fund"
    currency: str = "GBP"
    clock: datetime = field(default_factory=lambda: datetime(2026, 11, 26, 9, 0, tzinfo=UTC))

    def _at(self, at: datetime | None) -> datetime:
        if at is None:
            self.clock += timedelta(seconds=7)
            return self.clock
        return at

    def text(self, amount_pence: int = 500, *, phone: str | None = None, keyword: str = "SUN",
             outcome: str = "paid", paid_pence: int | None = None, failure_reason: str | None = None,
             channel: Channel = Channel.CARRIER_SMS, consent: bool | None = None,
             at: datetime | None = None) -> Donation:
        """A text donation; outcome is paid, part_paid, failed or pending."""
        donation = Donation(new_reference(), self.appeal, channel, amount_pence, self.currency, self._at(at),
                            phone=phone or a_phone(), keyword=keyword, marketing_consent=bool(consent))
        paid = {"paid": amount_pence, "failed": 0, "pending": None}.get(outcome, paid_pence)
        return self._store(donation, paid, failure_reason, two_phase=True, consent=consent,
                           contact=(donation.phone, Medium.SMS))

    def online(self, amount_pence: int = 2500, *, email: str = "jane.doe@example.org", outcome: str = "paid",
               failure_reason: str | None = None, consent: bool | None = None,
               at: datetime | None = None) -> Donation:
        donation = Donation(new_reference(), self.appeal, Channel.ONLINE, amount_pence, self.currency,
                            self._at(at), email=email, marketing_consent=bool(consent))
        paid = {"paid": amount_pence, "failed": 0, "pending": None}[outcome]
        return self._store(donation, paid, failure_reason, two_phase=False, consent=consent,
                           contact=(email, Medium.EMAIL))

    def _store(self, donation: Donation, paid_pence: int | None, failure_reason: str | None, *, two_phase: bool,
               consent: bool | None, contact: tuple[str, Medium]) -> Donation:
        receivable = AccountCode.receivable(donation.channel)
        charge = charge_request_id(donation.reference, 1)  # the gift as one charge
        with self.platform.uow() as uow:
            uow.donations.add(donation)
            if two_phase:
                pending = apply_transfer(uow, self._transfer(donation, postings.text_charge_pending_key(charge),
                                                             donation.amount_pence, receivable, Phase.PENDING))
                if paid_pence == 0:
                    apply_transfer(uow, TransferRequest.void(pending, postings.text_charge_voided_key(charge)))
                elif paid_pence is not None:
                    apply_transfer(uow, TransferRequest.post(pending, postings.text_charge_posted_key(charge),
                                                             paid_pence))
            elif paid_pence:
                apply_transfer(uow, self._transfer(donation, postings.checkout_paid_key(_session_id(donation)),
                                                   paid_pence, receivable, Phase.SINGLE))
            if paid_pence is not None:
                donation = donation.settled(paid_pence, failure_reason)
                uow.donations.save(donation)
            if consent is not None:
                uow.consents.record(ConsentRecord(contact[0], contact[1], consent, f"test:{donation.channel}",
                                                  donation.created_at, self.appeal))
            uow.commit()
        return donation

    def _transfer(self, donation: Donation, key: str, amount_pence: int, receivable: str,
                  phase: Phase) -> TransferRequest:
        return TransferRequest(key, self.appeal, receivable, AccountCode.RESTRICTED_FUND, amount_pence,
                               self.currency, TransferKind.DONATION, phase, reference=donation.reference)

    def refund(self, donation: Donation, pence: int) -> Donation:
        with self.platform.uow() as uow:
            apply_transfer(uow, postings.card_money_given_back(
                donation, pence, postings.card_refund_key(f"re_test_{donation.reference}"), TransferKind.REFUND))
            refunded = donation.refunded(pence)
            uow.donations.save(refunded)
            uow.commit()
        return refunded

    def paid_by_card(self, donation: Donation) -> Donation:
        """Records the Stripe checkout that paid a card donation, so it can be refunded to the card."""
        with self.platform.uow() as uow:
            uow.checkouts.add(Checkout(_session_id(donation), donation.reference,
                                       f"https://checkout.example/{donation.reference}", CheckoutStatus.PAID,
                                       f"pi_test_{donation.reference}"))
            uow.commit()
        return donation

    def declare_gift_aid(self, donation: Donation, first_name: str = "Olena", last_name: str = "Kovalenko",
                         scope: GiftAidScope = GiftAidScope.THIS_DONATION) -> None:
        """The donor ticks Gift Aid and gives their name and home address with this donation."""
        with self.platform.uow() as uow:
            uow.gift_aid.add(GiftAidDeclaration.make(
                donation_reference=donation.reference, charity_name="British Red Cross", title="Ms",
                first_name=first_name, last_name=last_name, house="7", address="High Street, York",
                postcode="YO1 7HH", scope=scope, declared_at=donation.created_at, source="test:donation-form",
                contact=donation.email or donation.phone))
            uow.commit()

    def stop(self, phone: str, at: datetime | None = None) -> None:
        """The donor texts STOP: no appeal, no marketing by text from now on."""
        with self.platform.uow() as uow:
            uow.consents.record(ConsentRecord(phone, Medium.SMS, False, "sms:STOP", self._at(at)))
            uow.commit()
