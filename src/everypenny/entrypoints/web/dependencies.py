"""What a route takes from the app it runs in, as FastAPI dependencies. Routes live at module level (as
pypi/warehouse's views do) and get the platform that create_app keeps in app.state: each app, a test's
included, serves its own."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from everypenny.bootstrap import Platform


async def current_platform(request: Request) -> Platform:
    # async: resolved on the event loop, not handed to the thread pool as a plain function would be.
    return request.app.state.platform


PlatformDep = Annotated[Platform, Depends(current_platform)]
