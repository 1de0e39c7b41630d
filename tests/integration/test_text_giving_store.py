"""The text-giving store on both databases: what counts towards a number's daily cap, charges and messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from everypenny.adapters.db.schema import sms_charges
from everypenny.domain.appeal import Channel
from everypenny.domain.donation import Donation
from everypenny.domain.text_giving import ChargeStatus, Given, MessageStatus, OutboundText, SmsCharge

PHONE = "+447700900001"


def _donation(reference: str, amount: int, created_at: datetime, channel=Channel.CARRIER_SMS, phone=PHONE):
    return Donation(reference, "sun-ukraine-fund", channel, amount, "GBP", created_at, phone=phone)


def test_given_counts_pending_in_full_paid_as_paid_and_nothing_else(platform, seed_appeal):
    now = datetime.now(UTC)
    with platform.uow() as uow:
        uow.donations.add(_donation("EP-0000000001", 1000, now))  # pending
        uow.donations.add(_donation("EP-0000000002", 2000, now).settled(1000, "SPEND_CAP"))  # part paid
        uow.donations.add(_donation("EP-0000000003", 500, now).settled(0, "BARRED"))  # failed
        uow.donations.add(_donation("EP-0000000004", 500, now - timedelta(days=1)))  # yesterday: this month only
        uow.donations.add(_donation("EP-0000000005", 500, now, channel=Channel.ONLINE))  # not a text
        uow.donations.add(_donation("EP-0000000006", 500, now, phone="+447700900002"))  # another number
        uow.commit()

    with platform.uow() as uow:
        assert uow.texts.given_many("sun-ukraine-fund", [PHONE, "+447700900003"], now - timedelta(hours=1),
                                    now - timedelta(days=2)) == {
            PHONE: Given(today_pence=2000, month_pence=2500), "+447700900003": Given(0, 0)}


def test_charges_and_messages_round_trip_and_request_ids_are_unique(platform, seed_appeal):
    now = datetime.now(UTC)
    charge = SmsCharge("mo-1-c1", "EP-0000000001", 1, 500, "GBP", "EE")
    message = OutboundText("mo-1-m1", "aggregator", PHONE, "70141", "Thank you", "receipt", "aggregator:mo-1",
                           donation_reference="EP-0000000001")
    with platform.uow() as uow:
        uow.donations.add(_donation("EP-0000000001", 500, now))
        uow.texts.add_charges([charge])
        uow.texts.add_messages([message])
        uow.commit()

    with platform.uow() as uow:
        assert uow.texts.charges(["mo-1-c1", "mo-9-c1"]) == {"mo-1-c1": charge}
        uow.texts.save_charges([charge.reported(ChargeStatus.FAILED, "BARRED")])
        assert uow.texts.set_message_statuses(["mo-1-m1", "mo-9-m1"], MessageStatus.DELIVERED, None) == {"mo-1-m1"}
        assert uow.texts.set_message_statuses(["mo-1-m1"], MessageStatus.SENT, None,
                                              only_if=MessageStatus.QUEUED) == set()
        uow.commit()

    with platform.uow() as uow:
        assert uow.texts.charges_for("EP-0000000001")[0].failure_reason == "BARRED"
        [stored] = uow.texts.messages(["mo-1-m1"]).values()
        assert stored.status is MessageStatus.DELIVERED  # a late 'sent' does not win
        assert uow.texts.replies_to("aggregator:mo-1") == [stored]
        with pytest.raises(IntegrityError):
            uow.texts.add_charges([charge])


def test_a_message_for_an_unknown_donation_is_refused(platform, seed_appeal):
    with platform.uow() as uow, pytest.raises(LookupError, match="EP-NOPE"):
        uow.texts.add_messages([OutboundText("x-m1", "aggregator", PHONE, "70141", "hi", "reply", "a:x",
                                             donation_reference="EP-NOPE")])



def test_recording_fonix_ids_and_unconfirming_never_undo_a_report_saved_meanwhile(platform, seed_appeal):
    now = datetime.now(UTC)
    reported, waiting, recent = (SmsCharge(f"mo{n}C1", f"EP-000000001{n}", 1, 500, "GBP", "EE") for n in range(3))
    with platform.uow() as uow:
        for n in range(3):
            uow.donations.add(_donation(f"EP-000000001{n}", 500, now))
        uow.texts.add_charges([reported, waiting, recent])
        uow.commit()
    with platform.engine.begin() as connection:  # the first two were asked for long ago
        connection.execute(update(sms_charges).where(sms_charges.c.request_id.in_(["mo0C1", "mo1C1"]))
                           .values(created_at=now - timedelta(days=1)))

    with platform.uow() as uow:  # a report lands, read by nobody else yet
        uow.texts.save_charges([reported.reported(ChargeStatus.CHARGED, None)])
        uow.texts.set_charge_txguids({"mo0C1": "r-4-FROMREPORT"})
        uow.commit()
    with platform.uow() as uow:  # a worker that read the charges before the report
        uow.texts.set_charge_txguids({"mo0C1": "r-4-FROMANSWER", "mo1C1": "r-4-ANSWER1"})
        assert uow.texts.unconfirm_charges(now - timedelta(hours=1), 100) == 1
        uow.commit()

    with platform.uow() as uow:
        stored = uow.texts.charges(["mo0C1", "mo1C1", "mo2C1"])
    assert (stored["mo0C1"].status, stored["mo0C1"].txguid) == (ChargeStatus.CHARGED, "r-4-FROMREPORT")
    assert (stored["mo1C1"].status, stored["mo1C1"].txguid) == (ChargeStatus.UNCONFIRMED, "r-4-ANSWER1")
    assert stored["mo2C1"].status is ChargeStatus.REQUESTED  # asked for within the hour
