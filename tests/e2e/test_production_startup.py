"""A deployment other machines can reach refuses to start on the development secrets published in the source,
or on secrets anyone could guess."""

from __future__ import annotations

import re
import secrets
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from structlog.testing import capture_logs
from typer.testing import CliRunner

from everypenny.config import Settings
from everypenny.domain.guessing import guessability
from everypenny.entrypoints.cli import app
from everypenny.entrypoints.web import asgi
from everypenny.entrypoints.web.sms_webhooks import callback_networks
from everypenny.production import (
    FONIX_CALLBACK_ADDRESSES,
    PRODUCTION_SECRETS,
    UnsafeSettings,
    require_production_secrets,
    variable,
)

PUBLIC = "https://donate.example.org"
STRONG = {secret.setting: secrets.token_urlsafe(32) for secret in PRODUCTION_SECRETS}
FONIX_ADDRESSES = {"aggregator_callback_ips": ",".join(FONIX_CALLBACK_ADDRESSES)}


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
    settings = Settings(public_url=PUBLIC, **{**STRONG, **FONIX_ADDRESSES, "secret_key": "short"})

    with pytest.raises(UnsafeSettings) as refused:
        require_production_secrets(settings)

    assert refused.value.problems == ["EVERYPENNY_SECRET_KEY is shorter than 32 characters"]


def test_strong_secrets_on_a_public_url_are_accepted():
    require_production_secrets(Settings(public_url=PUBLIC, **STRONG, **FONIX_ADDRESSES))


def test_a_public_deployment_refuses_callbacks_open_to_every_address_naming_fonixs_addresses():
    with pytest.raises(UnsafeSettings) as refused:
        require_production_secrets(Settings(public_url=PUBLIC, **STRONG))

    assert refused.value.problems == [
        "EVERYPENNY_AGGREGATOR_CALLBACK_IPS is empty: list the addresses the aggregator's callbacks come from "
        "(Fonix publishes 54.194.146.155 and 54.194.13.190; confirm the current ones with Fonix), or write `any` "
        "to take them from every address"]


def test_callbacks_from_any_address_on_purpose_start_with_a_warning_every_time():
    settings = Settings(public_url=PUBLIC, **STRONG, aggregator_callback_ips="any")

    for _ in range(2):
        with capture_logs() as logs:
            require_production_secrets(settings)
        assert [entry["log_level"] for entry in logs if "any address" in entry["event"]] == ["warning"]
    assert callback_networks("any") == callback_networks("") == ()


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"])
def test_development_defaults_are_fine_on_a_loopback_url(url):
    require_production_secrets(Settings(public_url=url))


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_development_defaults_are_fine_served_on_a_loopback_address(host):
    require_production_secrets(Settings(public_url="http://127.0.0.1:8000"), bind_host=host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.0.2.10", "donate-box"])
def test_serving_on_an_address_other_machines_reach_refuses_the_development_defaults(host):
    with pytest.raises(UnsafeSettings, match="EVERYPENNY_AGGREGATOR_CALLBACK_TOKEN is the development default"):
        require_production_secrets(Settings(public_url="http://127.0.0.1:8000"), bind_host=host)


def test_serve_on_every_interface_refuses_the_development_defaults_naming_each_variable(monkeypatch):
    monkeypatch.setenv("EVERYPENNY_PUBLIC_URL", "http://127.0.0.1:8000")

    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"])

    assert result.exit_code == 2
    for secret in PRODUCTION_SECRETS:
        assert variable(secret.setting) in result.output


@pytest.mark.parametrize(("url", "arguments"), [(PUBLIC, []), ("http://127.0.0.1:8000", ["--host", "0.0.0.0"])])
def test_the_demo_refuses_other_machines_on_the_development_defaults_before_starting_anything(
        monkeypatch, tmp_path, url, arguments):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **options: None)  # were it to start, it would stop at once
    database = tmp_path / "everypenny.db"
    monkeypatch.setenv("EVERYPENNY_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("EVERYPENNY_PUBLIC_URL", url)

    result = CliRunner().invoke(app, ["demo", *arguments])

    assert result.exit_code == 2
    assert "EVERYPENNY_STRIPE_WEBHOOK_SECRET is the development default" in result.output
    assert not database.exists()  # nothing migrated, loaded or served


@pytest.mark.parametrize("weak", ["a" * 40, "abcdefghijklmnopqrstuvwxyzabcdefghijkl", "changeme" * 5,
                                  "0123456789" * 4, "Password1!" * 4])
def test_a_long_secret_anyone_could_guess_is_refused_as_every_secret(weak):
    settings = Settings(public_url=PUBLIC, **{secret.setting: weak for secret in PRODUCTION_SECRETS},
                        **FONIX_ADDRESSES)

    with pytest.raises(UnsafeSettings) as refused:
        require_production_secrets(settings)

    assert refused.value.problems == [f"{variable(secret.setting)} is easy to guess (repeats, a sequence or words): "
                                      "use a long random value, e.g. from `python -c 'import secrets; "
                                      "print(secrets.token_urlsafe(32))'`" for secret in PRODUCTION_SECRETS]


def test_a_development_default_padded_with_spaces_is_still_the_development_default():
    padded = {secret.setting: Settings.model_fields[secret.setting].default + "   " for secret in PRODUCTION_SECRETS
              if Settings.model_fields[secret.setting].default}
    settings = Settings(public_url=PUBLIC, **{**STRONG, **FONIX_ADDRESSES, **padded})

    with pytest.raises(UnsafeSettings) as refused:
        require_production_secrets(settings)

    assert refused.value.problems == [f"{variable(name)} is the development default" for name in padded]


@pytest.mark.parametrize("draw", [lambda: secrets.token_hex(16), lambda: secrets.token_urlsafe(24),
                                  lambda: secrets.token_hex(8)], ids=["32 hex", "32 base64url", "16 hex"])
def test_random_secrets_of_the_minimum_length_are_never_called_guessable(draw):
    """Twilio's auth tokens are 32 hex digits; the aggregator's key may be 16 characters."""
    for _ in range(10):
        random_secret = draw()
        guesses_log10 = guessability(random_secret).guesses_log10
        for secret in PRODUCTION_SECRETS:
            if len(random_secret) >= secret.minimum_length:
                assert guesses_log10 >= secret.minimum_guesses_log10, (secret.setting, random_secret)


@pytest.fixture
def factory_database(monkeypatch, sqlite_template, tmp_path):
    shutil.copy(sqlite_template, tmp_path / "everypenny.db")
    monkeypatch.setenv("EVERYPENNY_DATABASE_URL", f"sqlite:///{tmp_path / 'everypenny.db'}")


@pytest.mark.usefixtures(factory_database.__name__)
def test_the_asgi_factory_on_development_secrets_serves_only_requests_to_a_loopback_address():
    """The factory cannot see whether its server was bound to every interface: the address a request arrived at
    (the ASGI scope's server) tells."""
    served = asgi.app()

    with TestClient(served, base_url="http://192.0.2.10:8000") as from_elsewhere, \
            TestClient(served, base_url="http://127.0.0.1:8000") as from_this_machine:
        refused = from_elsewhere.post("/webhooks/stripe", content=b"{}")
        assert refused.status_code == 503
        assert refused.text == "This server is not set up to serve other machines yet."
        assert from_this_machine.get("/healthz").status_code == 200


@pytest.mark.usefixtures(factory_database.__name__)
def test_the_asgi_factory_on_strong_secrets_serves_every_address(monkeypatch):
    for setting, value in {**STRONG, **FONIX_ADDRESSES}.items():
        monkeypatch.setenv(variable(setting), value)

    with TestClient(asgi.app(), base_url="http://192.0.2.10:8000") as from_elsewhere:
        assert from_elsewhere.get("/healthz").status_code == 200


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


def compose_settings() -> dict[str, str]:
    import yaml

    compose = yaml.safe_load((Path(__file__).resolve().parents[2] / "compose.yaml").read_text())
    return compose["x-everypenny"]["environment"]


@pytest.mark.parametrize("name", ["EVERYPENNY_PUBLIC_URL", "EVERYPENNY_SMTP_URL",
                                  *(variable(secret.setting) for secret in PRODUCTION_SECRETS)])
def test_compose_requires_the_public_url_and_every_secret_and_defaults_none(name):
    """Docker Compose refuses to start while a ${VAR:?message} variable is unset or empty."""
    assert re.fullmatch(rf"\$\{{{name}:\?set {name} [^}}]+\}}", compose_settings()[name])


def test_compose_passes_only_settings_the_app_reads():
    read = {variable(setting) for setting in Settings.model_fields}

    assert set(compose_settings()) - read == set()
