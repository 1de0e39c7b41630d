"""Two charge reports that contradict each other (issue 21): the first stands, the desk lists the charge under
"needs attention", and finance resolves it once, by one correcting transfer when the books are wrong."""

from __future__ import annotations

from card_harness import balances
from tests.e2e.desk_helpers import csrf_in

from everypenny.domain.donation import DonationStatus

EE = "+447700900031"
RECONCILIATION = "/admin/appeals/sun-ukraine-fund/reconciliation"


def _contradicted(texts, status: str = "INSUFFICIENT_FUNDS"):
    """A gift charged, then reported failed: the first report (charged) stands."""
    texts.text(EE, "SUN5")
    gift = next(d for d in texts.donations() if d.phone == EE)
    [charge] = texts.charges(gift.reference)
    texts.callback("charge-report", {"REQUESTID": charge.request_id, "STATUSCODE": status, "GUID": "r-4-X"})
    texts.settle()
    return gift, charge.request_id


def test_a_contradiction_is_listed_until_finance_resolves_it_from_the_cli(texts, platform, cli):
    gift, request_id = _contradicted(texts)

    listed = cli("sms", "contradictions", "--appeal", "sun-ukraine-fund")
    assert listed.exit_code == 0 and f"{request_id} {gift.reference} £5 stands charged" in listed.output
    assert "INSUFFICIENT_FUNDS" in listed.output and texts.totals()["raised_pence"] == 500

    resolved = cli("sms", "resolve", request_id, "--not-charged")

    assert resolved.exit_code == 0, resolved.output
    assert f"corrected by transfer sms:{request_id}:correction" in resolved.output
    assert texts.totals()["raised_pence"] == 0 and balances(platform)["fund:restricted"] == 0
    [donation] = [d for d in texts.donations() if d.phone == EE]
    assert (donation.status, donation.paid_pence) == (DonationStatus.FAILED, 0)
    assert "no contradicted charges" in cli("sms", "contradictions", "--appeal", "sun-ukraine-fund").output
    again = cli("sms", "resolve", request_id, "--charged")
    assert again.exit_code == 2 and "was resolved already: not charged, by cli:" in again.output


def test_books_that_already_agree_are_resolved_without_moving_money(texts, cli):
    _, request_id = _contradicted(texts)

    resolved = cli("sms", "resolve", request_id, "--charged")

    assert "the books already agreed, no money moved" in resolved.output
    assert texts.totals()["raised_pence"] == 500


def test_a_charge_without_contradiction_cannot_be_resolved(texts, cli):
    texts.text(EE, "SUN5")
    [charge] = texts.charges(texts.donations()[0].reference)

    refused = cli("sms", "resolve", charge.request_id, "--not-charged")

    assert refused.exit_code == 2 and "has contradicting reports" in refused.output


def test_finance_resolves_a_contradiction_on_the_desk(texts, as_role):
    _, request_id = _contradicted(texts)
    finance = as_role("finance")

    page = finance.get(RECONCILIATION)
    assert "need attention" in page.text and request_id in page.text
    done = finance.post(f"/admin/appeals/sun-ukraine-fund/contradictions/{request_id}",
                        data={"charged": "no", "csrf_token": csrf_in(page)}, follow_redirects=True)

    assert done.status_code == 200 and f"Charge {request_id} resolved." in done.text
    assert 'id="no-contradictions"' in done.text and texts.totals()["raised_pence"] == 0
    again = finance.post(f"/admin/appeals/sun-ukraine-fund/contradictions/{request_id}",
                         data={"charged": "no", "csrf_token": csrf_in(page)})
    assert again.status_code == 400 and "was resolved already: not charged, by desk:finance@" in again.text
