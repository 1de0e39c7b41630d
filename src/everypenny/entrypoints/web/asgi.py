"""The app for process managers: `uvicorn --factory --workers N everypenny.entrypoints.web.asgi:app`.

Each worker process builds its own platform (engine and pool) from EVERYPENNY_* settings, so app nodes stay
stateless and any number of them can sit behind a load balancer; outbox workers run apart
(`everypenny worker`).
"""

from __future__ import annotations

from fastapi import FastAPI

from everypenny import bootstrap
from everypenny.config import get_settings
from everypenny.entrypoints.web.app import create_app
from everypenny.production import require_production_secrets


def app() -> FastAPI:
    """Refuses (UnsafeSettings) to serve a public URL on development secrets."""
    settings = get_settings()
    require_production_secrets(settings)
    return create_app(bootstrap.build(settings))
