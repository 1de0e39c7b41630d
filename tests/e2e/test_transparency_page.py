"""The public transparency page and a donor's check that their gift is counted, through HTTP."""

import re

import pytest

from everypenny.domain.appeal import Channel
from everypenny.domain.payouts import Fund
from everypenny.service_layer.money_out import allocate_surplus, record_payout, record_settlement
from everypenny.service_layer.proof import seal_appeal

SLUG = "sun-ukraine-fund"
PHONE = "+447700900123"


@pytest.fixture
def appeal_in_progress(platform, load_seed_variant, record_donation):
    """£10 by text and £25 online with a £30 target, settled, £5 allocated to surplus and £20 paid out."""
    load_seed_variant(surplus={"restricted_target_pence": 3000})
    text = record_donation(1000, Channel.CARRIER_SMS, phone=PHONE)
    online = record_donation(2500, Channel.ONLINE, email="donor@example.org")
    record_settlement(platform.uow(), SLUG, Channel.ONLINE, 2500, "po_1")
    allocate_surplus(platform.uow, SLUG)
    record_payout(platform.uow(), SLUG, 2000, Fund.RESTRICTED, "BACS-1")
    seal_appeal(platform.uow, SLUG)
    return text, online


def visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_page_shows_money_in_allocations_payouts_and_the_chain_head(client, platform, appeal_in_progress):
    response = client.get(f"/transparency/{SLUG}")

    assert response.status_code == 200
    text = visible_text(response.text)
    assert "Text, on the phone bill £10" in text and "Online, by card £25" in text
    assert "Total raised (after refunds) £35" in text
    assert "Ukraine Crisis Appeal £30" in text and "Disaster Fund (surplus) £5" in text
    assert "to the Disaster Fund £5" in text
    assert "Ukraine Crisis Appeal BACS-1 £20" in text and "Total paid out £20" in text
    assert "Still to be paid to British Red Cross: £15" in text
    with platform.uow() as uow:
        head = uow.chain.head(SLUG)
    assert f"#{head.seq} {head.hash}" in text


def test_the_page_reveals_no_donor(client, appeal_in_progress):
    text, online = appeal_in_progress
    page = client.get(f"/transparency/{SLUG}").text

    for secret in (PHONE, "donor@example.org", text.reference, online.reference):
        assert secret not in page


def test_a_donor_finds_their_donation_counted_with_its_chain_entry(client, platform, appeal_in_progress):
    text, online = appeal_in_progress
    with platform.uow() as uow:
        entry = uow.chain.entry_for_transfer(uow.ledger.get(f"donation:{text.reference}").id)

    response = client.post(f"/transparency/{SLUG}/check", data={"reference": text.reference.lower()})

    answer = visible_text(response.text)
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert f"Yes. Your donation {text.reference} of £10, made on {text.created_at:%-d %B %Y}" in answer
    assert f"Ledger chain entry #{entry.seq}, hash {entry.hash}" in answer
    assert online.reference not in response.text and PHONE not in response.text


def test_a_reference_typed_loosely_still_matches(client, appeal_in_progress):
    text, _ = appeal_in_progress
    typed = " " + text.reference.removeprefix("EP-").replace("1", "l").replace("0", "O") + " "

    response = client.post(f"/transparency/{SLUG}/check", data={"reference": typed})

    assert "Yes." in visible_text(response.text)


def test_an_unknown_reference_gets_the_same_shape_of_answer(client, appeal_in_progress):
    for reference in ("EP-0000000000", "not a reference", ""):
        response = client.post(f"/transparency/{SLUG}/check", data={"reference": reference})

        assert response.status_code == 200
        assert "Not yet. We can't find a counted donation to this appeal with the reference" in \
            visible_text(response.text)


def test_a_pending_text_is_not_yet_counted(client, platform, seed_appeal):
    from everypenny.domain.ledger import AccountCode, Phase, TransferKind, TransferRequest
    from everypenny.service_layer.ledger import record_transfer

    record_transfer(platform.uow(), TransferRequest(
        "donation:EP-7K3M9Q2XDA", SLUG, AccountCode.receivable(Channel.CARRIER_SMS), AccountCode.RESTRICTED_FUND,
        500, "GBP", TransferKind.DONATION, phase=Phase.PENDING, reference="EP-7K3M9Q2XDA"))

    response = client.post(f"/transparency/{SLUG}/check", data={"reference": "EP-7K3M9Q2XDA"})

    assert "Not yet." in visible_text(response.text)


def test_checks_are_rate_limited_per_client(client, platform, seed_appeal):
    for _ in range(platform.settings.receipt_checks_per_minute):
        assert client.post(f"/transparency/{SLUG}/check", data={"reference": "EP-0000000000"}).status_code == 200

    refused = client.post(f"/transparency/{SLUG}/check", data={"reference": "EP-0000000000"})

    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert "Too many checks from your connection" in refused.text


def test_an_unknown_appeal_is_a_404(client, seed_appeal):
    assert client.get("/transparency/no-such-appeal").status_code == 404


def test_the_daily_chain_heads_are_published_as_json(client, platform, appeal_in_progress):
    with platform.uow() as uow:
        head = uow.chain.head(SLUG)

    response = client.get(f"/api/v1/appeals/{SLUG}/chain-heads")

    assert response.json() == {"slug": SLUG, "heads": [
        {"date": f"{head.sealed_at:%Y-%m-%d}", "seq": head.seq, "hash": head.hash}]}
    assert client.get("/api/v1/appeals/nope/chain-heads").status_code == 404


def test_pending_money_is_named_by_what_it_waits_for(client, platform, seed_appeal, fake_gateway):
    from everypenny.domain.ledger import AccountCode, Phase, TransferKind, TransferRequest
    from everypenny.service_layer.ledger import record_transfer

    record_transfer(platform.uow(), TransferRequest(
        "donation:EP-7K3M9Q2XDA", SLUG, AccountCode.receivable(Channel.CARRIER_SMS), AccountCode.RESTRICTED_FUND,
        500, "GBP", TransferKind.DONATION, phase=Phase.PENDING, reference="EP-7K3M9Q2XDA"))
    client.post(f"/api/v1/appeals/{SLUG}/donations", json={"amount_pence": 6000})

    text = visible_text(client.get(f"/transparency/{SLUG}").text)

    assert "£5 in texts awaiting confirmation from mobile networks" in text
    assert "£60 in card checkouts started but not yet paid" in text
    assert "£60 in texts" not in text and "£65" not in text


def test_the_page_wears_the_appeals_masthead_and_offers_a_donate_link_while_it_is_live(
        client, load_seed_variant):
    load_seed_variant(branding={"masthead_colour": "#003a70", "logo_url": "https://cdn.example/sun.svg"})
    live = client.get(f"/transparency/{SLUG}").text
    load_seed_variant(status="closed")
    closed = client.get(f"/transparency/{SLUG}").text

    assert '<img class="logo" src="https://cdn.example/sun.svg" alt="The Sun">' in live
    assert "--masthead: #003a70" in live
    assert f'<a class="donate-link" href="/donate/{SLUG}">Donate</a>' in live
    assert "donate-link" not in closed


def test_the_seal_is_explained_in_one_sentence_with_the_detail_folded(client, appeal_in_progress):
    html = client.get(f"/transparency/{SLUG}").text

    assert "so no past figure can be changed without it showing" in visible_text(html)
    details = html[html.index("<details>"):html.index("</details>")]
    assert "Day (UTC)" in details and "chain-heads" in details
