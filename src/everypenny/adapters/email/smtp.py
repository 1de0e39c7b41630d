"""Sends email through an SMTP server named by a URL: smtp://host:port, smtps://… or smtp+starttls://user:pass@…"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote, urlsplit

from everypenny.config import Settings

_DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class SmtpMailer:
    """Reads the URL on each send, so a changed setting takes effect without a restart."""

    def __init__(self, settings: Settings, timeout_s: float = 10.0) -> None:
        self.settings = settings
        self.timeout_s = timeout_s

    def send(self, recipient: str, subject: str, body: str) -> None:
        url = urlsplit(self.settings.smtp_url)
        if url.scheme not in _DEFAULT_PORTS or not url.hostname:
            raise ValueError(f"EVERYPENNY_SMTP_URL must look like smtp://host:port, not {self.settings.smtp_url!r}")
        message = EmailMessage()
        message["From"] = self.settings.email_from
        message["To"] = recipient
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain="everypenny")
        message.set_content(body)
        port = url.port or _DEFAULT_PORTS[url.scheme]
        smtp_class = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
        with smtp_class(url.hostname, port, timeout=self.timeout_s) as smtp:
            if url.scheme == "smtp+starttls":
                smtp.starttls()
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(message)
