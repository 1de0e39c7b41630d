"""Refuse to serve the internet on development secrets.

Every default secret is in the public source: with it anyone can post aggregator callbacks, forge Stripe
events or mint Gift Aid links. So `serve`, `worker` and the ASGI factory check the secrets below whenever
the public URL is not a loopback address, and refuse to start, naming each variable to set.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from everypenny.config import Settings


@dataclass(frozen=True)
class Secret:
    setting: str  # the Settings field; its variable is EVERYPENNY_ + the name in capitals
    minimum_length: int = 32


# The one list of secrets a public deployment must set: add a new secret here and every entrypoint checks it.
PRODUCTION_SECRETS: tuple[Secret, ...] = (
    Secret("secret_key"),
    Secret("aggregator_api_key", minimum_length=16),  # issued by the aggregator: its length is theirs
    Secret("aggregator_callback_token"),
    Secret("twilio_auth_token"),  # Twilio's auth tokens are 32 hex characters
    Secret("stripe_api_key"),
    Secret("stripe_webhook_secret"),
    Secret("metrics_token"),
)


class UnsafeSettings(RuntimeError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("refusing to serve a public URL with development or weak secrets:\n"
                         + "\n".join(f"  {problem}" for problem in problems))
        self.problems = problems


def variable(setting: str) -> str:
    return f"EVERYPENNY_{setting.upper()}"


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def secret_problems(settings: Settings) -> list[str]:
    """One line per secret that is still its development default, or shorter than its minimum."""
    problems = []
    for secret in PRODUCTION_SECRETS:
        value = getattr(settings, secret.setting)
        if not value:
            problems.append(f"{variable(secret.setting)} is not set")
        elif value == Settings.model_fields[secret.setting].default:
            problems.append(f"{variable(secret.setting)} is the development default")
        elif len(value) < secret.minimum_length:
            problems.append(f"{variable(secret.setting)} is shorter than {secret.minimum_length} characters")
    return problems


def require_production_secrets(settings: Settings) -> None:
    """Raises UnsafeSettings when a public deployment would run on development or weak secrets."""
    if is_loopback_url(settings.public_url):
        return
    problems = secret_problems(settings)
    if problems:
        raise UnsafeSettings(problems)
