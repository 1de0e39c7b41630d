"""`everypenny ledger|allocate|fees|payout|donor …`: proof of the ledger, money out, donors' rights."""

from __future__ import annotations

import getpass
from datetime import timedelta
from pathlib import Path

import typer

from everypenny.domain.chain import DEFAULT_SEAL_GRACE
from everypenny.domain.contact_marks import InvalidBlock
from everypenny.domain.donation import Medium
from everypenny.domain.erasure import Contact, ErasureRefused, InvalidContact
from everypenny.domain.payouts import Fund, MoneyOutRefused
from everypenny.domain.retention import RETENTION_SCHEDULE
from everypenny.entrypoints.cli.shared import (
    Reference,
    RequiredAppeal,
    appeal_money,
    complain,
    count,
    fail,
    fail_unknown_appeal,
    opened_platform,
    run_refusing,
    say,
)
from everypenny.service_layer import money_out, proof
from everypenny.service_layer.appeals import UnknownAppeal
from everypenny.service_layer.erasure import erase_donor
from everypenny.service_layer.protection import set_block

ledger_app = typer.Typer(help="The ledger's hash chain: seal it, verify it.", no_args_is_help=True)
fees_app = typer.Typer(help="Fees borne by the media partner or the platform.", no_args_is_help=True)
payout_app = typer.Typer(help="Payouts of settled money to the beneficiary.", no_args_is_help=True)
donor_app = typer.Typer(help="Donors' rights over their personal data.", no_args_is_help=True)


AppealOption = typer.Option(None, "--appeal", help="One appeal's slug (default: every appeal).")


def _slugs(running, slug: str | None) -> list[str]:
    slugs = proof.appeal_slugs(running.uow)
    if slug is None:
        if not slugs:
            fail("there are no appeals yet: load one with `everypenny appeal load FILE`", code=2)
        return slugs
    if slug not in slugs:
        fail_unknown_appeal(UnknownAppeal(slug))
    return [slug]


@ledger_app.command("seal")
def ledger_seal(appeal: str | None = AppealOption) -> None:
    """Append every transfer not yet in the chain (the worker does this every few seconds)."""
    with opened_platform() as running:
        for slug in _slugs(running, appeal):
            say(f"{slug}: sealed {count(proof.seal_appeal(running.uow, slug), 'transfer')}")


def _published_heads(texts: list[str]) -> dict[int, str]:
    heads: dict[int, str] = {}
    for text in texts:
        seq, _, digest = text.strip().lstrip("#").partition(":")
        if not seq.isdigit() or int(seq) < 1 or len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            fail(f"--published-head {text!r} is not SEQ:HASH (e.g. 42:9f86d0…, the 64 hex digits in full)", code=2)
        heads[int(seq)] = digest
    return heads


@ledger_app.command("verify")
def ledger_verify(
    appeal: str | None = AppealOption,
    grace_minutes: float = typer.Option(DEFAULT_SEAL_GRACE.total_seconds() / 60, min=0,
                                        help="How long a new transfer may wait to be sealed."),
    published_heads: list[str] = typer.Option(
        [], "--published-head", metavar="SEQ:HASH",
        help="A daily head copied from the transparency page; repeat for several (needs --appeal)."),
) -> None:
    """Recompute every hash from the stored transfers; exit 1 naming the first broken entry if any."""
    published = _published_heads(published_heads)
    if published and appeal is None:
        fail("--published-head belongs to one appeal's chain: add --appeal SLUG", code=2)
    broken = False
    with opened_platform() as running:
        for slug in _slugs(running, appeal):
            with running.uow() as uow:
                result = proof.verify_appeal(uow, slug, grace=timedelta(minutes=grace_minutes), published=published)
            head = f"head #{result.head.seq} {result.head.hash}" if result.head else "no entries yet"
            recent = result.unsealed_recent
            waiting = f"; {count(recent, 'new transfer')} awaiting sealing" if recent else ""
            if result.intact:
                say(f"{slug}: intact: {count(result.entries_checked, 'entry', 'entries')} checked, {head}{waiting}")
                continue
            broken = True
            if result.first_break:
                in_all = count(len(result.breaks), "broken entry", "broken entries")
                complain(f"{slug}: BROKEN at {result.first_break} ({in_all} in all)")
            if result.unsealed_overdue:
                ids = ", ".join(str(i) for i in result.unsealed_overdue[:10])
                more = "…" if len(result.unsealed_overdue) > 10 else ""
                complain(f"{slug}: {count(len(result.unsealed_overdue), 'transfer')} never sealed "
                         f"(older than {grace_minutes:g} minutes): {ids}{more}")
    if broken:
        raise typer.Exit(1)


Amount = typer.Option(..., "--amount-pence", help="Whole pence, e.g. 125000 for £1,250.")


MONEY_OUT_REFUSALS = (MoneyOutRefused, UnknownAppeal)


def _money_out(action):
    return run_refusing(action, MONEY_OUT_REFUSALS)


def allocate(appeal: str = RequiredAppeal) -> None:
    """Apply the appeal's surplus rule: money beyond the restricted fund's target goes to the surplus fund."""
    result = _money_out(lambda running: money_out.allocate_surplus(running.uow, appeal))
    money, funds = appeal_money(appeal), result.funds
    moved = (f"moved {money(result.moved_pence)} to the surplus fund" if result.moved_pence > 0 else
             f"moved {money(-result.moved_pence)} back to the restricted fund" if result.moved_pence < 0
             else "the appeal file sets no surplus.restricted_target_pence, so nothing moves"
             if result.target_pence is None else "nothing to move")
    say(f"{appeal}: {moved}; restricted {money(funds.restricted_pence)}, surplus {money(funds.surplus_pence)}")


@fees_app.command("reimburse")
def fees_reimburse(appeal: str = RequiredAppeal, amount_pence: int = Amount, reference: str = Reference) -> None:
    """Record the fee bearer paying back fees withheld from settlements."""
    new = _money_out(lambda running: money_out.reimburse_fees(running.uow(), appeal, amount_pence, reference))
    say(f"reimbursement {reference} {'recorded' if new else 'already recorded'}: {appeal_money(appeal)(amount_pence)}")


@payout_app.command("record")
def payout_record(
    appeal: str = RequiredAppeal,
    amount_pence: int = Amount,
    fund: Fund = typer.Option(..., "--fund", help="The fund the money is paid from."),
    reference: str = Reference,
) -> None:
    """Record a payout of settled money to the beneficiary; never more than settled, unpaid money."""
    payout, new = _money_out(
        lambda running: money_out.record_payout(running.uow(), appeal, amount_pence, fund, reference))
    say(f"payout {payout.reference} {'recorded' if new else 'already recorded'}: "
        f"{appeal_money(appeal)(payout.amount_pence)} from the {payout.fund.value} fund")


@payout_app.command("list")
def payout_list(appeal: str = RequiredAppeal) -> None:
    """The appeal's payouts, oldest first."""
    payouts = _money_out(lambda running: money_out.list_payouts(running.uow(), appeal))
    money = appeal_money(appeal)
    for payout in payouts:
        say(f"{payout.recorded_at:%Y-%m-%d} {payout.reference}: {money(payout.amount_pence)} "
            f"from the {payout.fund.value} fund")
    if not payouts:
        say(f"{appeal}: no payouts yet")


@payout_app.command("remittance")
def payout_remittance(
    appeal: str = RequiredAppeal,
    reference: str = typer.Option(..., "--reference", help="The payout's reference."),
    output: Path | None = typer.Option(None, "--output", help="Write the CSV here instead of to the screen."),
) -> None:
    """Remittance advice CSV: the donations a payout covers, oldest settled first."""
    _payout, lines = _money_out(lambda running: money_out.remittance_advice(running.uow(), appeal, reference))
    text = money_out.remittance_csv(lines)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        say(f"wrote {len(lines)} lines to {output}")


@donor_app.command("erase")
def donor_erase(
    phone: str | None = typer.Option(None, "--phone", help="The donor's mobile number."),
    email: str | None = typer.Option(None, "--email", help="The donor's email address."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Replace a donor's personal data with a pseudonym; their donations stay counted in every total."""
    contact = _one_contact(phone, email)
    if not yes and not typer.confirm(f"Erase the personal data of {contact.value}? This cannot be undone"):
        raise typer.Exit(1)
    with opened_platform() as running:
        try:
            result = erase_donor(running.uow(), contact, running.settings.secret_key, running.retention_rules)
        except ErasureRefused as error:
            fail(str(error), code=3)
    if result.already_erased:
        say(f"already erased on {result.previously_erased_at[0]:%Y-%m-%d} as {result.pseudonym}")
    elif result.donations or result.records:
        say(f"erased now: {count(result.donations, 'donation')} and {count(result.records, 'other record')} "
            f"(consents, messages) now read {result.pseudonym}; every ledger entry and total is unchanged")
    elif not result.scheduled:
        say("nothing stored under that contact")
    for rule, until in sorted(result.scheduled.items(), key=lambda item: item[1]):
        period = next(period for period in RETENTION_SCHEDULE if period.rule == rule)
        say(f"kept until {until:%d %b %Y}, then erased: {period.records} ({period.kept}, {period.source})")



def _one_contact(phone: str | None, email: str | None) -> Contact:
    """The one contact a donor command names, or exit code 2 saying what is wrong."""
    if (phone is None) == (email is None):
        fail("give exactly one of --phone or --email", code=2)
    try:
        return Contact.parse(Medium.SMS, phone) if phone is not None else Contact.parse(Medium.EMAIL, email or "")
    except InvalidContact as error:
        fail(str(error), code=2)


def _set_block(phone: str | None, email: str | None, reason: str, blocked: bool) -> None:
    contact = _one_contact(phone, email)
    with opened_platform() as running:
        try:
            set_block(running.uow, contact, blocked, reason, f"cli:{getpass.getuser()}")
        except InvalidBlock as error:
            fail(str(error), code=2)
    effect = ("may not give: their texts get a kind reply and no charge, and online giving is refused" if blocked
              else "may give again")
    say(f"{contact.value} {effect} (recorded with your reason)")


@donor_app.command("block")
def donor_block(
    phone: str | None = typer.Option(None, "--phone", help="The mobile number to stop taking gifts from."),
    email: str | None = typer.Option(None, "--email", help="The email address to stop taking gifts from."),
    reason: str = typer.Option(..., "--reason", help="Why (kept on record; say nothing more than needed)."),
) -> None:
    """Protect someone: stop taking gifts from a number or email (Fundraising Regulator, vulnerable circumstances)."""
    _set_block(phone, email, reason, blocked=True)


@donor_app.command("unblock")
def donor_unblock(
    phone: str | None = typer.Option(None, "--phone", help="The mobile number."),
    email: str | None = typer.Option(None, "--email", help="The email address."),
    reason: str = typer.Option(..., "--reason", help="Why the block is lifted (kept on record)."),
) -> None:
    """Lift a block: the number or email may give again."""
    _set_block(phone, email, reason, blocked=False)
