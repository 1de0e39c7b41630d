"""Gift Aid claims on both stores: only paid, unrefunded, declared donations, each claimed once."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from everypenny.adapters.db.schema import donations, gift_aid_claimed_donations
from everypenny.domain import gift_aid_claims
from everypenny.domain.gift_aid import GiftAidDeclaration, GiftAidScope
from everypenny.domain.gift_aid_claims import uk_date
from tests.hmrc_validator import read_schedule, validate_schedule

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


def test_the_schedule_for_hmrc_is_an_ods_its_validator_accepts(platform, seed_appeal, record_donation, cli, tmp_path):
    taras = record_donation(2500, email="taras@example.org")
    declare(platform, taras.reference, "Taras")
    maria = record_donation(500, email="maria@example.org")
    declare(platform, maria.reference, "Maria")
    output = tmp_path / "gift-aid.ods"

    written = cli("giftaid", "schedule", "--appeal", SLUG, "--output", output)

    assert written.exit_code == 0, written.output
    assert f"wrote 2 rows (2 donations, £30) to {output}: Gift Aid claimable £7.50; preview" in written.output
    assert validate_schedule(output, uk_date(datetime.now(UTC))) == []
    assert [(row.item, row.first_name, row.aggregated, row.amount) for row in read_schedule(output).rows] == [
        ("1", "Taras", "", "25.00"), ("2", "", "1 donation of 20 pounds or less", "5.00")]


def test_a_schedule_over_the_row_limit_is_written_and_claimed_as_numbered_schedules(
        platform, seed_appeal, record_donation, cli, tmp_path, monkeypatch):
    monkeypatch.setattr(gift_aid_claims, "MAX_ROWS_PER_SCHEDULE", 2)
    for name in ("Taras", "Maria", "Ivan"):
        donation = record_donation(2500, email=f"{name.lower()}@example.org")
        declare(platform, donation.reference, name)

    claimed = cli("giftaid", "schedule", "--appeal", SLUG, "--output", tmp_path / "gift-aid.ods", "--claim")

    assert claimed.exit_code == 0, claimed.output
    assert "(schedule 1 of 2, claim #1)" in claimed.output and "(schedule 2 of 2, claim #2)" in claimed.output
    assert "make 2 claims on Charities Online, one for each file" in claimed.output
    assert [len(read_schedule(tmp_path / f"gift-aid-{n}.ods").rows) for n in (1, 2)] == [2, 1]
    assert not (tmp_path / "gift-aid.ods").exists()


def test_a_declaration_hmrc_would_refuse_is_left_out_of_the_schedule_and_named(platform, seed_appeal,
                                                                              record_donation, cli, tmp_path):
    taken_before_the_rules = record_donation(2500, email="taras@example.org")
    with platform.uow() as uow:
        uow.gift_aid.add(GiftAidDeclaration(
            donation_reference=taken_before_the_rules.reference, charity_name="British Red Cross",
            first_name="Тарас", last_name="Шевченко", house="7", address="", postcode="YO1 7HH",
            scope=GiftAidScope.THIS_DONATION, wording="…", declared_at=datetime.now(UTC), source="test"))
        uow.commit()
    fine = record_donation(3000, email="maria@example.org")
    declare(platform, fine.reference, "Maria")

    written = cli("giftaid", "schedule", "--appeal", SLUG, "--output", tmp_path / "gift-aid.ods", "--claim")

    assert written.exit_code == 0, written.output
    assert "wrote 1 row (1 donation, £30)" in written.output
    assert f"left out {taken_before_the_rules.reference}, as HMRC would refuse its declaration" in written.output
    assert "please also give your first name in Latin letters" in written.output


def test_a_schedule_file_must_be_an_ods_or_a_csv_preview(platform, seed_appeal, cli, tmp_path):
    refused = cli("giftaid", "schedule", "--appeal", SLUG, "--output", tmp_path / "gift-aid.xlsx", "--claim")

    assert refused.exit_code == 2
    assert "name a .ods file (the schedule HMRC takes) or a .csv file (a preview)" in refused.output
