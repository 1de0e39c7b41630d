"""Finance's money actions on the desk: refund a card donation, record a settlement, prepare the Gift Aid claim.

Each calls the same service-layer use case as its CLI command (`everypenny online refund`, `everypenny
settlement record`, `everypenny giftaid schedule`), so the rules and their refusals are the CLI's. Each asks
for confirmation first: a form posts without `confirmed`, the desk shows what will happen, and only the
confirmation's post acts. Only roles with the manage-money permission (finance, admin) reach these routes.
"""

from __future__ import annotations

import io

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from everypenny.adapters.hmrc_schedule import write_schedule_ods
from everypenny.bootstrap import Platform
from everypenny.domain.appeal import Channel
from everypenny.domain.gift_aid_claims import schedule_csv
from everypenny.domain.money import AmountNotUnderstood, format_pence, parse_pounds, pounds_and_pence
from everypenny.domain.payouts import MoneyOutRefused
from everypenny.domain.users import Permission
from everypenny.entrypoints.web.admin.appeals import reconciliation_page
from everypenny.entrypoints.web.admin.pages import page
from everypenny.entrypoints.web.admin.security import allowed, now
from everypenny.entrypoints.web.dependencies import PlatformDep
from everypenny.service_layer import desk, gift_aid_claims, money_out
from everypenny.service_layer.appeals import UnknownAppeal
from everypenny.service_layer.charge_corrections import CorrectionRefused, resolve_contradiction
from everypenny.service_layer.desk_ports import DeskSession
from everypenny.service_layer.online_donations import DonationNotFound, RefundRefused, refundable, request_refund
from everypenny.service_layer.online_ports import PaymentUnavailable
from everypenny.service_layer.text_giving import TextRefundRefused, refund_text_gift

CONFIRMED = "yes"
SETTLEMENT_CHANNELS = {Channel.CARRIER_SMS: "Carrier SMS (the aggregator's statement)",
                       Channel.TEXT_TO_LINK: "Text-to-link (card payments through Stripe)",
                       Channel.ONLINE: "Online (card payments through Stripe)"}

money_permission = allowed(Permission.MANAGE_MONEY)
router = APIRouter()


def _claims_named(claim_ids: tuple[int, ...]) -> str:
    return ("claims " if len(claim_ids) > 1 else "claim ") + " and ".join(f"#{claim_id}" for claim_id in claim_ids)


def confirm(request: Request, title: str, facts: list[tuple[str, str]], action: str, fields: dict[str, str],
            button: str, back: str, warning: str) -> HTMLResponse:
    return page(request, "confirm.html", title=title, facts=facts, action=action, fields=fields, button=button,
                back=back, warning=warning)


# --- refunds to the card that paid ---------------------------------------------------------------------

def refund_page(request: Request, platform: Platform, reference: str, status_code: int, error: str | None = None,
                notice: str | None = None, amount: str = "") -> HTMLResponse:
    history = desk.donation_history(platform.uow(), reference)
    if history is None:
        raise HTTPException(404, f"no donation has the reference {reference!r}")
    return page(request, "donation.html", status_code, history=history, refund_error=error, refund_notice=notice,
                refund_amount=amount)


@router.post("/donations/{reference}/refund", response_class=HTMLResponse)
def refund(request: Request, reference: str, platform: PlatformDep, amount: str = Form(""),
           confirmed: str = Form(""), session: DeskSession = Depends(money_permission)) -> HTMLResponse:
    reference = reference.upper()
    try:
        pence = parse_pounds(amount) if amount.strip() else None
        due = refundable(platform.uow, reference, pence)
    except DonationNotFound:
        raise HTTPException(404, f"no donation has the reference {reference}") from None
    except (AmountNotUnderstood, RefundRefused) as refused:
        return refund_page(request, platform, reference, 400, error=str(refused), amount=amount)
    donation, amount_pence = due.donation, due.amount_pence
    money = format_pence(amount_pence, donation.currency)
    if confirmed != CONFIRMED:
        return confirm(request, f"Refund {money} of {reference}?",
                       [("Donation", reference), ("Refund to the card that paid", money),
                        ("Kept after the refund", format_pence(donation.net_pence - amount_pence,
                                                               donation.currency))],
                       f"/admin/donations/{reference}/refund", {"amount": pounds_and_pence(amount_pence)},
                       f"Refund {money}", f"/admin/donations/{reference}",
                       "Stripe gives the money back to the donor's card; a refund cannot be undone.")
    try:
        requested = request_refund(platform.uow, platform.payment_gateway(), reference, amount_pence)
    except RefundRefused as refused:
        return refund_page(request, platform, reference, 400, error=str(refused))
    except PaymentUnavailable as error:
        return refund_page(request, platform, reference, 502, error=f"Stripe refused or could not be reached: {error}")
    return refund_page(request, platform, reference, 200, notice=(
        f"refund {requested.refund_id} of {format_pence(requested.amount_pence, requested.currency)} "
        f"requested for {reference}; the ledger records it when Stripe confirms"))


# --- refunds to the phone bill that paid ---------------------------------------------------------------

@router.post("/donations/{reference}/phone-refund", response_class=HTMLResponse)
def phone_refund(request: Request, reference: str, platform: PlatformDep, confirmed: str = Form(""),
                 session: DeskSession = Depends(money_permission)) -> HTMLResponse:
    """A text gift's charges given back through the aggregator, as `everypenny sms refund` does: all of
    them (a network refunds whole charges), after a confirmation."""
    reference = reference.upper()
    history = desk.donation_history(platform.uow(), reference)
    if history is None:
        raise HTTPException(404, f"no donation has the reference {reference}")
    donation = history.donation
    if confirmed != CONFIRMED:
        return confirm(request, f"Refund {format_pence(donation.net_pence, donation.currency)} of {reference} "
                                "to the donor's phone bill?",
                       [("Donation", reference), ("Refund to the phone bill",
                                                  format_pence(donation.net_pence, donation.currency))],
                       f"/admin/donations/{reference}/phone-refund", {},
                       "Refund to the phone bill", f"/admin/donations/{reference}",
                       "The aggregator asks the network to give every charged text of this gift back; a refund "
                       "cannot be undone.")
    try:
        given_back = refund_text_gift(platform.uow, platform.aggregator_gateway(), reference)
    except TextRefundRefused as refused:
        return refund_page(request, platform, reference, 400, error=str(refused))
    outcomes = "; ".join(given_back.outcomes())
    return refund_page(request, platform, reference, 502 if given_back.refused else 200,
                       **({"error": outcomes} if given_back.refused else {"notice": outcomes}))


# --- Gift Aid cancellations ------------------------------------------------------------------------------

@router.post("/donations/{reference}/gift-aid-cancel", response_class=HTMLResponse)
def gift_aid_cancel(request: Request, reference: str, platform: PlatformDep, confirmed: str = Form(""),
                    session: DeskSession = Depends(money_permission)) -> HTMLResponse:
    """The donor's cancellation of their declaration, recorded as `everypenny giftaid cancel` does."""
    reference = reference.upper()
    if desk.donation_history(platform.uow(), reference) is None:
        raise HTTPException(404, f"no donation has the reference {reference}")
    if confirmed != CONFIRMED:
        return confirm(request, f"Cancel the Gift Aid declaration made with {reference}?",
                       [("Donation", reference), ("Cancelled on", f"{now():%d %b %Y}")],
                       f"/admin/donations/{reference}/gift-aid-cancel", {}, "Cancel the declaration",
                       f"/admin/donations/{reference}",
                       "Record this only when the donor asked. Gifts received from today are not claimed.")
    try:
        cancelled = gift_aid_claims.cancel_gift_aid(platform.uow, reference, f"desk:{session.user.email}")
    except gift_aid_claims.GiftAidCancelRefused as refused:
        return refund_page(request, platform, reference, 400, error=str(refused))
    return refund_page(request, platform, reference, 200, notice=(
        f"Gift Aid declaration cancelled on {cancelled.cancelled_at:%d %b %Y}: gifts from then on are not claimed"))


# --- settlements ---------------------------------------------------------------------------------------

def settlement_page(request: Request, platform: Platform, slug: str, status_code: int = 200,
                    error: str | None = None, notice: str | None = None,
                    form: dict[str, str] | None = None) -> HTMLResponse:
    return page(request, "settlement.html", status_code, appeal=desk.appeal(platform.uow(), slug),
                channels=SETTLEMENT_CHANNELS, error=error, notice=notice,
                form=form or {"channel": "", "gross": "", "fee": "", "reference": ""})


@router.get("/appeals/{slug}/settlements/new", response_class=HTMLResponse)
def settlement_form(request: Request, slug: str, platform: PlatformDep,
                    session: DeskSession = Depends(money_permission)):
    return settlement_page(request, platform, slug)


@router.post("/appeals/{slug}/settlements", response_class=HTMLResponse)
def record_settlement(request: Request, slug: str, platform: PlatformDep, channel: str = Form(""),
                      gross: str = Form(""), fee: str = Form(""), reference: str = Form(""),
                      confirmed: str = Form(""), session: DeskSession = Depends(money_permission)) -> HTMLResponse:
    form = {"channel": channel, "gross": gross, "fee": fee, "reference": reference}
    appeal = desk.appeal(platform.uow(), slug)
    try:
        chosen = Channel(channel)
    except ValueError:
        return settlement_page(request, platform, slug, 400, error="choose which channel's charges the cash settles",
                               form=form)
    try:
        gross_pence, fee_pence = parse_pounds(gross), parse_pounds(fee) if fee.strip() else 0
    except AmountNotUnderstood as error:
        return settlement_page(request, platform, slug, 400, error=str(error), form=form)
    money = lambda pence: format_pence(pence, appeal.currency)  # noqa: E731
    if confirmed != CONFIRMED:
        return confirm(request, f"Record settlement {reference.strip()} of {money(gross_pence)}?",
                       [("Appeal", appeal.name), ("Channel", SETTLEMENT_CHANNELS[chosen]),
                        ("Gross settled", money(gross_pence)), ("Fee withheld", money(fee_pence)),
                        ("Cash received", money(gross_pence - fee_pence)), ("Reference", reference.strip())],
                       f"/admin/appeals/{slug}/settlements", form, "Record the settlement",
                       f"/admin/appeals/{slug}/settlements/new",
                       "This posts the cash to the ledger, which cannot be edited afterwards. Check the figures "
                       "against the bank statement.")
    try:
        result = money_out.record_settlement(platform.uow(), slug, chosen, gross_pence, reference.strip(),
                                             fee_pence)
    except (MoneyOutRefused, UnknownAppeal) as error:
        return settlement_page(request, platform, slug, 400, error=str(error).strip('"'), form=form)
    status = "already recorded" if result.already_recorded else "recorded"
    withheld = f", fee {money(result.fee_pence)} recoverable from the fee bearer" if result.fee_pence else ""
    return settlement_page(request, platform, slug, notice=f"settlement {reference.strip()} {status}: "
                                                           f"{money(result.gross_pence)} gross{withheld}")


# --- Gift Aid claims -------------------------------------------------------------------------------------

def position(platform: Platform, slug: str) -> gift_aid_claims.ClaimPosition:
    return gift_aid_claims.gift_aid_schedule(platform.uow, slug)


def gift_aid_page(request: Request, platform: Platform, slug: str, status_code: int = 200, error: str | None = None,
                  notice: str | None = None) -> HTMLResponse:
    return page(request, "gift_aid.html", status_code, appeal=desk.appeal(platform.uow(), slug),
                position=position(platform, slug), error=error, notice=notice)


@router.get("/appeals/{slug}/gift-aid", response_class=HTMLResponse)
def gift_aid(request: Request, slug: str, platform: PlatformDep,
             session: DeskSession = Depends(money_permission)) -> HTMLResponse:
    return gift_aid_page(request, platform, slug)


@router.get("/appeals/{slug}/gift-aid/schedule-{number}.ods")
def gift_aid_schedule_ods(slug: str, number: int, platform: PlatformDep,
                          session: DeskSession = Depends(money_permission)) -> Response:
    """Part `number` of the schedule as the spreadsheet Charities Online takes (HMRC reads at most 1,000
    rows from one); downloading records nothing."""
    claim = position(platform, slug)
    parts = claim.schedule.parts()
    if not 1 <= number <= len(parts):
        raise HTTPException(404, f"the schedule has {len(parts)} part{'' if len(parts) == 1 else 's'}, "
                                 f"not a part {number}")
    of = f", part {number} of {len(parts)}" if len(parts) > 1 else ""
    spreadsheet = io.BytesIO()
    write_schedule_ods(parts[number - 1], claim.charity_name, f"{claim.appeal_name}{of}", spreadsheet)
    filename = f"{slug}-gift-aid-schedule-{now():%Y%m%d-%H%M%S}-{number}-of-{len(parts)}.ods"
    return Response(spreadsheet.getvalue(), media_type="application/vnd.oasis.opendocument.spreadsheet",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/appeals/{slug}/gift-aid/schedule.csv")
def gift_aid_schedule(slug: str, platform: PlatformDep,
                      session: DeskSession = Depends(money_permission)) -> Response:
    """The schedule as `everypenny giftaid schedule` writes it (a preview: nothing is recorded)."""
    filename = f"{slug}-gift-aid-schedule-{now():%Y%m%d-%H%M%S}.csv"
    return Response(schedule_csv(position(platform, slug).schedule), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.post("/appeals/{slug}/gift-aid/claim", response_class=HTMLResponse)
def record_claim(request: Request, slug: str, platform: PlatformDep, gift_aid_pence: str = Form(""),
                 confirmed: str = Form(""), session: DeskSession = Depends(money_permission)) -> HTMLResponse:
    """Records the schedule finance downloaded as claimed, once they have submitted it to HMRC; refused if
    the schedule has changed since (donations came in), so what is recorded is what HMRC received."""
    appeal, now_due = desk.appeal(platform.uow(), slug), position(platform, slug).schedule
    money = lambda pence: format_pence(pence, appeal.currency)  # noqa: E731
    if gift_aid_pence != str(now_due.gift_aid_pence):
        return gift_aid_page(request, platform, slug, 409, error=(
            "The schedule has changed since you downloaded it: download it again, submit that one to HMRC, "
            "then record the claim. Nothing was recorded."))
    if confirmed != CONFIRMED:
        return confirm(request, f"Record a Gift Aid claim of {money(now_due.gift_aid_pence)}?",
                       [("Appeal", appeal.name), ("Donations", f"{len(now_due.references):,}"),
                        ("Given", money(now_due.donations_pence)),
                        ("Gift Aid claimed", money(now_due.gift_aid_pence))],
                       f"/admin/appeals/{slug}/gift-aid/claim", {"gift_aid_pence": gift_aid_pence},
                       "Record the claim", f"/admin/appeals/{slug}/gift-aid",
                       "Record the claim only once you have submitted this schedule to HMRC: recorded "
                       "donations never appear on a schedule again.")
    try:
        recorded = gift_aid_claims.gift_aid_schedule(platform.uow, slug, claim=True)
    except gift_aid_claims.GiftAidClaimRefused as error:
        return gift_aid_page(request, platform, slug, 409, error=str(error))
    count = len(recorded.schedule.references)
    return gift_aid_page(request, platform, slug, notice=(
        f"{_claims_named(recorded.claim_ids)} recorded: {money(recorded.schedule.gift_aid_pence)} of Gift Aid on "
        f"{money(recorded.schedule.donations_pence)} from {count:,} donation{'' if count == 1 else 's'}"))


# --- charges whose reports contradict each other ------------------------------------------------------------

@router.post("/appeals/{slug}/contradictions/{request_id}", response_class=HTMLResponse,
             responses={303: {"description": "resolved: back to reconciliation, which says so"},
                        400: {"description": "not resolved: the page says why"}})
def resolve_charge(request: Request, slug: str, request_id: str, platform: PlatformDep,
                   charged: str = Form(...), session: DeskSession = Depends(money_permission)) -> Response:
    """Finance records what the network really did with a contradicted charge (`everypenny sms resolve`): one
    correcting transfer if the books differ, none if they agree; who did it is kept on the charge."""
    if charged not in ("yes", "no"):
        return reconciliation_page(request, platform, slug, 400, resolve_error="say whether the network charged it")
    try:
        resolve_contradiction(platform.uow, request_id, charged == "yes", f"desk:{session.user.email}")
    except CorrectionRefused as refused:
        return reconciliation_page(request, platform, slug, 400, resolve_error=str(refused))
    return RedirectResponse(f"/admin/appeals/{slug}/reconciliation?resolved={request_id}", status_code=303)
