"""Links we text or email to donors. They carry tokens, so no login is needed and none can be forged.

Each token is bound to one purpose (its own salt or key), carries when it was made and is refused once older
than the link lifetime (EVERYPENNY_DONOR_LINK_DAYS). A token naming a donation is signed; a token carrying a
phone number is encrypted (AES-GCM, authenticated), so the number never travels readable in a URL, an access
log or a forwarded text.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
import time
from datetime import timedelta
from urllib.parse import urlencode

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

_GIFT_AID_SALT = "gift-aid"
_RECEIPT_SALT = "donation-receipt"
_PREFILL_INFO = b"everypenny text-to-link phone v1"
_NONCE_BYTES = 12
_ISSUED = struct.Struct(">I")  # seconds since 1970: good until 2106
RECEIPT_KEY_PARAM = "key"


class InvalidLink(ValueError):
    pass


class ExpiredLink(InvalidLink):
    pass


def _signed(secret_key: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=salt)


def _reference(secret_key: str, salt: str, token: str, lifetime: timedelta, what: str) -> str:
    try:
        reference = _signed(secret_key, salt).loads(token, max_age=int(lifetime.total_seconds()))
    except SignatureExpired:
        raise ExpiredLink(f"this {what} link has expired") from None
    except BadSignature:
        raise InvalidLink(f"this {what} link is not valid") from None
    if not isinstance(reference, str):
        raise InvalidLink(f"this {what} link is not valid")
    return reference


def receipt_key(secret_key: str, reference: str) -> str:
    """The donor's own key to their donation's pages (thank-you, cancelled), given only to whoever paid."""
    return _signed(secret_key, _RECEIPT_SALT).dumps(reference)


def reference_from_receipt_key(secret_key: str, token: str, lifetime: timedelta) -> str:
    return _reference(secret_key, _RECEIPT_SALT, token, lifetime, "donation")


def gift_aid_url(public_url: str, secret_key: str, reference: str) -> str:
    """The receipt's link to add Gift Aid to one donation."""
    return f"{public_url.rstrip('/')}/gift-aid/{_signed(secret_key, _GIFT_AID_SALT).dumps(reference)}"


def reference_from_gift_aid_token(secret_key: str, token: str, lifetime: timedelta) -> str:
    return _reference(secret_key, _GIFT_AID_SALT, token, lifetime, "Gift Aid")


def _phone_cipher(secret_key: str) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PREFILL_INFO).derive(secret_key.encode())
    return AESGCM(key)


def _encrypted_phone(secret_key: str, phone: str) -> str:
    """issued (4 bytes, authenticated) + nonce + AES-GCM(phone): about 60 URL-safe characters for a UK mobile."""
    issued = _ISSUED.pack(int(time.time()))
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _phone_cipher(secret_key).encrypt(nonce, phone.encode(), issued)
    return base64.urlsafe_b64encode(issued + nonce + sealed).decode().rstrip("=")


def phone_from_prefill_token(secret_key: str, token: str, lifetime: timedelta) -> str:
    invalid = InvalidLink("this donation link is not valid")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise invalid from None
    sealed_at = _ISSUED.size + _NONCE_BYTES
    if len(raw) <= sealed_at:
        raise invalid
    issued, nonce, sealed = raw[:_ISSUED.size], raw[_ISSUED.size:sealed_at], raw[sealed_at:]
    try:
        phone = _phone_cipher(secret_key).decrypt(nonce, sealed, issued).decode()
    except InvalidTag:
        raise invalid from None
    if time.time() - _ISSUED.unpack(issued)[0] > lifetime.total_seconds():
        raise ExpiredLink("this donation link has expired")
    return phone


def prefilled_donation_url(public_url: str, secret_key: str, slug: str, amount_pence: int, phone: str | None,
                           partner: str | None = None) -> str:
    """Text-to-link's reply: the donation page (a media partner's, when given) with the amount (and the donor's
    phone, encrypted) filled in."""
    params: dict[str, str | int] = {"amount_pence": amount_pence}
    if phone:
        params["from"] = _encrypted_phone(secret_key, phone)
    page = f"{slug}/{partner}" if partner else slug
    return f"{public_url.rstrip('/')}/donate/{page}?{urlencode(params)}"
