"""Settings come from EVERYPENNY_* environment variables, so one build runs anywhere."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic_settings import BaseSettings, SettingsConfigDict

# The Stripe API version every call we make names (the Stripe-Version header) and the version our webhook
# endpoint must be created with: the shapes of the objects we read are this version's. It is the version
# stripe-python 12.5, our oldest supported library, was generated for, and the first with the `prevented`
# dispute status (docs.stripe.com/changelog/basil/2025-08-27/add-preventions-to-dispute). Moving it is a
# code change: read Stripe's changelog for the objects in docs/going-live-stripe.md first.
STRIPE_API_VERSION = "2025-08-27.basil"


# Fonix's refund host, as JakubOboza/fonix client/client.go names it (DEFAULT_URL_REFUND).
FONIX_REFUND_URL = "https://refund.fonix.io"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVERYPENNY_", extra="ignore")

    database_url: str = "sqlite:///./everypenny.db"
    public_url: str = "http://127.0.0.1:8000"
    # Signs tokens in links we send donors; set a long random value in production.
    secret_key: str = "dev-only-secret-change-me"
    log_level: str = "INFO"
    # Text-to-donate: the carrier-billing aggregator's API (Fonix's base, https://sonar.fonix.io, or the
    # simulator) and key. Its callbacks are unsigned, so their URLs carry a secret token
    # (/webhooks/aggregator/{token}/mo ...) and may be limited to its addresses (comma-separated addresses or
    # CIDRs; empty: any). `aggregator_dummy` sends DUMMY=yes: the aggregator charges and sends nothing.
    aggregator_url: str = "http://127.0.0.1:8001"
    aggregator_api_key: str = "dev-aggregator-key"
    aggregator_callback_token: str = "dev-aggregator-callback-token"
    aggregator_callback_ips: str = ""
    aggregator_dummy: bool = False
    # Where refunds go: Fonix takes them on a host of their own (FONIX_REFUND_URL). Empty: that host when the
    # aggregator is Fonix (a *.fonix.io URL), else the aggregator's URL (the simulator serves refunds too).
    aggregator_refund_url: str = ""
    # Text-to-link: Twilio signs its webhooks with the account's auth token.
    twilio_auth_token: str = "dev-twilio-auth-token"
    # The webhook URL exactly as configured at Twilio (it signs that URL, query string included); empty means
    # the public URL + /webhooks/twilio/sms, with whatever query string the request came with.
    twilio_webhook_url: str = ""
    # The long code's Messaging Service uses Twilio's Advanced Opt-Out, which answers HELP itself: we stay quiet.
    twilio_advanced_opt_out: bool = False

    # Online donations. The defaults point at the local Stripe simulator (`everypenny simulator stripe`).
    stripe_api_base: str = "http://127.0.0.1:12111"
    stripe_api_key: str = "sk_test_everypenny_simulator"
    stripe_webhook_secret: str = "whsec_everypenny_simulator_dev_only"
    stripe_webhook_tolerance_s: int = 300  # Stripe's own default: older signatures are replays
    # An unpaid checkout ends after this long (Stripe allows 30 minutes to 24 hours), releasing its pending money.
    stripe_checkout_expiry_s: int = 3600
    # Receipts go out through this SMTP server (smtp://host:port, or smtps:// / smtp+starttls:// with user:pass@).
    smtp_url: str = "smtp://127.0.0.1:1025"
    email_from: str = "everypenny receipts <receipts@everypenny.invalid>"
    # Card-testing defence: donation attempts allowed per client IP and per email in each window.
    donation_limit_per_ip: int = 20
    donation_limit_per_email: int = 5
    donation_limit_window_s: int = 600
    # Appeal desk: web pages allowed to read the public totaliser (comma-separated origins) and to frame
    # its widget; how long a desk login lasts; how long browsers and CDNs may cache public totals; how often
    # an embedded widget refreshes.
    totaliser_origins: str = ""
    desk_session_hours: int = 12
    totaliser_max_age_seconds: int = 5
    widget_poll_seconds: int = 10
    # How often each worker seals new ledger transfers into the hash chain.
    seal_interval_s: float = 2.0
    # How often each worker applies appeals' surplus rules to newly posted money.
    allocate_interval_s: float = 60.0
    # The aggregator pays a month's charges within this many days after the month ends (45-99 is usual);
    # reconciliation calls a charge unpaid after that overdue.
    settlement_window_days: int = 99
    # Stripe pays card donations within days; a card donation unpaid after this many days is overdue.
    card_settlement_window_days: int = 14
    # Links we send donors (receipt pages, Gift Aid forms, text-to-link pages) stop working after this many days.
    donor_link_days: int = 90
    # Failed look-ups of donor links (a wrong or expired token) allowed per client IP in each window.
    link_probes_per_ip: int = 10
    link_probe_window_s: int = 600
    # Receipt checks a client may make per minute on a public transparency page.
    receipt_checks_per_minute: int = 10
    # Spike: how many tasks an outbox worker claims at once, and how many threads share them (each share in
    # one transaction). Handlers work set-wise, so a big batch on few threads costs least per task: on the
    # spike bench 2 x 300 posted 217 donations/s on PostgreSQL and 254/s on SQLite, 8 x 100 137/s and 126/s.
    worker_threads: int = 2
    worker_batch_size: int = 300
    # How long a claimed task stays a worker's before another may take it: after a crash, its tasks wait this
    # long. Shorter recovers faster; a task outliving it may run twice but takes effect once (see outbox.py).
    worker_lease_s: float = 30.0
    # A task that fails this many times in a row is parked: no longer retried, shown on the desk (/admin/tasks)
    # and in /metrics, until an admin retries or dismisses it. 20 failures take about seven hours of backoff.
    worker_max_attempts: int = 20

    # The internet-facing edge (docs/security.md). Proxies whose X-Forwarded-For is believed: comma-separated
    # addresses or CIDRs (e.g. "10.0.0.0/8"); empty trusts none, loopback included.
    trusted_proxies: str = ""
    # Bodies larger than this are refused with 413 before they are read; webhooks may be larger than forms.
    max_body_bytes: int = 64 * 1024
    max_webhook_body_bytes: int = 256 * 1024
    # A request's headers: more than this many, or more bytes than this, are refused with 431 (the server stops
    # reading at the byte limit); a head not complete in header_timeout_s, or a body with no byte for
    # body_timeout_s, ends the connection (docs/security.md has what each costs).
    max_headers: int = 100
    max_header_bytes: int = 32 * 1024
    header_timeout_s: float = 10.0
    body_timeout_s: float = 20.0
    # /readyz answers 503 once the longest-due outbox task has waited this long for a worker, so a load
    # balancer sends callbacks to nodes whose work keeps up (the alert on outbox lag fires at 60 s).
    ready_max_outbox_lag_s: float = 300.0
    # `everypenny worker` serves its own metrics (batch durations, tasks done) on this port for Prometheus; 0: not.
    worker_metrics_port: int = 0
    # OpenTelemetry traces go to this OTLP/HTTP collector (e.g. http://otel-collector:4318/v1/traces); empty: off.
    otlp_endpoint: str = ""
    # The share of traces kept, decided where each begins (a text's callback): 1 % of a TV spike's thousand
    # texts a second is ten whole traces a second, at a fraction of the cost of tracing every text (bench figures
    # in docs/deployment.md).
    otlp_sample_ratio: float = 0.01
    # Prometheus scrapes /metrics with "Authorization: Bearer <token>"; required when served publicly.
    metrics_token: str = ""
    # Swagger UI at /docs loads its script from a CDN, so it is off unless asked for (the demo turns it on).
    api_docs: bool = False
    # Desk logins: attempts per client address in each window, and how many password hashes (64 MiB of
    # memory each) may run at once in a process.
    login_attempts_per_client: int = 20
    login_window_s: int = 600
    password_hash_concurrency: int = 2

    @property
    def refund_url(self) -> str:
        """Where the aggregator takes refunds (see aggregator_refund_url)."""
        if self.aggregator_refund_url:
            return self.aggregator_refund_url
        host = urlsplit(self.aggregator_url).hostname or ""
        return FONIX_REFUND_URL if host == "fonix.io" or host.endswith(".fonix.io") else self.aggregator_url


def get_settings() -> Settings:
    """Read afresh on each call: cheap, and a command always sees the environment it runs in."""
    return Settings()
