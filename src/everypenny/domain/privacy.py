"""What of a donor's contact details may appear on a screen: enough to recognise, never enough to use."""

from __future__ import annotations

MASK = "•••••"


def mask_phone(phone: str | None) -> str:
    """+447700900123 → 07•••••123; other countries keep their +code: +33•••••678."""
    if not phone:
        return ""
    if phone.startswith("+44") and len(phone) > 8:
        return "0" + phone[3] + MASK + phone[-3:]
    if len(phone) <= 6:
        return MASK
    return phone[:3] + MASK + phone[-3:]


def mask_email(email: str | None) -> str:
    """jane.doe@example.org → j•••@e•••.org."""
    if not email or "@" not in email:
        return ""
    local, _, domain = email.rpartition("@")
    host, dot, tld = domain.rpartition(".")
    if not dot:
        host, tld = domain, ""
    return f"{local[:1]}•••@{host[:1]}•••{dot}{tld}"
