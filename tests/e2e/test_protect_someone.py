"""Fundraising Regulator, people in vulnerable circumstances: finance blocks an email or number on the desk,
with a reason on record, and the donation page then refuses them politely."""

from __future__ import annotations

import pytest

from tests.e2e.desk_helpers import csrf_in, quick_passwords

pytestmark = [pytest.mark.usefixtures(quick_passwords.__name__)]

SLUG = "sun-ukraine-fund"


def test_a_blocked_email_is_refused_politely_online_and_the_desk_keeps_the_record(as_role, client, fake_gateway):
    finance = as_role("finance")
    form = finance.get("/admin/protect")
    done = finance.post("/admin/protect", data={"contact": "Jo@Example.org", "reason": "carer asked us to stop",
                                                "action": "block", "csrf_token": csrf_in(form)})
    assert done.status_code == 200 and "jo@example.org is blocked from giving" in done.text
    assert "carer asked us to stop" in done.text and "desk:" in done.text

    page = client.post(f"/donate/{SLUG}", data={"amount": "1000", "email": "jo@example.org"})
    api = client.post(f"/api/v1/appeals/{SLUG}/donations", json={"amount_pence": 1000, "email": "JO@example.org"})

    assert page.status_code == api.status_code == 403
    assert "we can&#39;t take a donation from you online" in page.text or "can't take a donation" in page.text
    assert "0344 871 11 11" in api.json()["detail"]
    assert fake_gateway.requests == []


def test_a_block_without_a_reason_is_refused_on_the_desk(as_role):
    finance = as_role("finance")
    form = finance.get("/admin/protect")
    refused = finance.post("/admin/protect", data={"contact": "07700900123", "reason": "", "action": "block",
                                                   "csrf_token": csrf_in(form)})
    assert refused.status_code == 400 and "give a reason for the block" in refused.text
