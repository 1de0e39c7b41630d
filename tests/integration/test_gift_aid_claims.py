"""Gift Aid claims on both stores: only paid, unrefunded, declared donations, each claimed once."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from everypenny.adapters.db.schema import donations, gift_aid_claimed_donations
from everypenny.domain.gift_aid import GiftAidDeclaration, GiftAidScope

SLUG = "sun-ukraine-fund"


def declare(platform, reference: str, first: str, scope=GiftAidScope.THIS_DONATION, contact=None,
            charity="British Red Cross"):
    with platform.uow() as uow:
        uow.gift_aid.add(GiftAidDeclaration.make(
            donation_reference=reference, charity_name=charity, title="Mr", first_name=first,
            last_name="Kovalenko", house="Flat 2, 7", address="High Street, York", postcode="yo1 7hh", scope=scope,
            declared_at=datetime.now(UTC), source="test", contact=contact))
        uow.commit()


def test_a_schedule_previews_then_claims_each_donation_once(platform, seed_appeal, record_donation, record_refund,
                                                            cli, tmp_path):
    big = record_donation(2500, email="taras@example.org")
    declare(platform, big.reference, "Taras")
    small = record_donation(500, email="maria@example.org")
    declare(platform, small.reference, "Maria", GiftAidScope.PAST_AND_FUTURE, contact="maria@example.org")
    maria_again = record_donation(1000, email="maria@example.org")  # covered by her enduring declaration
    record_donation(1000, email="nobody@example.org")  # no declaration
    refunded = record_donation(800, email="ivan@example.org")
    declare(platform, refunded.reference, "Ivan")
    record_refund(refunded.reference, 800)
    output = tmp_path / "schedule.csv"

    preview = cli("giftaid", "schedule", "--appeal", SLUG, "--output", output)

    assert preview.exit_code == 0, preview.output
    assert "wrote 2 rows (3 donations, £40) to" in preview.output
    assert "Gift Aid claimable £10; preview, nothing recorded" in preview.output
    assert "1 paid donation without a Gift Aid declaration" in preview.output
    rows = output.read_text().splitlines()
    assert rows[1].startswith("1,Mr,Taras,Kovalenko,\"Flat 2, 7\",YO1 7HH,,,") and rows[1].endswith(",25.00")
    assert rows[2].startswith("2,,,,,,2 donations of 20 pounds or less,,") and rows[2].endswith(",15.00")

    claimed = cli("giftaid", "schedule", "--appeal", SLUG, "--output", output, "--claim")
    assert claimed.exit_code == 0 and "claim #1 recorded" in claimed.output
    assert "claimed so far: 1 claim, £10 of Gift Aid on £40 of donations" in claimed.output

    again = cli("giftaid", "schedule", "--appeal", SLUG, "--output", output, "--claim")
    assert again.exit_code == 2 and "nothing to claim" in again.output

    later = record_donation(300, email="maria@example.org")
    next_one = cli("giftaid", "schedule", "--appeal", SLUG, "--output", output, "--claim")
    assert next_one.exit_code == 0 and "wrote 1 row (1 donation, £3)" in next_one.output
    assert "claimed so far: 2 claims, £10.75 of Gift Aid on £43 of donations" in next_one.output
    with platform.engine.connect() as connection:
        claimed_ids = connection.execute(select(donations.c.reference).join(
            gift_aid_claimed_donations, gift_aid_claimed_donations.c.donation_id == donations.c.id)).scalars().all()
    assert sorted(claimed_ids) == sorted([big.reference, small.reference, maria_again.reference, later.reference])
