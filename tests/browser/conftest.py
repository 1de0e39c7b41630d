"""Browser tests: the real app served on a loopback port, driven by Playwright in Debian's Chromium."""

from __future__ import annotations

import shutil

import pytest

from everypenny.entrypoints.web.app import create_app
from everypenny.simulators.server import BackgroundServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def live_server(platform):
    """The app's base URL; the tests' `platform` is what it serves."""
    with BackgroundServer(create_app(platform), name="app") as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()
