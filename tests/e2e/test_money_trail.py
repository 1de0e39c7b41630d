"""An appeal from donations to payouts, as finance and the public see it: every figure to the penny."""

import re

from everypenny.domain.appeal import Channel

SLUG = "sun-ukraine-fund"


def visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_donations_settlement_fees_surplus_payouts_proof_and_erasure(
        cli, client, platform, load_seed_variant, record_donation, record_refund):
    load_seed_variant(surplus={"restricted_target_pence": 3000})  # the restricted fund needs £30
    texts = [record_donation(1000, Channel.CARRIER_SMS, phone=f"+4477009001{n:02d}") for n in range(3)]
    online = record_donation(2500, Channel.ONLINE, email="ada@example.org")
    refunded = record_donation(500, Channel.ONLINE, email="bob@example.org")
    record_refund(refunded.reference, 500)

    platform.worker().run_due_jobs()  # what every worker does on its own: seal, then apply the surplus rule

    for step in [
        ("settlement", "record", "--appeal", SLUG, "--channel", "carrier_sms", "--amount-pence", 3000,
         "--reference", "AGG-2026-11", "--fee-pence", 300),
        ("settlement", "record", "--appeal", SLUG, "--channel", "online", "--amount-pence", 2500,
         "--reference", "po_1"),
        ("payout", "record", "--appeal", SLUG, "--amount-pence", 3000, "--fund", "restricted",
         "--reference", "BACS-1"),
        ("payout", "record", "--appeal", SLUG, "--amount-pence", 2200, "--fund", "surplus",
         "--reference", "BACS-2"),
        ("fees", "reimburse", "--appeal", SLUG, "--amount-pence", 300, "--reference", "SUN-INV-1"),
        ("payout", "record", "--appeal", SLUG, "--amount-pence", 300, "--fund", "surplus",
         "--reference", "BACS-3"),
    ]:
        result = cli(*step)
        assert result.exit_code == 0, result.output
    overdrawn = cli("payout", "record", "--appeal", SLUG, "--amount-pence", 1, "--fund", "surplus",
                    "--reference", "BACS-4")
    assert overdrawn.exit_code == 2

    with platform.uow() as uow:
        balances = {code: posted for code, (posted, _) in uow.ledger.balances(SLUG).items()}
        totals = uow.ledger.totals(SLUG)
    assert balances == {
        "receivable:carrier_sms": 0, "receivable:text_to_link": 0, "receivable:online": 0, "bank": 0,
        "recoverable:fees": 0, "fund:restricted": -3000, "fund:surplus": -2500, "paid_out:beneficiary": 5500}
    assert totals.raised_pence == 5500
    assert {channel: pence for channel, pence in totals.by_channel.items() if pence} == {
        "carrier_sms": 3000, "online": 2500}

    remittance = cli("payout", "remittance", "--appeal", SLUG, "--reference", "BACS-1").output.splitlines()
    assert [line.split(",")[0] for line in remittance[1:]] == [t.reference for t in texts]
    assert [line.split(",")[3] for line in remittance[1:]] == ["10.00", "10.00", "10.00"]

    platform.worker().run_due_jobs()
    verified = cli("ledger", "verify", "--appeal", SLUG)
    assert verified.exit_code == 0 and "intact" in verified.output

    page = visible_text(client.get(f"/transparency/{SLUG}").text)
    for figure in ("Total raised (after refunds) £55", "Ukraine Crisis Appeal £30", "Disaster Fund (surplus) £25",
                   "Total paid out £55"):
        assert figure in page

    erased = cli("donor", "erase", "--email", "ada@example.org", "--yes")
    assert erased.exit_code == 0, erased.output
    assert cli("ledger", "verify", "--appeal", SLUG).exit_code == 0
    assert visible_text(client.get(f"/transparency/{SLUG}").text) == page
    counted = client.post(f"/transparency/{SLUG}/check", data={"reference": online.reference})
    assert f"Yes. Your donation {online.reference} of £25" in visible_text(counted.text)
