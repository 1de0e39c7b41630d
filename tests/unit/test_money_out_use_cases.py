"""Money out's use cases on the in-memory stores (tests/fakes.py): settled cash, fees, payouts and the surplus
rule, each a unit of work that commits what it did or nothing at all. The same rules against the real stores
are in tests/integration/test_money_out.py and test_surplus_rule.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from everypenny.adapters.appeal_file import load_appeal_file
from everypenny.domain import postings
from everypenny.domain.appeal import Appeal, Channel
from everypenny.domain.donation import Donation
from everypenny.domain.payouts import Fund, MoneyOutRefused
from everypenny.service_layer import money_out
from everypenny.service_layer.appeals import UnknownAppeal
from everypenny.service_layer.ledger import apply_transfer
from tests.conftest import SEED_APPEAL
from tests.fakes import FakeStores

SEED, _ = load_appeal_file(SEED_APPEAL)
SLUG = SEED.slug


def stores_with(appeal: Appeal = SEED, *gifts_pence: int) -> FakeStores:
    """An appeal whose donors gave these card gifts, each paid."""
    stores = FakeStores()
    stores.add_appeal(appeal)
    with stores.uow() as uow:
        for number, pence in enumerate(gifts_pence, 1):
            gift = Donation(f"EP-GIFT{number:06d}", SLUG, Channel.ONLINE, pence, "GBP", datetime.now(UTC))
            apply_transfer(uow, postings.checkout_paid(gift, f"cs_test_{number}"))
        uow.commit()
    return stores


def test_a_settlement_moves_the_cash_to_the_bank_and_a_withheld_fee_to_whoever_bears_it():
    stores = stores_with(SEED, 2500, 1000)

    result = money_out.record_settlement(stores.uow(), SLUG, Channel.ONLINE, 3500, "po_1", fee_pence=120)

    assert result == money_out.SettlementResult(3500, 120, already_recorded=False)
    assert stores.posted(SLUG) == {"bank": 3380, "recoverable:fees": 120, "fund:restricted": -3500}


def test_the_same_settlement_again_is_recorded_once_and_other_figures_are_refused():
    stores = stores_with(SEED, 2500)
    money_out.record_settlement(stores.uow(), SLUG, Channel.ONLINE, 2500, "po_1")

    again = money_out.record_settlement(stores.uow(), SLUG, Channel.ONLINE, 2500, "po_1")
    with pytest.raises(MoneyOutRefused, match="already recorded with different figures"):
        money_out.record_settlement(stores.uow(), SLUG, Channel.ONLINE, 2000, "po_1")

    assert again.already_recorded
    assert stores.posted(SLUG) == {"bank": 2500, "fund:restricted": -2500}


def test_a_settlement_of_more_than_was_charged_is_refused_and_writes_nothing():
    stores = stores_with(SEED, 2500)

    with pytest.raises(MoneyOutRefused, match="is more than the £25 charged on online and not yet settled"):
        money_out.record_settlement(stores.uow(), SLUG, Channel.ONLINE, 3000, "po_1")

    assert stores.posted(SLUG) == {"receivable:online": 2500, "fund:restricted": -2500}


def test_a_payout_needs_settled_cash_and_then_is_recorded_once():
    stores = stores_with(SEED, 2500)
    with pytest.raises(MoneyOutRefused, match="only £0 of settled money is unpaid"):
        money_out.record_payout(stores.uow(), SLUG, 1000, Fund.RESTRICTED, "BACS-1")
    money_out.record_settlement(stores.uow(), SLUG, Channel.ONLINE, 2500, "po_1")

    payout, new = money_out.record_payout(stores.uow(), SLUG, 1000, Fund.RESTRICTED, "BACS-1")
    _, again = money_out.record_payout(stores.uow(), SLUG, 1000, Fund.RESTRICTED, "BACS-1")

    assert (payout.amount_pence, payout.fund, new, again) == (1000, Fund.RESTRICTED, True, False)
    assert stores.posted(SLUG) == {"bank": 1500, "paid_out:beneficiary": 1000, "fund:restricted": -2500}


def test_the_surplus_rule_moves_what_is_beyond_the_target_once():
    with_target = replace(SEED, surplus_rule=replace(SEED.surplus_rule, restricted_target_pence=3000))
    stores = stores_with(with_target, 2500, 1000)

    first = money_out.allocate_surplus(stores.uow, SLUG)
    second = money_out.allocate_surplus(stores.uow, SLUG)

    assert (first.moved_pence, second.moved_pence) == (500, 0)
    assert stores.posted(SLUG) == {"receivable:online": 3500, "fund:restricted": -3000, "fund:surplus": -500}


def test_an_unknown_appeal_is_refused_by_name():
    with pytest.raises(UnknownAppeal, match="no appeal has the slug 'no-such-appeal'"):
        money_out.record_settlement(FakeStores().uow(), "no-such-appeal", Channel.ONLINE, 100, "po_1")
