"""Sends email through an SMTP server named by a URL: smtp://host:port, smtps://… or smtp+starttls://user:pass@…

The user and password may hold any character: the host is what follows the last `@`, so a password with `/`,
`#`, `?`, `:` or `@` works as typed, and a percent-encoded one (`%2F` for `/`, `%25` for `%`) is decoded. No
error names the password: the URL in a message has it masked.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote, urlsplit

from everypenny.config import Settings
from everypenny.domain.privacy import mask_email
from everypenny.service_layer.online_ports import Undeliverable

_DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class SmtpMailer:
    """Reads the URL on each send, so a changed setting takes effect without a restart."""

    def __init__(self, settings: Settings, timeout_s: float = 10.0) -> None:
        self.settings = settings
        self.timeout_s = timeout_s

    def send(self, recipient: str, subject: str, body: str) -> None:
        """Raises Undeliverable for an address no retry can reach; anything else (an outage) may pass."""
        recipient = _ascii_domain(recipient)
        server = SmtpServer.from_url(self.settings.smtp_url)
        message = EmailMessage()
        message["From"] = self.settings.email_from
        message["To"] = recipient
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain="everypenny")
        message.set_content(body)
        smtp_class = smtplib.SMTP_SSL if server.scheme == "smtps" else smtplib.SMTP
        with smtp_class(server.host, server.port, timeout=self.timeout_s) as smtp:
            if server.scheme == "smtp+starttls":
                smtp.starttls()
            if server.user:
                smtp.login(server.user, server.password)
            try:
                smtp.send_message(message)
            except smtplib.SMTPNotSupportedError as error:
                # A non-ASCII local part (josé@…) needs SMTPUTF8 (RFC 6531); without it the server cannot take it.
                raise Undeliverable(f"{mask_email(recipient)} needs an SMTP server with SMTPUTF8: {error}") from None
            except smtplib.SMTPRecipientsRefused as refused:
                codes = [code for code, _ in refused.recipients.values()]
                if all(500 <= code < 600 for code in codes):  # 5xx: permanent (RFC 5321 §4.2.1); 4xx may pass
                    raise Undeliverable(f"the server refused {mask_email(recipient)} for good: {codes}") from None
                raise


@dataclass(frozen=True)
class SmtpServer:
    scheme: str
    host: str
    port: int
    user: str
    password: str = field(repr=False)

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        """Raises ValueError saying what is wrong, with the URL's password masked."""
        scheme, _, rest = url.partition("://")
        credentials, _, address = rest.rpartition("@")
        user, _, password = credentials.partition(":")
        if scheme not in _DEFAULT_PORTS:
            raise ValueError(f"EVERYPENNY_SMTP_URL must look like smtp://host:port, not {masked_url(url)!r}")
        try:
            where = urlsplit(f"//{address.rstrip('/')}")
            port = where.port or _DEFAULT_PORTS[scheme]
        except ValueError:
            raise ValueError(f"EVERYPENNY_SMTP_URL has no valid host and port: {masked_url(url)!r}") from None
        if not where.hostname:
            raise ValueError(f"EVERYPENNY_SMTP_URL names no host: {masked_url(url)!r}")
        return cls(scheme, where.hostname, port, unquote(user), unquote(password))


def masked_url(url: str) -> str:
    """smtp+starttls://receipts:p/a#ss@mail.example → smtp+starttls://receipts:***@mail.example"""
    scheme, separator, rest = url.partition("://")
    credentials, at, address = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{separator}{credentials.partition(':')[0]}:***@{address}"


def _ascii_domain(address: str) -> str:
    """jo@exämple.org → jo@xn--exmple-cua.org (IDNA), which every server takes; the local part stays as given."""
    local, at, domain = address.rpartition("@")
    try:
        return f"{local}{at}{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        raise Undeliverable(f"{mask_email(address)} has a domain that cannot be written in DNS") from None
