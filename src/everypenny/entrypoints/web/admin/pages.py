"""How the desk's pages are rendered: one set of templates and filters, with the caller's session in each page."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from everypenny.domain.appeal import UK_TIME
from everypenny.domain.money import format_pence
from everypenny.domain.privacy import mask_email, mask_phone
from everypenny.domain.users import Permission
from everypenny.entrypoints.web.admin.security import CSRF_FIELD
from everypenny.service_layer import desk, settlement

HERE = Path(__file__).parent
STATIC_PATH = "/static/desk"
EXPORT_NAMES = {"donations": "Donations", "charges": "Charges (phone bills and cards)", "transfers": "Ledger transfers",
                "consents": "Consent list (opted in)"}
POLL_SECONDS = 3


def uk_time(moment: datetime | None) -> str:
    """A moment as the charity's staff read it: UK wall-clock time, with GMT or BST named."""
    return moment.astimezone(UK_TIME).strftime("%d %b %Y %H:%M:%S %Z") if moment else ""


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters["money"] = format_pence
    templates.env.filters["phone"] = mask_phone
    templates.env.filters["email"] = mask_email
    templates.env.filters["when"] = uk_time
    templates.env.globals.update(searchable=desk.SEARCHABLE, card_channels=settlement.CARD_CHANNELS)
    templates.env.globals.update(channel_names=desk.CHANNEL_NAMES, static=STATIC_PATH, csrf_field=CSRF_FIELD,
                                 Permission=Permission, export_names=EXPORT_NAMES, poll_seconds=POLL_SECONDS)
    return templates


TEMPLATES = _templates()


def page(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
    session = getattr(request.state, "desk_session", None)
    return TEMPLATES.TemplateResponse(request, name, {"session": session, **context}, status_code=status_code)


def error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    return page(request, "error.html", status_code, status=status_code, message=message)
