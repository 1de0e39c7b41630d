"""Links we text or email to donors. They carry signed tokens, so no login is needed and none can be forged."""

from __future__ import annotations

from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeSerializer

_GIFT_AID_SALT = "gift-aid"
_PREFILL_SALT = "donate-prefill"


class InvalidLink(ValueError):
    pass


def gift_aid_url(public_url: str, secret_key: str, reference: str) -> str:
    """The receipt's link to add Gift Aid to one donation."""
    token = URLSafeSerializer(secret_key, salt=_GIFT_AID_SALT).dumps(reference)
    return f"{public_url.rstrip('/')}/gift-aid/{token}"


def reference_from_gift_aid_token(secret_key: str, token: str) -> str:
    try:
        return URLSafeSerializer(secret_key, salt=_GIFT_AID_SALT).loads(token)
    except BadSignature:
        raise InvalidLink("this Gift Aid link is not valid; please use the link from your receipt") from None


def prefilled_donation_url(public_url: str, secret_key: str, slug: str, amount_pence: int, phone: str | None) -> str:
    """Text-to-link's reply: the donation page with the amount (and the donor's phone) filled in."""
    params = {"amount_pence": amount_pence}
    if phone:
        params["from"] = URLSafeSerializer(secret_key, salt=_PREFILL_SALT).dumps(phone)
    return f"{public_url.rstrip('/')}/donate/{slug}?{urlencode(params)}"


def phone_from_prefill_token(secret_key: str, token: str) -> str:
    try:
        return URLSafeSerializer(secret_key, salt=_PREFILL_SALT).loads(token)
    except BadSignature:
        raise InvalidLink("this donation link is not valid") from None
