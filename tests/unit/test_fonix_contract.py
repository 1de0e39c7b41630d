"""Fonix's recorded exchanges, verbatim, against both of our implementations of its format: the adapter that
reads them (adapters/aggregator/fonix.py) and the simulator that writes them (simulators/aggregator.py).

The callbacks are the examples in docs/going-live-aggregator.md's source note (shared/notes/fonix.md), in
the shape lindar-open/fonix-client and JakubOboza/fonix document; the API answers are JakubOboza/fonix's
(client/charge_mobile.go, client/sendsms.go, client/refund.go, client/errors.go). If either side drifts from
Fonix, a test here fails; the two sides never share code, so they cannot drift together.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest
from fastapi.testclient import TestClient

from everypenny.adapters.aggregator import fonix
from everypenny.service_layer.ports import NeverSucceeds
from everypenny.service_layer.text_giving_ports import (
    ChargeOrder,
    MessageOrder,
    MessageRefused,
    RefundOrder,
    RefundStatus,
)
from everypenny.simulators.aggregator import SimulatedAggregator, create_simulator_app

RECORDED_MO = ("IFVERSION=201001&MONUMBER=447700900123&OPERATOR=o2-uk&DESTINATION=70141&BODY=SUN%C2%A35"
               "&RECEIVETIME=20261201102030&GUID=7CDEB38F-4370-18FD-D7CE-329F21B99209&PRICE=0")
RECORDED_CHARGE_REPORT = (
    "IFVERSION=201001&CHARGEMETHOD=BILL&MONUMBER=447700900123&OPERATOR=o2-uk"
    "&GUID=r-4-F21B992E9257936E3D2F7CDEB38F217C&DURATION=2&RETRYCOUNT=0&STATUSCODE=DELIVERED"
    "&STATUSTEXT=Delivered&REQUESTID=EPC5K2M9Q1&STATUSTIME=20261201102032&CONTRACT=PAYG")
RECORDED_DELIVERY_REPORT = (
    "IFVERSION=201001&OPERATOR=o2-uk&MONUMBER=447700900123&DESTINATION=70141&STATUSCODE=DELIVERED"
    "&STATUSTEXT=Delivered&STATUSTIME=20261201102040&GUID=7CDEB38F-4370-18FD-D7CE-329F21B99209")
RECORDED_CHARGE_ANSWER = '{"success": {"txguid": "r-4-F21B992E9257936E3D2F7CDEB38F217C", "numbers": "1", ' \
                         '"encoding": "gsm"}}'
RECORDED_SEND_ANSWER = '{"success": {"txguid": "7CDEB38F-4370-18FD-D7CE-329F21B99209", "numbers": "1", ' \
                       '"smsparts": "1", "encoding": "gsm"}}'
RECORDED_FAILURE = '{"failure": {"parameter": "NUMBERS", "failcode": "INVALID_MSISDN"}}'
REFUND_FIELDS = {"ifversion", "statuscode", "statustext", "guid", "requestid", "charge_guid", "refund_time",
                 "refunded_amount_in_pence"}
RECORDED_REFUND = json.dumps({"success": {
    "ifversion": "201001", "statuscode": "REFUNDED", "statustext": "Refunded", "guid": "r-4-REFUND1",
    "requestid": "EPC5K2M9Q1RF", "charge_guid": "r-4-F21B992E9257936E3D2F7CDEB38F217C",
    "refund_time": "20261201110000", "refunded_amount_in_pence": 500}})

KEY, TOKEN = "key", "token"
STAMP = re.compile(r"^20[0-9]{12}$")


def _form(recorded: str) -> dict[str, str]:
    return dict(parse_qsl(recorded, keep_blank_values=True))


# ---- the adapter reads what Fonix sends ----------------------------------------------------------------

def test_the_adapter_reads_the_recorded_mo():
    text = fonix.read_mo(_form(RECORDED_MO))

    assert (text.message_id, text.msisdn, text.to, text.body, text.network, text.received_at) == (
        "7CDEB38F-4370-18FD-D7CE-329F21B99209", "447700900123", "70141", "SUN£5", "O2", "20261201102030")


def test_the_adapter_reads_the_recorded_charge_report_as_charged():
    report = fonix.read_charge_report(_form(RECORDED_CHARGE_REPORT))

    assert (report.request_id, report.status, report.reason, report.network, report.txguid) == (
        "EPC5K2M9Q1", "charged", None, "O2", "r-4-F21B992E9257936E3D2F7CDEB38F217C")


@pytest.mark.parametrize("code", ["INSUFFICIENT_FUNDS", "TEMPORARY_BARRED", "OPERATOR_SRV_MONTHLY_MAX_SPEND",
                                  "A_CODE_NO_LIST_HAS"])
def test_any_other_status_code_is_a_failure_with_that_code_never_an_error(code):
    report = fonix.read_charge_report(_form(RECORDED_CHARGE_REPORT.replace("STATUSCODE=DELIVERED",
                                                                             f"STATUSCODE={code}")))
    assert (report.status, report.reason) == ("failed", code)


def test_fields_longer_than_we_store_are_cut_where_they_arrive():
    long_code = "OPERATOR_SRV_TYPE_MONTHLY_MAX_SPEND_" + "X" * 200
    form = _form(RECORDED_CHARGE_REPORT) | {"STATUSCODE": long_code, "GUID": "G" * 300, "OPERATOR": "z" * 90}

    report = fonix.read_charge_report(form)

    assert report.reason == long_code[:80] and len(report.txguid) == 80 and len(report.network) == 40


def test_the_adapter_reads_the_recorded_delivery_report_by_its_guid():
    report = fonix.read_delivery_report(_form(RECORDED_DELIVERY_REPORT))
    assert (report.txguid, report.status, report.detail) == ("7CDEB38F-4370-18FD-D7CE-329F21B99209", "delivered",
                                                             None)


@pytest.mark.parametrize(("recorded", "reader"), [
    (RECORDED_MO, fonix.read_mo), (RECORDED_CHARGE_REPORT, fonix.read_charge_report),
    (RECORDED_DELIVERY_REPORT, fonix.read_delivery_report)])
def test_a_callback_missing_its_key_fields_names_them(recorded, reader):
    with pytest.raises(fonix.BadCallback, match="missing"):
        reader({key: value for key, value in _form(recorded).items() if key not in ("GUID", "REQUESTID")})


def _answering(status: int, body: str, seen: list[httpx.Request]) -> fonix.FonixAggregator:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, text=body)

    client = httpx.Client(transport=httpx.MockTransport(answer))
    return fonix.FonixAggregator("https://sonar.fonix.io", KEY, client=client)


ORDER = ChargeOrder("EPC5K2M9Q1", "447700900123", "70141", 500, "GBP", "Donation", "Thank you!", 30)


def test_the_adapter_charges_with_one_chargemobile_call_carrying_the_receipt_and_keeps_the_txguid():
    seen: list[httpx.Request] = []

    answer = _answering(200, RECORDED_CHARGE_ANSWER, seen).request_charge(ORDER)

    assert answer.txguid == "r-4-F21B992E9257936E3D2F7CDEB38F217C" and answer.failcode is None
    [request] = seen
    assert (request.url.path, request.headers["X-API-KEY"]) == ("/v2/chargemobile", KEY)
    assert _form(request.content.decode()) == {
        "NUMBERS": "447700900123", "ORIGINATOR": "70141", "AMOUNT": "500", "CURRENCY": "GBP",
        "REQUESTID": "EPC5K2M9Q1", "CHARGEDESCRIPTION": "Donation", "TIMETOLIVE": "30", "CHARGESILENT": "no",
        "BODY": "Thank you!"}


def test_a_refused_charge_fails_with_its_failcode_but_a_refused_key_is_retried():
    assert _answering(400, RECORDED_FAILURE, []).request_charge(ORDER).failcode == "INVALID_MSISDN (NUMBERS)"
    with pytest.raises(fonix.AggregatorRefused):
        _answering(401, RECORDED_FAILURE, []).request_charge(ORDER)
    with pytest.raises(fonix.AggregatorRefused, match="refused our key"):  # lindar: 403, whatever its body
        _answering(403, "Forbidden", []).request_charge(ORDER)


# The failure answers the public clients show for parameters (lindar's FonixBadRequestException carries them).
EMPTY_PARAMETER = '{"failure": {"parameter": "BODY", "failcode": "IS_EMPTY"}}'


def test_a_message_fonix_refuses_with_a_4xx_is_never_retried_but_a_bad_key_is():
    with pytest.raises(MessageRefused, match=r"HTTP 400 IS_EMPTY \(BODY\)") as refused:
        _answering(400, EMPTY_PARAMETER, []).send_message(MessageOrder("m1", "447700900123", "70141", ""))
    assert isinstance(refused.value, NeverSucceeds)
    with pytest.raises(fonix.AggregatorRefused):
        _answering(403, "", []).send_message(MessageOrder("m1", "447700900123", "70141", "hi"))


def test_the_simulator_answers_empty_and_invalid_parameters_and_a_bad_key_as_the_clients_read_them(simulated):
    _, api, _ = simulated

    empty = api.post("/v2/sendsms", headers={"X-API-KEY": KEY}, data={"NUMBERS": "447700900123", "ORIGINATOR": "1"})
    bad_key = api.post("/v2/sendsms", headers={"X-API-KEY": "wrong"}, data={})

    assert (empty.status_code, empty.text) == (400, '{"failure": {"parameter": "BODY", "failcode": "IS_EMPTY"}}')
    assert bad_key.status_code == 403
    with pytest.raises(fonix.FonixUnavailable):
        _answering(503, "busy", []).request_charge(ORDER)
    with pytest.raises(fonix.BadAnswer):
        _answering(200, "<html>proxy</html>", []).request_charge(ORDER)


def test_dummy_mode_sends_dummy_yes_on_every_call():
    seen: list[httpx.Request] = []
    aggregator = _answering(200, RECORDED_SEND_ANSWER, seen)
    aggregator.dummy = True

    txguid = aggregator.send_message(MessageOrder("m1", "447700900123", "70141", "Help: ..."))

    assert txguid == "7CDEB38F-4370-18FD-D7CE-329F21B99209"
    assert _form(seen[0].content.decode()) == {"NUMBERS": "447700900123", "ORIGINATOR": "70141",
                                               "BODY": "Help: ...", "DUMMY": "yes", "REQUESTID": "m1"}


# client/sendsms.go's example: `-d REQUESTID=F21B992E9257936E3D2F7CDEB38F217C`; client/handlers.go's DrHandler
# reads REQUESTID from the delivery report.
RECORDED_DELIVERY_REPORT_WITH_ID = RECORDED_DELIVERY_REPORT + "&REQUESTID=F21B992E9257936E3D2F7CDEB38F217C"


def test_the_adapter_sends_our_request_id_with_a_message_and_reads_it_back_from_the_delivery_report():
    seen: list[httpx.Request] = []
    _answering(200, RECORDED_SEND_ANSWER, seen).send_message(
        MessageOrder("F21B992E9257936E3D2F7CDEB38F217C", "447700900123", "70141", "Help: ..."))

    assert _form(seen[0].content.decode())["REQUESTID"] == "F21B992E9257936E3D2F7CDEB38F217C"
    report = fonix.read_delivery_report(_form(RECORDED_DELIVERY_REPORT_WITH_ID))
    assert (report.request_id, report.txguid) == ("F21B992E9257936E3D2F7CDEB38F217C",
                                                  "7CDEB38F-4370-18FD-D7CE-329F21B99209")
    assert fonix.read_delivery_report(_form(RECORDED_DELIVERY_REPORT)).request_id is None


def test_the_simulator_echoes_a_messages_request_id_in_its_delivery_report(simulated):
    simulator, api, recorder = simulated

    message = {"NUMBERS": "447700900123", "ORIGINATOR": "70141", "BODY": "hi"}
    api.post("/v2/sendsms", headers={"X-API-KEY": KEY},
             data={**message, "REQUESTID": "F21B992E9257936E3D2F7CDEB38F217C"})
    bad = api.post("/v2/sendsms", headers={"X-API-KEY": KEY}, data={**message, "REQUESTID": "not-letters!"})
    simulator.deliver_due()

    [delivery] = _callbacks(recorder, "delivery-report")
    assert _shape(delivery) == _shape(_form(RECORDED_DELIVERY_REPORT_WITH_ID))
    assert delivery["REQUESTID"] == "F21B992E9257936E3D2F7CDEB38F217C"
    assert bad.json() == {"failure": {"parameter": "REQUESTID", "failcode": "IS_INVALID"}}


@pytest.mark.parametrize("outcome", ["success", "pending", "failure"])
def test_the_adapter_reads_each_refund_answer(outcome):
    seen: list[httpx.Request] = []
    body = RECORDED_REFUND.replace('"success"', f'"{outcome}"')

    answer = _answering(200, body, seen).refund(RefundOrder("EPC5K2M9Q1RF", "447700900123", "r-4-F21B"))

    assert answer.status is RefundStatus(outcome) and answer.detail == "REFUNDED Refunded"
    assert _form(seen[0].content.decode()) == {"REQUESTID": "EPC5K2M9Q1RF", "NUMBERS": "447700900123",
                                               "CHARGE_GUID": "r-4-F21B"}


# ---- the simulator writes what Fonix sends -----------------------------------------------------------------

class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((request.url.path, _form(request.read().decode())))
        return httpx.Response(200)


@pytest.fixture
def simulated():
    recorder = Recorder()
    simulator = SimulatedAggregator("http://app", KEY, TOKEN,
                                    client=httpx.Client(base_url="http://app", transport=httpx.MockTransport(recorder)))
    return simulator, TestClient(create_simulator_app(simulator)), recorder


def _callbacks(recorder: Recorder, kind: str) -> list[dict[str, str]]:
    return [fields for path, fields in recorder.calls if path == f"/webhooks/aggregator/{TOKEN}/{kind}"]


def _shape(fields: dict[str, str]) -> dict[str, str]:
    """What a field's value looks like: recorded and simulated values differ, their forms must not."""
    return {name: "stamp" if STAMP.match(value) else "digits" if value.isdigit() else "text"
            for name, value in fields.items()}


def test_the_simulators_mo_has_the_recorded_fields_and_forms(simulated):
    simulator, _, recorder = simulated
    simulator.text("+447700900123", "70141", "SUN£5")
    simulator.deliver_due()

    [mo] = _callbacks(recorder, "mo")
    assert _shape(mo) == _shape(_form(RECORDED_MO))
    assert re.fullmatch(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}", mo["GUID"])


def _charge(api: TestClient, number: str = "447700900123", request_id: str = "EPC5K2M9Q1") -> httpx.Response:
    return api.post("/v2/chargemobile", headers={"X-API-KEY": KEY}, data={
        "NUMBERS": number, "ORIGINATOR": "70141", "AMOUNT": "500", "CURRENCY": "GBP", "REQUESTID": request_id,
        "CHARGEDESCRIPTION": "Donation", "TIMETOLIVE": "30", "CHARGESILENT": "no", "BODY": "Thank you!"})


def test_the_simulators_chargemobile_answer_and_reports_have_the_recorded_fields_and_forms(simulated):
    simulator, api, recorder = simulated

    answer = _charge(api)
    simulator.deliver_due()

    assert answer.status_code == 200
    assert _shape(answer.json()["success"]) == _shape(json.loads(RECORDED_CHARGE_ANSWER)["success"])
    [report] = _callbacks(recorder, "charge-report")
    assert _shape(report) == _shape(_form(RECORDED_CHARGE_REPORT))
    assert (report["STATUSCODE"], report["REQUESTID"], report["GUID"]) == (
        "DELIVERED", "EPC5K2M9Q1", answer.json()["success"]["txguid"])
    # The charge report stands for the receipt sent with the charge: no delivery report follows it.
    assert _callbacks(recorder, "delivery-report") == []


def test_the_simulators_sendsms_failure_answers_and_delivery_report_have_the_recorded_fields(simulated):
    simulator, api, recorder = simulated

    sent = api.post("/v2/sendsms", headers={"X-API-KEY": KEY},
                    data={"NUMBERS": "447700900123", "ORIGINATOR": "70141", "BODY": "hi"})
    refused = api.post("/v2/sendsms", headers={"X-API-KEY": KEY}, data={"ORIGINATOR": "70141", "BODY": "hi"})
    simulator.deliver_due()

    assert _shape(sent.json()["success"]) == _shape(json.loads(RECORDED_SEND_ANSWER)["success"])
    [delivery] = _callbacks(recorder, "delivery-report")
    assert _shape(delivery) == _shape(_form(RECORDED_DELIVERY_REPORT))
    assert delivery["GUID"] == sent.json()["success"]["txguid"]
    assert refused.status_code == 400
    assert set(refused.json()["failure"]) == set(json.loads(RECORDED_FAILURE)["failure"])


def test_the_simulators_refund_answer_has_the_recorded_fields(simulated):
    _, api, _ = simulated
    txguid = _charge(api).json()["success"]["txguid"]

    answer = api.post("/v2/refund", headers={"X-API-KEY": KEY},
                      data={"REQUESTID": "EPC5K2M9Q1RF", "NUMBERS": "447700900123", "CHARGE_GUID": txguid})

    assert set(answer.json()["success"]) == REFUND_FIELDS == set(json.loads(RECORDED_REFUND)["success"])


def test_the_simulator_reports_failures_in_fonix_codes(simulated):
    simulator, api, recorder = simulated
    _charge(api, "447700900251", "B1")  # a barred handset
    simulator.deliver_due()

    [report] = _callbacks(recorder, "charge-report")
    assert report["STATUSCODE"] == "TEMPORARY_BARRED" and fonix.read_charge_report(report).status == "failed"


def test_the_simulator_is_written_apart_from_the_adapter():
    source = Path(__file__).resolve().parents[2] / "src" / "everypenny" / "simulators" / "aggregator.py"
    imported = {node.module for node in ast.walk(ast.parse(source.read_text()))
                if isinstance(node, ast.ImportFrom) and node.module}
    assert not any(name.startswith(("everypenny.adapters", "everypenny.service_layer")) for name in imported)


# ---- refunds go to Fonix's refund host (JakubOboza/fonix client/client.go, DEFAULT_URL_REFUND) ---------------

def test_refunds_go_to_the_refund_host_and_charges_to_the_api_host():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text=RECORDED_REFUND if request.url.path == "/v2/refund" else RECORDED_CHARGE_ANSWER)

    aggregator = fonix.FonixAggregator("https://sonar.fonix.io", KEY, client=httpx.Client(
        transport=httpx.MockTransport(answer)), refund_url="https://refund.fonix.io")
    aggregator.request_charge(ORDER)
    aggregator.refund(RefundOrder("EPC5K2M9Q1RF", "447700900123", "r-4-F21B992E9257936E3D2F7CDEB38F217C"))

    assert [str(request.url) for request in seen] == ["https://sonar.fonix.io/v2/chargemobile",
                                                      "https://refund.fonix.io/v2/refund"]


@pytest.mark.parametrize(("environment", "refund_url"), [
    ({"EVERYPENNY_AGGREGATOR_URL": "https://sonar.fonix.io"}, "https://refund.fonix.io"),
    ({"EVERYPENNY_AGGREGATOR_URL": "http://127.0.0.1:8001"}, "http://127.0.0.1:8001"),
    ({"EVERYPENNY_AGGREGATOR_URL": "https://sonar.fonix.io",
      "EVERYPENNY_AGGREGATOR_REFUND_URL": "https://refunds.example"}, "https://refunds.example"),
])
def test_the_refund_host_is_fonixs_own_unless_the_aggregator_is_the_simulator_or_another_is_set(
        monkeypatch, environment, refund_url):
    from everypenny.config import Settings

    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    assert Settings().refund_url == refund_url
