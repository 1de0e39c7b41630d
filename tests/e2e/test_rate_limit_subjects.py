"""The rate limits count clients and donors without keeping who they are: a stored subject is an HMAC keyed with
the secret key, which nobody without the key can match by hashing every IPv4 address or a list of emails."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from everypenny.adapters.db.schema import rate_limit_windows

DONATIONS = "/api/v1/appeals/sun-ukraine-fund/donations"


def stored_subjects(platform) -> set[str]:
    with platform.engine.connect() as connection:
        return set(connection.scalars(select(rate_limit_windows.c.subject_hash)))


def test_a_donation_attempt_stores_neither_the_address_nor_the_email_nor_their_plain_hashes(
        client, platform, fake_gateway, seed_appeal):
    response = client.post(DONATIONS, json={"amount_pence": 500, "email": "ann@example.org"})
    assert response.status_code == 201

    subjects = stored_subjects(platform)
    assert len(subjects) == 2  # one per limit: the client's address and the email
    for known in ("testclient", "ann@example.org"):
        assert hashlib.sha256(known.encode()).hexdigest() not in subjects
        assert not any(known in subject for subject in subjects)


def test_another_secret_key_counts_the_same_subject_under_another_name(client, platform, fake_gateway, seed_appeal):
    client.post(DONATIONS, json={"amount_pence": 500, "email": "ann@example.org"})
    first = stored_subjects(platform)

    platform.settings.secret_key = "another-" + platform.settings.secret_key
    client.post(DONATIONS, json={"amount_pence": 500, "email": "ann@example.org"})

    assert len(stored_subjects(platform) - first) == 2
