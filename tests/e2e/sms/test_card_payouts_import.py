"""Stripe's payouts come in through the `stripe` library: card fees are the fee bearer's, never the fund's."""

from __future__ import annotations

from datetime import UTC, datetime

from card_harness import balances

from everypenny.domain.settlement import LineStatus
from everypenny.service_layer import settlement
from everypenny.simulators.stripe import card_fee

SLUG = "sun-ukraine-fund"




def test_a_payout_settles_its_charges_less_refunds_and_the_fees_are_recoverable(cards, platform, cli):
    first, second = cards.donate(2000), cards.donate(1000)
    cards.refund(second, 400)
    payout = cards.sim.create_payout()
    fees = card_fee(2000) + card_fee(1000)
    assert payout["amount"] == 2000 + 1000 - 400 - fees

    result = cli("settlement", "import", "--appeal", SLUG, "stripe")

    assert result.exit_code == 0, result.output
    assert f"statement {payout['id']}: 3 lines, £26 gross; settled £26 of our charges, fee £0.85 recoverable" \
           in result.output
    posted = balances(platform)
    assert posted["bank"] == payout["amount"] and posted["recoverable:fees"] == fees == 85
    assert posted["receivable:online"] == 0
    assert posted["fund:restricted"] + posted.get("fund:surplus", 0) == -2600  # 100% of every gift, less the refund
    with platform.uow() as uow:
        lines = uow.settlements.lines(SLUG)
    assert [(line.donation_reference, line.gross_pence) for line in lines] == [
        (first, 2000), (second, 1000), (second, -400)]
    assert {line.status for line in lines} == {LineStatus.MATCHED}


def test_a_payout_settles_text_to_link_gifts_against_their_own_receivable(cards, platform, cli):
    cards.donate(2000)
    linked = cards.donate(1000, phone="+447700900123")
    cards.sim.create_payout()

    result = cli("settlement", "import", "--appeal", SLUG, "stripe")

    assert result.exit_code == 0, result.output
    posted = balances(platform)
    assert posted["receivable:online"] == 0 and posted["receivable:text_to_link"] == 0
    assert posted["recoverable:fees"] == card_fee(2000) + card_fee(1000)
    report = settlement.reconcile(platform.uow, SLUG)
    assert (report.charged_pence, report.settled_pence, report.unsettled) == (3000, 3000, [])
    with platform.uow() as uow:
        assert uow.donations.get(linked).channel.value == "text_to_link"


def test_importing_payouts_again_changes_nothing_and_only_new_payouts_are_added(cards, platform, cli):
    cards.donate(500)
    cards.sim.create_payout()
    assert cli("settlement", "import", "--appeal", SLUG, "stripe").exit_code == 0
    cards.donate(1000)
    later = cards.sim.create_payout()

    again = cli("settlement", "import", "--appeal", SLUG, "stripe")

    assert again.exit_code == 0
    assert "was already imported: nothing changed" in again.output
    assert f"statement {later['id']}: 1 line, £10 gross" in again.output
    assert balances(platform)["bank"] == 500 + 1000 - card_fee(500) - card_fee(1000)
    with platform.uow() as uow:
        assert len(uow.settlements.statements(SLUG)) == 2


def test_an_unreachable_stripe_is_a_clear_error(platform, seed_appeal, cli):
    platform.settings.stripe_api_base = "http://127.0.0.1:9"

    result = cli("settlement", "import", "--appeal", SLUG, "stripe")

    assert result.exit_code == 3 and "Stripe refused or could not be reached" in result.output


def test_since_leaves_out_earlier_payouts(cards, platform, cli):
    cards.donate(500)
    earlier = cards.sim.create_payout()
    earlier["created"] -= 3 * 86400  # paid out three days ago
    cards.donate(1000)
    later = cards.sim.create_payout()
    day = datetime.fromtimestamp(later["created"], UTC)

    result = cli("settlement", "import", "--appeal", SLUG, "stripe", "--since", f"{day:%Y-%m-%d}")

    assert result.exit_code == 0, result.output
    assert f"statement {later['id']}: 1 line, £10 gross" in result.output
    with platform.uow() as uow:
        assert [s.reference for s in uow.settlements.statements(SLUG)] == [later["id"]]
