"""The one mapping of the service layer's refusals to HTTP: which status each answers with, wherever a route
meets it. The API answers them as a Problem ({"detail": why}, or each field and why), the desk and the
donation pages as a page for people, with the same status."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from everypenny.domain.appeal_lifecycle import TransitionRefused
from everypenny.domain.broadcast import BadMarker
from everypenny.domain.going_live import NotReadyToGoLive
from everypenny.service_layer.appeals import UnknownAppeal
from everypenny.service_layer.desk import ExportRefused, StatusUnknown
from everypenny.service_layer.online_donations import (
    AppealNotTakingDonations,
    CheckoutUnavailable,
    DonationRefused,
    RateLimited,
)
from everypenny.service_layer.protection import GivingProtected

STATUS_OF_REFUSAL: dict[type[Exception], int] = {
    UnknownAppeal: 404,
    ExportRefused: 404,
    AppealNotTakingDonations: 409,
    StatusUnknown: 409,
    TransitionRefused: 409,
    NotReadyToGoLive: 409,
    DonationRefused: 422,
    GivingProtected: 403,
    BadMarker: 422,
    RateLimited: 429,
    CheckoutUnavailable: 503,
}
REFUSALS = tuple(STATUS_OF_REFUSAL)


def status_of(refusal: Exception) -> int:
    return next(status for kind, status in STATUS_OF_REFUSAL.items() if isinstance(refusal, kind))


def refusal_headers(refusal: Exception) -> dict[str, str]:
    """Retry-After when a limit was met, so a client knows when to try again."""
    return {"Retry-After": str(refusal.retry_after_s)} if isinstance(refusal, RateLimited) else {}


def field_problems(problems: dict[str, str]) -> JSONResponse:
    """422 with each field that is wrong, and why: a partner's form can show every problem at once."""
    return JSONResponse({"detail": [{"field": field, "reason": reason} for field, reason in problems.items()]},
                        status_code=422)


def problem_response(refusal: Exception) -> JSONResponse:
    """The API's answer to a refusal."""
    if isinstance(refusal, DonationRefused):
        return field_problems(refusal.problems)
    return JSONResponse({"detail": str(refusal)}, status_code=status_of(refusal), headers=refusal_headers(refusal))


def answer_refusals(app: FastAPI, answer: Callable[[Request, Exception], Awaitable[Response]]) -> None:
    """Every refusal that reaches `app` unhandled is answered by `answer`, with its status from the mapping."""
    for kind in REFUSALS:
        app.add_exception_handler(kind, answer)


async def answer_with_problem(_request: Request, refusal: Exception) -> JSONResponse:
    return problem_response(refusal)
