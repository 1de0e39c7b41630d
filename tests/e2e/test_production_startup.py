"""A public deployment refuses to start on the development secrets published in the source."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from everypenny.config import Settings
from everypenny.entrypoints.cli import app
from everypenny.entrypoints.web import asgi
from everypenny.production import PRODUCTION_SECRETS, UnsafeSettings, require_production_secrets, variable

PUBLIC = "https://donate.example.org"
STRONG = {secret.setting: "s3cret-" + "x" * 40 for secret in PRODUCTION_SECRETS}


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_refuse_a_public_url_on_default_secrets_naming_each_variable(monkeypatch, command):
    monkeypatch.setenv("EVERYPENNY_PUBLIC_URL", PUBLIC)

    result = CliRunner().invoke(app, [command])

    assert result.exit_code == 2
    for secret in PRODUCTION_SECRETS:
        assert variable(secret.setting) in result.output


def test_the_asgi_factory_refuses_a_public_url_on_default_secrets(monkeypatch):
    monkeypatch.setenv("EVERYPENNY_PUBLIC_URL", PUBLIC)

    with pytest.raises(UnsafeSettings, match="EVERYPENNY_STRIPE_WEBHOOK_SECRET is the development default"):
        asgi.app()


def test_a_short_secret_is_refused_and_only_the_weak_ones_are_named():
    settings = Settings(public_url=PUBLIC, **{**STRONG, "secret_key": "short"})

    with pytest.raises(UnsafeSettings) as refused:
        require_production_secrets(settings)

    assert refused.value.problems == ["EVERYPENNY_SECRET_KEY is shorter than 32 characters"]


def test_strong_secrets_on_a_public_url_are_accepted():
    require_production_secrets(Settings(public_url=PUBLIC, **STRONG))


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"])
def test_development_defaults_are_fine_on_a_loopback_url(url):
    require_production_secrets(Settings(public_url=url))


@pytest.mark.parametrize("trusted", ["", "10.0.0.0/8"])
def test_serve_leaves_forwarded_headers_to_the_app_whatever_proxies_it_trusts(
        monkeypatch, sqlite_template, tmp_path, trusted):
    import shutil

    import uvicorn

    shutil.copy(sqlite_template, tmp_path / "everypenny.db")
    monkeypatch.setenv("EVERYPENNY_DATABASE_URL", f"sqlite:///{tmp_path / 'everypenny.db'}")
    monkeypatch.setenv("EVERYPENNY_TRUSTED_PROXIES", trusted)
    ran_with = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: ran_with.update(options))

    result = CliRunner().invoke(app, ["serve"])

    assert result.exit_code == 0, result.output
    assert ran_with["proxy_headers"] is False  # edge.client_address reads X-Forwarded-For, trusted proxies' only
