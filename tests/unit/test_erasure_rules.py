"""Pseudonyms, contacts as donors type them, and scrubbing stored messages."""

import pytest

from everypenny.domain.donation import Medium
from everypenny.domain.erasure import Contact, InvalidContact, is_pseudonym, pseudonym, scrub

PHONE = Contact(Medium.SMS, "+447700900123")


def test_a_pseudonym_is_stable_keyed_and_fits_a_phone_column():
    first = pseudonym("key", PHONE)

    assert first == pseudonym("key", Contact.parse(Medium.SMS, "07700 900123"))
    assert first != pseudonym("another key", PHONE)
    assert len(first) == 20 and is_pseudonym(first)


@pytest.mark.parametrize("typed", ["not a number", "12", ""])
def test_a_phone_that_is_not_a_number_is_refused(typed):
    with pytest.raises(InvalidContact, match="not a valid phone number"):
        Contact.parse(Medium.SMS, typed)


def test_an_email_is_compared_in_lower_case():
    assert Contact.parse(Medium.EMAIL, " Donor@Example.ORG ").value == "donor@example.org"
    with pytest.raises(InvalidContact):
        Contact.parse(Medium.EMAIL, "donor.example.org")


def test_every_spelling_of_the_number_and_every_personal_key_is_scrubbed():
    replacements = dict.fromkeys(PHONE.spellings(), "anon-x")
    message = {"From": "+447700900123", "msisdn": "447700900123", "raw": "from=%2B447700900123&text=SUN5",
               "national": "07700900123", "name": "Jane Doe", "keyword": "SUN", "other": "+447700900999"}

    assert scrub(message, replacements) == {
        "From": "anon-x", "msisdn": "anon-x", "raw": "from=anon-x&text=SUN5", "national": "anon-x",
        "name": "anon-x", "keyword": "SUN", "other": "+447700900999"}
