"""`everypenny settlement record|import …`, `everypenny reconcile`, `everypenny giftaid schedule`: money in, checked."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path

import typer

from everypenny.adapters.hmrc_schedule import write_schedule_ods
from everypenny.adapters.payments.stripe_payouts import StripePayouts
from everypenny.domain.appeal import Channel
from everypenny.domain.gift_aid_claims import schedule_csv
from everypenny.domain.payouts import MoneyOutRefused
from everypenny.domain.settlement import LineStatus, StatementRefused
from everypenny.entrypoints.cli.shared import (
    Reference,
    RequiredAppeal,
    appeal_money,
    count,
    fail,
    run_refusing,
    say,
)
from everypenny.service_layer import gift_aid_claims, money_out, settlement
from everypenny.service_layer.appeals import UnknownAppeal
from everypenny.service_layer.online_ports import PaymentUnavailable

settlement_app = typer.Typer(help="Cash received from aggregators and card processors.", no_args_is_help=True)
import_app = typer.Typer(help="Import a settlement: an aggregator's statement or Stripe's payouts.",
                         no_args_is_help=True)
settlement_app.add_typer(import_app, name="import")

PROBLEM_WORDS = {
    LineStatus.SHORT: "short-paid", LineStatus.OVER: "over-paid", LineStatus.UNKNOWN: "for nothing we know of",
    LineStatus.FAILED_CHARGE: "for failed charges", LineStatus.DUPLICATE: "already paid on an earlier statement",
}


@import_app.callback()
def import_options(ctx: typer.Context, appeal: str = typer.Option(..., "--appeal", help="The appeal's slug.")) -> None:
    ctx.obj = appeal


def _run(action):
    return run_refusing(action, (StatementRefused, MoneyOutRefused, UnknownAppeal))


@settlement_app.command("record")
def settlement_record(
    appeal: str = RequiredAppeal,
    channel: Channel = typer.Option(..., "--channel", help="Which receivable the cash settles."),
    amount_pence: int = typer.Option(..., "--amount-pence", help="The gross settled, before any fee withheld."),
    reference: str = Reference,
    fee_pence: int = typer.Option(0, "--fee-pence", help="A fee withheld from the gross, borne by the fee bearer."),
) -> None:
    """Record cash received for a channel's charged donations (settlement import calls the same use case)."""
    result = _run(lambda running: money_out.record_settlement(
        running.uow(), appeal, channel, amount_pence, reference, fee_pence))
    money = appeal_money(appeal)
    status = "already recorded" if result.already_recorded else "recorded"
    fee = f", fee {money(result.fee_pence)} recoverable from the fee bearer" if result.fee_pence else ""
    say(f"settlement {reference} {status}: {money(result.gross_pence)} gross{fee}")


StatementFile = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                               help="The statement CSV (docs/money.md: Settlement statements).")


@import_app.command("aggregator")
def import_aggregator(ctx: typer.Context, statement: Path = StatementFile) -> None:
    """Import one network's monthly statement; importing it again changes nothing."""
    appeal = ctx.obj
    result = _run(lambda running: settlement.import_aggregator_statement(
        running.uow(), appeal, statement.read_bytes()))
    money = appeal_money(appeal)
    _report(appeal, result, money)


def _report(appeal: str, result: settlement.ImportResult, money) -> None:
    if result.already_imported:
        say(f"statement {result.reference} was already imported: nothing changed")
        return
    say(f"statement {result.reference}: {count(result.lines, 'line')}, {money(result.gross_pence)} gross; "
        f"settled {money(result.settled_pence)} of our charges"
        + (f", fee {money(result.fee_pence)} recoverable from the fee bearer" if result.fee_pence else ""))
    for status, n in result.problems.items():
        say(f"  {count(n, 'line')} {PROBLEM_WORDS[status]}: see `everypenny reconcile --appeal {appeal}`")


@import_app.command("stripe")
def import_stripe(ctx: typer.Context, since: datetime | None = typer.Option(
        None, "--since", formats=["%Y-%m-%d"], help="Only payouts created on or after this day (UTC).")) -> None:
    """Import Stripe's paid payouts: each payout's charges, refunds and disputes of this appeal, and their fees."""
    appeal = ctx.obj
    start = since.replace(tzinfo=UTC) if since else None
    try:
        results = _run(lambda running: settlement.import_card_payouts(
            running.uow, appeal, StripePayouts(running.settings), start))
    except PaymentUnavailable as error:
        fail(f"Stripe refused or could not be reached: {error}", code=3)
    money = appeal_money(appeal)
    for result in results:
        _report(appeal, result, money)
    if not results:
        say(f"{appeal}: no paid Stripe payouts carry this appeal's donations"
            + (f" since {start:%d %b %Y}" if start else ""))


def reconcile(
    appeal: str = typer.Option(..., "--appeal", help="The appeal's slug."),
    window_days: int | None = typer.Option(None, "--window-days", min=0,
                                           help="Days after month end the aggregator has to pay "
                                                "(default EVERYPENNY_SETTLEMENT_WINDOW_DAYS)."),
) -> None:
    """Every charged text against the statement lines that paid it; exit 1 if anything needs chasing."""
    report = _run(lambda running: settlement.reconcile(
        running.uow, appeal, window_days if window_days is not None else running.settings.settlement_window_days,
        running.settings.card_settlement_window_days))
    money = appeal_money(appeal)
    say(f"{appeal}: charged {money(report.charged_pence)}, settled {money(report.settled_pence)}; "
        f"{count(report.matched, 'line')} matched in full")
    for status, words in PROBLEM_WORDS.items():
        for line in report.lines_with(status):
            charged = f" (charged {money(line.charged_pence)})" if line.charged_pence else ""
            say(f"  {words}: {line.statement_reference} line {line.line} {line.external_id} "
                f"paid {money(line.gross_pence)}{charged}")
    for charge in report.unsettled:
        state = "OVERDUE" if charge.overdue else "awaiting settlement"
        due = f", due by {charge.due_by:%d %b %Y}" if charge.due_by else ""
        say(f"  {state}: {charge.request_id} ({charge.donation_reference}, {charge.network}) "
            f"{money(charge.amount_pence)}{due}")
    say(f"totals: short {money(report.shortfall_pence)}, over {money(report.overpaid_pence)}, paid for nothing "
        f"we charged {money(report.unmatched_cash_pence)}, awaiting {money(report.awaiting_pence)}, overdue "
        f"{money(report.overdue_pence)}")
    if report.problem_lines or report.overdue_pence:
        raise typer.Exit(1)


giftaid_app = typer.Typer(help="Gift Aid claims to HMRC.", no_args_is_help=True)


SCHEDULE_FORMATS = (".ods", ".csv")  # the spreadsheet HMRC's Charities Online takes, and a preview


def _schedule_paths(output: Path, parts: int) -> list[Path]:
    """The file itself for one schedule; FILE-1.ods, FILE-2.ods… when HMRC's 1,000-row limit splits it."""
    if parts == 1:
        return [output]
    return [output.with_name(f"{output.stem}-{number}{output.suffix}") for number in range(1, parts + 1)]


@giftaid_app.command("schedule")
def giftaid_schedule(
    appeal: str = typer.Option(..., "--appeal", help="The appeal's slug."),
    output: Path = typer.Option(..., "--output", dir_okay=False,
                                help="Where to write the schedule: FILE.ods to upload to HMRC, FILE.csv to preview; "
                                     "numbered FILE-1.ods, FILE-2.ods… over 1,000 rows."),
    claim: bool = typer.Option(False, "--claim", help="Record these donations as claimed (default: preview)."),
) -> None:
    """HMRC's Charities Online schedule of unclaimed donations with a declaration; --claim records the claim."""
    kind = output.suffix.lower()
    if kind not in SCHEDULE_FORMATS:
        fail(f"--output {output}: name a .ods file (the schedule HMRC takes) or a .csv file (a preview)", code=2)
    if not output.parent.is_dir():
        fail(f"--output {output}: there is no folder {output.parent}", code=2)

    def run(running):
        try:
            return gift_aid_claims.gift_aid_schedule(running.uow, appeal, claim)
        except gift_aid_claims.GiftAidClaimRefused as error:
            fail(str(error), code=2)
    position = _run(run)
    money, schedule = appeal_money(appeal), position.schedule
    parts = schedule.parts()
    ids = [f"#{claim_id}" for claim_id in position.claim_ids]
    action = (f"claim{'s' if len(ids) > 1 else ''} {' and '.join(ids)} recorded" if ids
              else "preview, nothing recorded")
    for number, (part, path) in enumerate(zip(parts, _schedule_paths(output, len(parts)), strict=True), start=1):
        of = f", part {number} of {len(parts)}" if len(parts) > 1 else ""
        if kind == ".ods":
            write_schedule_ods(part, position.charity_name, f"{position.appeal_name}{of}", path)
        else:
            path.write_text(schedule_csv(part), encoding="utf-8")
        written = (f"wrote {count(len(part.rows), 'row')} ({count(len(part.references), 'donation')}, "
                   f"{money(part.donations_pence)}) to {path}")
        say(f"{written} (schedule {number} of {len(parts)}{f', claim {ids[number - 1]}' if ids else ''})"
            if len(parts) > 1 else f"{written}: Gift Aid claimable {money(schedule.gift_aid_pence)}; {action}")
    if len(parts) > 1:
        say(f"in all {count(len(schedule.rows), 'row')} ({count(len(schedule.references), 'donation')}, "
            f"{money(schedule.donations_pence)}): Gift Aid claimable {money(schedule.gift_aid_pence)}; {action}")
        say(f"  HMRC reads at most 1,000 rows from a schedule: make {len(parts)} claims on Charities Online, "
            "one for each file")
    if kind == ".csv":
        say("  the CSV is a preview: Charities Online takes the schedule as a spreadsheet (--output FILE.ods)")
    for unlisted in schedule.unlisted:
        problems = "; ".join(f"{field}: {reason}" for field, reason in unlisted.problems.items())
        say(f"  left out {unlisted.reference}, as HMRC would refuse its declaration ({problems}): "
            "ask the donor for a corrected declaration")
    if position.without_declaration:
        say(f"  {count(position.without_declaration, 'paid donation')} without a Gift Aid declaration "
            "(not claimable)")
    if position.cancelled:
        say(f"  {count(position.cancelled, 'paid donation')} made after the donor cancelled their Gift Aid "
            "declaration (not claimed)")
    say(f"  claimed so far: {count(position.claims, 'claim')}, {money(position.claimed_gift_aid_pence)} of Gift Aid "
        f"on {money(position.claimed_donations_pence)} of donations")



@giftaid_app.command("cancel")
def giftaid_cancel(reference: str = typer.Argument(..., help="The receipt reference of the donation the "
                                                              "declaration was made with.")) -> None:
    """Record that the donor cancelled their Gift Aid declaration, dated today: later gifts are not claimed."""
    cancelled = run_refusing(lambda running: gift_aid_claims.cancel_gift_aid(
        running.uow, reference.strip().upper(), f"cli:{getpass.getuser()}"), (gift_aid_claims.GiftAidCancelRefused,))
    assert cancelled.cancelled_at is not None
    say(f"Gift Aid declaration made with {cancelled.donation_reference} cancelled on "
        f"{cancelled.cancelled_at:%d %b %Y}: gifts from then on are not claimed")
