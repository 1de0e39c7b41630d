"""A donor checks their receipt on the transparency page in a real browser (Chromium)."""

import pytest

from everypenny.domain.appeal import Channel
from everypenny.service_layer.proof import seal_appeal

pytestmark = pytest.mark.browser


def test_a_donor_checks_their_receipt_reference(page, live_server, platform, record_donation):
    gift = record_donation(500, Channel.CARRIER_SMS, phone="+447700900123")
    seal_appeal(platform.uow, "sun-ukraine-fund")

    page.goto(f"{live_server}/transparency/sun-ukraine-fund")
    assert page.get_by_role("heading", level=1).inner_text().startswith("The Sun's Ukraine Fund")
    page.get_by_label("Your receipt reference").fill(gift.reference.lower())
    page.get_by_role("button", name="Check").click()

    answer = page.get_by_role("status")
    assert answer.inner_text().startswith(f"Yes. Your donation {gift.reference} of £5")
    assert "Ledger chain entry #1" in answer.inner_text()
    assert "+447700900123" not in page.content()
