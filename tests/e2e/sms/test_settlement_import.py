"""The aggregator's monthly statements come in; what they pay, short-pay or get wrong is plain to see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from card_harness import balances
from fastapi.testclient import TestClient

from everypenny.domain.settlement import LineStatus
from everypenny.service_layer import settlement
from everypenny.simulators.aggregator import create_simulator_app

SLUG = "sun-ukraine-fund"
EE = ["+447700900001", "+447700900002", "+447700900003", "+447700900004"]
O2 = "+447700900101"
BARRED = "+447700900251"  # Three, donation texts barred: the charge fails



@pytest.fixture
def charged(texts):
    """£5, £10, £3 and £5 on EE, £10 on O2, and a failed £5 on Three: £33 charged."""
    for phone, body in zip([*EE, O2, BARRED], ["SUN5", "SUN10", "SUN3", "SUN5", "SUN10", "SUN5"], strict=True):
        texts.text(phone, body)
    by_phone = {}
    for donation in texts.donations():
        [charge] = texts.charges(donation.reference)
        by_phone[donation.phone] = charge
    return by_phone


def statement(texts, network: str, **options) -> bytes:
    """The statement the aggregator sends, fetched from the simulator over its HTTP API."""
    sim = TestClient(create_simulator_app(texts.simulator), base_url="http://aggregator")
    response = sim.get("/sim/settlements", params={"month": f"{datetime.now(UTC):%Y-%m}", "network": network,
                                                   **options})
    assert response.status_code == 200, response.text
    return response.content


def test_a_statement_with_mistakes_settles_only_what_was_charged_and_lists_the_rest(
        texts, charged, platform, cli, tmp_path):
    ee = statement(texts, "EE", fee_pence=10, omit=charged[EE[3]].request_id, short=charged[EE[1]].request_id,
                   unknown=1)
    path = tmp_path / "ee.csv"
    path.write_bytes(ee)

    result = cli("settlement", "import", "--appeal", SLUG, "aggregator", path)

    assert result.exit_code == 0, result.output
    assert f"statement EE-{datetime.now(UTC):%Y-%m}: 4 lines, £18 gross; settled £13 of our charges, " \
           "fee £0.30 recoverable from the fee bearer" in result.output
    assert "1 line short-paid" in result.output and "1 line for nothing we know of" in result.output
    # £5 + £5 of £10 (short) + £3 settled; fees are the fee bearer's, never the fund's.
    posted = balances(platform)
    assert posted["bank"] == 1270 and posted["recoverable:fees"] == 30
    assert posted["receivable:carrier_sms"] == 3300 - 1300
    assert posted["fund:restricted"] + posted.get("fund:surplus", 0) == -3300


def test_importing_the_same_statement_twice_changes_nothing_and_a_changed_one_is_refused(
        texts, charged, platform, cli, tmp_path):
    path = tmp_path / "ee.csv"
    path.write_bytes(statement(texts, "EE"))
    assert cli("settlement", "import", "--appeal", SLUG, "aggregator", path).exit_code == 0
    after_first = balances(platform)

    again = cli("settlement", "import", "--appeal", SLUG, "aggregator", path)
    assert again.exit_code == 0 and "already imported: nothing changed" in again.output

    path.write_bytes(statement(texts, "EE", short=charged[EE[0]].request_id))
    changed = cli("settlement", "import", "--appeal", SLUG, "aggregator", path)
    assert changed.exit_code == 2
    assert "was imported on" in changed.output and "with other contents; nothing was changed" in changed.output
    assert balances(platform) == after_first
    with platform.uow() as uow:
        assert len(uow.settlements.lines(SLUG)) == 4


def test_reconciliation_lists_each_side_s_leftovers_with_amounts_and_totals(texts, charged, platform, cli, tmp_path):
    for network, options in [("EE", {"omit": charged[EE[3]].request_id, "short": charged[EE[1]].request_id,
                                     "unknown": 1}),
                             ("THREE", {"pay_failed": "1"})]:
        path = tmp_path / f"{network}.csv"
        path.write_bytes(statement(texts, network, **options))
        assert cli("settlement", "import", "--appeal", SLUG, "aggregator", path).exit_code == 0

    report = settlement.reconcile(platform.uow, SLUG, window_days=99)
    assert (report.charged_pence, report.settled_pence, report.matched) == (3300, 1300, 2)
    assert [line.status for line in report.problem_lines] == [LineStatus.SHORT, LineStatus.UNKNOWN,
                                                              LineStatus.FAILED_CHARGE]
    assert (report.shortfall_pence, report.unmatched_cash_pence) == (500, 500 + 500)
    assert sorted(c.request_id for c in report.unsettled) == sorted([charged[EE[3]].request_id,
                                                                    charged[O2].request_id])
    assert (report.awaiting_pence, report.overdue_pence) == (1500, 0)

    later = settlement.reconcile(platform.uow, SLUG, window_days=45, now=datetime.now(UTC) + timedelta(days=80))
    assert (later.awaiting_pence, later.overdue_pence) == (0, 1500)

    shown = cli("reconcile", "--appeal", SLUG)
    assert shown.exit_code == 1
    assert "charged £33, settled £13; 2 lines matched in full" in shown.output
    assert f"short-paid: EE-{datetime.now(UTC):%Y-%m} line 2 {charged[EE[1]].request_id} paid £5 " \
           "(charged £10)" in shown.output
    assert f"awaiting settlement: {charged[O2].request_id}" in shown.output
    assert "totals: short £5, over £0, paid for nothing we charged £10, awaiting £15, overdue £0" \
        in shown.output


def test_a_charge_paid_on_two_statements_is_settled_once(texts, charged, platform, cli, tmp_path):
    first = tmp_path / "first.csv"
    first.write_bytes(statement(texts, "O2"))
    second = tmp_path / "second.csv"
    second.write_bytes(first.read_bytes().replace(b"O2-", b"O2R-"))
    assert cli("settlement", "import", "--appeal", SLUG, "aggregator", first).exit_code == 0
    result = cli("settlement", "import", "--appeal", SLUG, "aggregator", second)

    assert result.exit_code == 0 and "1 line already paid on an earlier statement" in result.output
    assert balances(platform)["bank"] == 1000


@pytest.mark.parametrize(("content", "message"), [
    (b"ref,network\n", "the first row must be the header statement_reference,network,period"),
    (b"statement_reference,network,period,line,request_id,message_id,charged_at,gross,fee,net\n"
     b"S1,EE,2026-11,1,r1,,,5,0.00,5.00\n", "row 2 gross: '5' is not an amount in pounds with two decimals"),
    (b"statement_reference,network,period,line,request_id,message_id,charged_at,gross,fee,net\n"
     b"S1,EE,2026-11,1,r1,,,5.00,0.10,5.00\n", "row 2: net 5.00 is not gross 5.00 less fee 0.10"),
    (b"statement_reference,network,period,line,request_id,message_id,charged_at,gross,fee,net\n"
     b"S1,EE,2026-11,1,r1,,,5.00,0.00,5.00\nS1,EE,2026-11,2,r1,,,5.00,0.00,5.00\n",
     "row 3: r1 appears twice in the statement"),
    (b"statement_reference,network,period,line,request_id,message_id,charged_at,gross,fee,net\n"
     b"S1,EE,2026-13,1,r1,,,5.00,0.00,5.00\n", "period '2026-13' is not a month written YYYY-MM"),
])
def test_a_malformed_statement_is_refused_by_row_and_nothing_is_stored(
        texts, charged, platform, cli, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    before = balances(platform)

    result = cli("settlement", "import", "--appeal", SLUG, "aggregator", path)

    assert result.exit_code == 2 and message in result.output
    assert balances(platform) == before
    with platform.uow() as uow:
        assert uow.settlements.statements(SLUG) == []


def test_finance_sees_the_reconciliation_page_and_the_dashboard_counts_settled_money(
        texts, charged, platform, client, cli, tmp_path):
    from tests.e2e.desk_helpers import log_in, make_user

    path = tmp_path / "ee.csv"
    path.write_bytes(statement(texts, "EE", fee_pence=10, short=charged[EE[1]].request_id, unknown=1))
    assert cli("settlement", "import", "--appeal", SLUG, "aggregator", path).exit_code == 0
    assert log_in(client, make_user(platform, "finance")).status_code == 303

    page = client.get(f"/admin/appeals/{SLUG}/reconciliation")
    dashboard = client.get(f"/admin/appeals/{SLUG}")

    assert page.status_code == 200
    text = " ".join(page.text.split())
    assert 'id="charged">£33<' in text and 'id="settled-lines">£18<' in text
    assert 'id="shortfall">£5<' in text and 'id="unmatched-cash">£5<' in text and 'id="awaiting">£10<' in text
    assert f"<td>Short-paid</td><td>EE-{datetime.now(UTC):%Y-%m}</td>" in text
    assert charged[O2].request_id in text and charged[EE[1]].donation_reference in text
    assert 'id="gift-aid-claimable">£0<' in text  # no text donor has declared Gift Aid
    assert 'id="settled">£18<' in dashboard.text  # at its gross: the 40p of fees is owed by the fee bearer
    assert "/reconciliation" in dashboard.text
