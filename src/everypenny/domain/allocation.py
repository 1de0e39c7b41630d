"""The surplus rule: money beyond the restricted fund's target belongs to the named surplus fund.

The rule is applied as explicit ALLOCATION transfers between the two fund accounts, never by editing
anything, so the ledger shows when and why each pound moved. Fund balances count posted money only
(pending texts are not money yet), and a fund's balance is everything given to it: payouts to the
beneficiary do not reduce it (see domain/payouts.py), so the target compares like with like.
"""

from __future__ import annotations

from dataclasses import dataclass

from everypenny.domain.appeal import Appeal
from everypenny.domain.money import format_pence


@dataclass(frozen=True)
class FundBalances:
    """Posted balances of an appeal's funds, as positive amounts owed to the beneficiary."""

    restricted_pence: int
    surplus_pence: int
    surplus_paid_out_pence: int = 0

    @property
    def net_raised_pence(self) -> int:
        return self.restricted_pence + self.surplus_pence


def surplus_move(target_pence: int | None, funds: FundBalances) -> int:
    """Pence to move from the restricted fund to the surplus fund (negative: back again).

    Afterwards the restricted fund holds the net raised up to its target and the surplus fund the rest.
    When refunds (or a higher target) leave the restricted fund short, surplus money comes back to it,
    except what has already been paid out of the surplus fund. Without a target nothing moves.
    """
    if target_pence is None:
        return 0
    wanted_surplus = max(funds.net_raised_pence - target_pence, funds.surplus_paid_out_pence, 0)
    return wanted_surplus - funds.surplus_pence


def allocation_description(appeal: Appeal, move_pence: int) -> str:
    """The ledger's explanation of a move, in the appeal's own T&Cs wording."""
    rule = appeal.surplus_rule
    fund = appeal.restricted_fund.name
    target = format_pence(rule.restricted_target_pence or 0, appeal.currency)
    if move_pence > 0:
        return f"Raised beyond the {fund} target of {target}, allocated to the {rule.surplus_fund}: {rule.wording}"
    return (f"Returned from the {rule.surplus_fund} to the {fund}: refunds or a new target left it below "
            f"its target of {target}")
