"""The HTTP face of everypenny: thin routes that call the service layer, put together into one app."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.middleware.gzip import GZipMiddleware

from everypenny.bootstrap import Platform
from everypenny.domain.appeal import AppealStatus
from everypenny.entrypoints.web import online, transparency
from everypenny.entrypoints.web.admin import STATIC_PATH, desk_app, static_files
from everypenny.entrypoints.web.contract import UNKNOWN_APPEAL, published_openapi
from everypenny.entrypoints.web.dependencies import PlatformDep
from everypenny.entrypoints.web.edge import BodySizeLimit, EdgeApp
from everypenny.entrypoints.web.errors import answer_refusals, answer_with_problem
from everypenny.entrypoints.web.metrics import RequestMetrics, metrics_router
from everypenny.entrypoints.web.sms_webhooks import AggregatorCallbackPath, AggregatorCallbacks, sms_webhooks
from everypenny.entrypoints.web.totaliser import PublicTotalsHeaders, widget_router
from everypenny.logs import redact_access_log
from everypenny.service_layer import broadcast, views


class PartnerTotals(BaseModel):
    slug: str = Field(description="the media partner's slug, as in /donate/{appeal}/{partner}")
    name: str
    raised_pence: int = Field(description="gifts answering this partner's call to action, paid less refunded")
    donors: int = Field(description="those gifts that paid anything")


class Totals(BaseModel):
    slug: str
    status: AppealStatus = Field(description="draft, live or closed: a totaliser shows when giving has ended")
    currency: str
    raised_pence: int
    pending_pence: int
    donation_count: int
    by_channel: dict[str, int]
    pending_by_channel: dict[str, int]
    partners: list[PartnerTotals] = Field(description=(
        "each media partner's part (an appeal without [[partners]] has one: its media partner); gifts made on "
        "the appeal's own page belong to no partner"))


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str = Field(description="ready or not ready")
    reason: str = Field(default="", description="why a node is not ready")


router = APIRouter()


@router.get("/healthz", tags=["operations"])
def healthz(platform: PlatformDep) -> Health:
    """Liveness: the process answers and its store answers a query."""
    views.check_store(platform.uow())
    return Health(status="ok")


@router.get("/readyz", tags=["operations"], response_model=Readiness, responses={
    503: {"model": Readiness, "description": "not ready: the database is unreachable or the outbox lags"}})
def readyz(platform: PlatformDep) -> JSONResponse:
    """Readiness for a load balancer: 503 with the reason when the database does not answer or the workers
    lag more than EVERYPENNY_READY_MAX_OUTBOX_LAG_S behind, so callbacks go to a node that can store them."""
    limit = platform.settings.ready_max_outbox_lag_s
    try:
        lag = views.outbox_lag_s(platform.uow(), datetime.now(UTC))
    except SQLAlchemyError as error:
        return _not_ready(f"database unreachable ({type(error).__name__})")
    if lag > limit:
        return _not_ready(f"outbox lag {lag:.0f} s is over {limit:g} s")
    return JSONResponse(Readiness(status="ready").model_dump())


def _not_ready(reason: str) -> JSONResponse:
    return JSONResponse(Readiness(status="not ready", reason=reason).model_dump(), status_code=503)


@router.get("/api/v1/appeals/{slug}/totals", tags=["appeals"], responses=UNKNOWN_APPEAL)
def totals(slug: str, platform: PlatformDep) -> Totals:
    """Posted money only: a text whose charge is not yet confirmed is pending, not raised."""
    figures, partners = views.appeal_figures_by_partner(platform.uow(), slug)
    return Totals(slug=slug, status=figures.appeal.status, **figures.totals.__dict__,
                  partners=[PartnerTotals(**partner.__dict__) for partner in partners])


class Marker(BaseModel):
    label: str = Field(description="what went on air, e.g. \"BBC One appeal film\"")
    at: datetime = Field(description="when, in UTC")


@router.get("/api/v1/appeals/{slug}/markers", tags=["appeals"], responses=UNKNOWN_APPEAL)
def markers(slug: str, platform: PlatformDep) -> list[Marker]:
    """The moments the appeal went on air, oldest first: for charts and Grafana annotations. Public, like
    the totals: what was broadcast and when, nothing about anyone."""
    return [Marker(label=marker.label, at=marker.at) for marker in broadcast.markers(platform.uow(), slug)]


def create_app(platform: Platform) -> FastAPI:
    app = EdgeApp(
        platform.settings,  # its security headers and request limits wrap everything, the 500 page included
        title="everypenny",
        summary="Runs a charity appeal end to end: text-to-donate, online giving and a provable ledger.",
        version="0.1.0",
        docs_url="/docs" if platform.settings.api_docs else None, redoc_url=None,
    )
    app.state.platform = platform
    redact_access_log()  # callback tokens and donors' link keys stay out of the access log
    answer_refusals(app, answer_with_problem)
    callbacks = AggregatorCallbacks(platform)
    app.include_router(sms_webhooks(platform, callbacks))
    app.include_router(router)
    online.install(app)
    app.add_middleware(PublicTotalsHeaders, settings=platform.settings)
    app.include_router(widget_router(platform))
    app.mount("/admin", desk_app(platform))
    app.mount(STATIC_PATH, static_files())
    app.include_router(transparency.router(platform))
    app.include_router(metrics_router(platform))
    app.openapi = lambda: published_openapi(app, (online.DonationIn,))  # type: ignore[method-assign]  # FastAPI's way
    # Inside the security headers and body limit, so ETags are of the uncompressed body and a 304 stays empty.
    app.add_middleware(GZipMiddleware, minimum_size=500)
    app.add_middleware(BodySizeLimit, settings=platform.settings)
    app.add_middleware(RequestMetrics)  # every request but the callbacks' fast path, which counts its own
    # In front of all of it, the aggregator's callbacks (a TV spike's thousands a second) take a lean path
    # that gives the same answers with the same headers.
    app.add_middleware(AggregatorCallbackPath, callbacks=callbacks)
    return app
