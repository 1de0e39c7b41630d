"""Refuse to serve anyone but this machine on development or weak secrets, or with the aggregator's
callbacks open to every address unless the operator says so.

Every default secret is in the public source: with it anyone can post aggregator callbacks, forge Stripe
events or mint Gift Aid links. So whenever the platform can be reached from elsewhere (a public URL that is
not a loopback address, or a server bound to an address that is not loopback), `demo`, `serve`, `worker` and
the ASGI factory check the secrets below and refuse to start, naming each variable to set. (The ASGI factory
cannot see the address its server binds: entrypoints/web/asgi.py refuses requests from elsewhere instead.)
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

import structlog

from everypenny.config import Settings
from everypenny.domain.guessing import guessability

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Secret:
    setting: str  # the Settings field; its variable is EVERYPENNY_ + the name in capitals
    minimum_length: int = 32

    @property
    def minimum_guesses_log10(self) -> float:
        """A random value of the minimum length takes 10^length guesses or more by zxcvbn's count (32 random
        hex digits: at least 10^28 in 300 draws); half that refuses the repeats, sequences, words and padded
        defaults people type (40 x "a": 10^2.7) without refusing any random value."""
        return self.minimum_length / 2


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


# Where Fonix's callbacks come from, as lindar-open/fonix-client lists them for charge reports: a deployment
# names them (or others Fonix confirms) in EVERYPENNY_AGGREGATOR_CALLBACK_IPS, or writes ANY_ADDRESS on purpose.
FONIX_CALLBACK_ADDRESSES = ("54.194.146.155", "54.194.13.190")
ANY_ADDRESS = "any"


class UnsafeSettings(RuntimeError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("refusing to serve other machines with development or weak secrets:\n"
                         + "\n".join(f"  {problem}" for problem in problems))
        self.problems = problems


def variable(setting: str) -> str:
    return f"EVERYPENNY_{setting.upper()}"


def is_loopback_host(host: str) -> bool:
    """Whether only this machine reaches `host`: 127.0.0.0/8, ::1 or localhost. An empty host, 0.0.0.0 and
    :: are every interface, and any other name may resolve to one other machines reach."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    return is_loopback_host(urlsplit(url).hostname or "")


def secret_problems(settings: Settings) -> list[str]:
    """One line per secret that is unset, its development default, shorter than its minimum or easy to guess;
    surrounding spaces do not count."""
    problems = []
    for secret in PRODUCTION_SECRETS:
        name = variable(secret.setting)
        value = getattr(settings, secret.setting).strip()
        if not value:
            problems.append(f"{name} is not set")
        elif value == Settings.model_fields[secret.setting].default:
            problems.append(f"{name} is the development default")
        elif len(value) < secret.minimum_length:
            problems.append(f"{name} is shorter than {secret.minimum_length} characters")
        elif guessability(value).guesses_log10 < secret.minimum_guesses_log10:
            problems.append(f"{name} is easy to guess (repeats, a sequence or words): use a long random value, "
                            "e.g. from `python -c 'import secrets; print(secrets.token_urlsafe(32))'`")
    return problems


def require_production_secrets(settings: Settings, bind_host: str | None = None) -> list[str]:
    """Raises UnsafeSettings when other machines could reach a platform running on development or weak secrets:
    its public URL is not loopback, or it serves on `bind_host` (None: a process that serves nothing) and that
    is not loopback. Otherwise returns the problems a process that only this machine reaches may run with."""
    problems = secret_problems(settings) + callback_address_problems(settings)
    reachable = not is_loopback_url(settings.public_url) or (bind_host is not None and not is_loopback_host(bind_host))
    if problems and reachable:
        raise UnsafeSettings(problems)
    if reachable and settings.aggregator_callback_ips.strip().lower() == ANY_ADDRESS:
        log.warning("aggregator callbacks are taken from any address (EVERYPENNY_AGGREGATOR_CALLBACK_IPS=any): "
                    "only the secret token in their URL keeps strangers out", fonix_publishes=FONIX_CALLBACK_ADDRESSES)
    return problems


def callback_address_problems(settings: Settings) -> list[str]:
    """Fonix signs no callback: a public deployment names the addresses they may come from, or says `any`."""
    if settings.aggregator_callback_ips.strip():
        return []
    return [f"{variable('aggregator_callback_ips')} is empty: list the addresses the aggregator's callbacks come "
            f"from (Fonix publishes {' and '.join(FONIX_CALLBACK_ADDRESSES)}; confirm the current ones with Fonix), "
            f"or write `{ANY_ADDRESS}` to take them from every address"]

