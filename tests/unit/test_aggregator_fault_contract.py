"""The aggregator's faults (issue 21) against both sides: the simulator shows each as the public clients'
callers would see it, and the adapter reads each so that a charged donor is never booked as failed.

The refusal of a repeat is shaped as JakubOboza/fonix client/errors.go's failure answer
(`{"failure": {"parameter", "failcode"}}`, HTTP 400, as lindar-open/fonix-client's FonixBadRequestException
carries it); a lost answer is a connection closed mid-answer, which neither client can read.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import httpx
import pytest
from fastapi.testclient import TestClient

from everypenny.adapters.aggregator import fonix
from everypenny.service_layer.text_giving_ports import ChargeOrder
from everypenny.simulators.aggregator import SimulatedAggregator, create_simulator_app
from everypenny.simulators.aggregator_faults import LATE_BY_S, AnswerLost, Faults, parse_faults

KEY, TOKEN = "key", "token"
REFUSED_REPEAT = '{"failure": {"parameter": "REQUESTID", "failcode": "IS_DUPLICATE"}}'
ORDER = ChargeOrder("EPC5K2M9Q1", "447700900123", "70141", 500, "GBP", "Donation", "Thank you!", 30)
FIELDS = {"NUMBERS": "447700900012", "AMOUNT": "500", "CURRENCY": "GBP", "REQUESTID": "EPC5K2M9Q1",
          "CHARGEDESCRIPTION": "Donation", "CHARGESILENT": "no", "BODY": "Thank you!", "ORIGINATOR": "70141"}


def _simulator(faults: Faults, calls: list[dict[str, str]]) -> SimulatedAggregator:
    def app(request: httpx.Request) -> httpx.Response:
        calls.append(dict(parse_qsl(request.read().decode())))
        return httpx.Response(200)

    client = httpx.Client(base_url="http://app", transport=httpx.MockTransport(app))
    return SimulatedAggregator("http://app", KEY, TOKEN, client=client, faults=faults)


def _charge(simulator: SimulatedAggregator) -> httpx.Response:
    api = TestClient(create_simulator_app(simulator))
    return api.post("/v2/chargemobile", data=FIELDS, headers={"X-API-KEY": KEY})


# ---- the simulator misbehaves as asked ----------------------------------------------------------------

def test_the_simulator_refuses_a_repeated_request_id_as_a_duplicate_but_the_charge_stands():
    simulator = _simulator(Faults(refuse_repeats=100), [])

    first, repeat = _charge(simulator), _charge(simulator)

    assert first.status_code == 200 and (repeat.status_code, repeat.text) == (400, REFUSED_REPEAT)
    assert simulator.charged_pence() == 500


def test_the_simulator_charges_and_then_loses_the_answer():
    simulator = _simulator(Faults(lost_answers=100), [])

    with pytest.raises(AnswerLost):
        _charge(simulator)

    assert simulator.charged_pence() == 500 and len(simulator.handset("447700900012").received) == 1


def test_an_early_report_reaches_the_app_before_the_answer_and_a_late_one_well_after():
    early_calls: list[dict[str, str]] = []
    early = _simulator(Faults(early_reports=100), early_calls)
    _charge(early)
    assert [call["STATUSCODE"] for call in early_calls] == ["DELIVERED"] and early.queued() == 0

    late_calls: list[dict[str, str]] = []
    late = _simulator(Faults(late_reports=100), late_calls)
    _charge(late)
    assert late.deliver_due() == 0 and late.deliver_due(ahead_s=LATE_BY_S + 1) == 1
    assert [call["STATUSCODE"] for call in late_calls] == ["DELIVERED"]


def test_a_charge_whose_time_to_live_passes_is_not_made_and_never_reported():
    simulator = _simulator(Faults(ttl_expiry=100), [])

    assert _charge(simulator).status_code == 200

    assert simulator.charged_pence() == 0 and simulator.deliver_due(ahead_s=3600) == 0
    assert simulator.handset("447700900012").received == []


@pytest.mark.parametrize(("text", "faults"), [
    ("lost-answers=5,refuse-repeats=100,early-reports=5,late-reports=5,ttl-expiry=1",
     Faults(lost_answers=5, refuse_repeats=100, early_reports=5, late_reports=5, ttl_expiry=1)),
    ("refuse-repeats", Faults(refuse_repeats=100)),
    ("", Faults()),
])
def test_faults_are_named_with_their_share_in_percent(text, faults):
    assert parse_faults(text) == faults


@pytest.mark.parametrize(("text", "says"), [
    ("lost-answer=5", "unknown fault 'lost-answer': choose from lost-answers, refuse-repeats"),
    ("lost-answers=five", "give the share as a whole percent"),
    ("lost-answers=101", "lost-answers must be a share from 0 to 100"),
    ("ttl-expiry=1,ttl-expiry=2", "ttl-expiry is given twice"),
])
def test_a_bad_fault_is_refused_with_what_is_wrong(text, says):
    with pytest.raises(ValueError, match=says):
        parse_faults(text)


# ---- the adapter reads each fault -----------------------------------------------------------------------

def test_the_adapter_reads_a_refused_repeat_as_a_refusal_with_its_code():
    client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(400, text=REFUSED_REPEAT)))
    answer = fonix.FonixAggregator("https://sonar.fonix.io", KEY, client=client).request_charge(ORDER)

    assert answer.failcode == "IS_DUPLICATE (REQUESTID)"  # the service layer trusts it only on a first request


def test_the_adapter_raises_on_an_answer_cut_off_so_the_charge_is_asked_again():
    class ClosesMidAnswer(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b'{"success"')
            self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), ClosesMidAnswer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        aggregator = fonix.FonixAggregator(f"http://127.0.0.1:{server.server_port}", KEY)
        with pytest.raises(http.client.IncompleteRead):
            aggregator.request_charge(ORDER)
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("faults", "says"), [
    ("lost-answers=5,bogus=3", "--faults: unknown fault 'bogus'"),
    ("late-reports=200", "--faults: late-reports must be a share from 0 to 100"),
])
def test_the_simulator_command_refuses_bad_faults_with_a_clear_error_and_exit_status_2(faults, says):
    from typer.testing import CliRunner

    from everypenny.entrypoints.cli import app

    result = CliRunner().invoke(app, ["simulator", "aggregator", "--faults", faults])

    assert result.exit_code == 2 and says in result.output
