"""The aggregator simulator's own behaviour: handsets by number, idempotent charges, callbacks to the token URL,
retried. (tests/unit/test_fonix_contract.py checks its wire format against Fonix's recorded exchanges.)"""

from __future__ import annotations

from urllib.parse import parse_qsl

import httpx
import pytest
from fastapi.testclient import TestClient

from everypenny.simulators.aggregator import (
    Delivery,
    SimulatedAggregator,
    create_simulator_app,
    profile_for,
)

TOKEN = "callback-token"
KEY = "api-key"


class RecordingApp:
    """Stands in for everypenny: records callbacks, answering with the given status codes in turn."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = statuses or []
        self.calls: list[tuple[str, dict[str, str]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((request.url.path, dict(parse_qsl(request.read().decode()))))
        return httpx.Response(self.statuses.pop(0) if self.statuses else 200)


def _simulator(app: RecordingApp, **options) -> SimulatedAggregator:
    client = httpx.Client(base_url="http://app", transport=httpx.MockTransport(app))
    return SimulatedAggregator("http://app", KEY, TOKEN, client=client, **options)


@pytest.mark.parametrize(("number", "network", "says"), [
    ("447700900001", "EE", "every charge"), ("447700900150", "O2", "£10 per charge"),
    ("447700900220", "VODAFONE", "£5 credit"), ("447700900299", "THREE", "barred"),
    ("447700900333", "VODAFONE", "spend cap"), ("447700900360", "MVNO", "does not bill"),
    ("447700900420", "EE", "no network knows"), ("447700900480", "TESCO", "£10 per charge"),
    ("447700900540", "O2", "£15 credit"), ("447911123456", "EE", "every charge"),
])
def test_handsets_behave_by_number_as_the_readme_says(number, network, says):
    profile = profile_for(number)
    assert profile.network == network and says in profile.description


@pytest.mark.parametrize(("number", "operator"), [
    ("447700900001", "eetmo-uk"), ("447700900150", "o2-uk"), ("447700900220", "voda-uk"),
    ("447700900299", "three-uk"), ("447700900420", "eeora-uk"), ("447700900560", "virgin-uk"),
])
def test_handsets_are_on_fonix_operator_codes(number, operator):
    assert profile_for(number).operator == operator


def test_a_text_becomes_an_mo_callback_to_the_token_url():
    app = RecordingApp()
    simulator = _simulator(app)

    guid = simulator.text("+447700900001", "70141", "SUN£5")
    simulator.deliver_due()

    [(path, fields)] = app.calls
    assert path == f"/webhooks/aggregator/{TOKEN}/mo"
    assert (fields["GUID"], fields["MONUMBER"], fields["DESTINATION"], fields["BODY"], fields["OPERATOR"]) == (
        guid, "447700900001", "70141", "SUN£5", "eetmo-uk")


def test_charges_follow_the_handset_and_are_idempotent_on_request_id():
    app = RecordingApp()
    simulator = _simulator(app)
    api = TestClient(create_simulator_app(simulator))

    def charge(number: str, pence: int, request_id: str) -> httpx.Response:
        return api.post("/v2/chargemobile", headers={"X-API-KEY": KEY}, data={
            "NUMBERS": number, "AMOUNT": str(pence), "CURRENCY": "GBP", "REQUESTID": request_id,
            "CHARGEDESCRIPTION": "Gift", "CHARGESILENT": "no", "BODY": f"Thank you for {pence}p"})

    first = charge("447700900201", 300, "a")
    assert first.status_code == 200 and first.json()["success"]["txguid"]
    assert charge("447700900201", 300, "b").status_code == 200  # £6 > £5 credit
    assert charge("447700900201", 300, "a").json() == first.json()  # the same request again
    assert charge("447700900101", 2000, "c").status_code == 200  # over O2's per-charge maximum
    simulator.deliver_due()

    reports = {fields["REQUESTID"]: fields["STATUSCODE"] for path, fields in app.calls
               if path.endswith("/charge-report")}
    assert reports == {"a": "DELIVERED", "b": "INSUFFICIENT_FUNDS", "c": "AMOUNT_OVER_NETWORK_MAXIMUM"}
    assert [m["body"] for m in simulator.handset("447700900201").received] == ["Thank you for 300p"]
    assert simulator.charged_pence() == 300
    assert api.get("/sim/charges").json()["charged_pence"] == 300


def test_the_api_refuses_a_wrong_key_and_incomplete_requests():
    api = TestClient(create_simulator_app(_simulator(RecordingApp())))

    assert api.post("/v2/sendsms", data={"BODY": "hi"}).status_code == 403  # lindar's client: a bad key
    response = api.post("/v2/sendsms", headers={"X-API-KEY": KEY}, data={"BODY": "hi"})
    assert response.status_code == 400
    assert response.json() == {"failure": {"parameter": "NUMBERS", "failcode": "IS_EMPTY"}}
    bad_id = api.post("/v2/chargemobile", headers={"X-API-KEY": KEY}, data={
        "NUMBERS": "447700900001", "AMOUNT": "500", "CURRENCY": "GBP", "REQUESTID": "has-dashes",
        "CHARGEDESCRIPTION": "Gift"})
    assert bad_id.json() == {"failure": {"parameter": "REQUESTID", "failcode": "IS_INVALID"}}


def test_dummy_requests_are_answered_and_change_nothing():
    app = RecordingApp()
    simulator = _simulator(app)
    api = TestClient(create_simulator_app(simulator))

    answer = api.post("/v2/chargemobile", headers={"X-API-KEY": KEY}, data={
        "NUMBERS": "447700900001", "AMOUNT": "500", "CURRENCY": "GBP", "REQUESTID": "d1",
        "CHARGEDESCRIPTION": "Gift", "BODY": "Thanks", "DUMMY": "yes"})
    simulator.deliver_due()

    assert answer.status_code == 200 and answer.json()["success"]["txguid"]
    assert simulator.charged_pence() == 0 and app.calls == [] and simulator.handset("447700900001").received == []


def test_refunds_give_a_charge_back_wait_with_the_network_or_fail():
    simulator = _simulator(RecordingApp())
    api = TestClient(create_simulator_app(simulator))

    def charge(number: str, request_id: str) -> str:
        return api.post("/v2/chargemobile", headers={"X-API-KEY": KEY}, data={
            "NUMBERS": number, "AMOUNT": "500", "CURRENCY": "GBP", "REQUESTID": request_id,
            "CHARGEDESCRIPTION": "Gift"}).json()["success"]["txguid"]

    def refund(number: str, request_id: str, txguid: str) -> dict:
        return api.post("/v2/refund", headers={"X-API-KEY": KEY}, data={
            "REQUESTID": request_id, "NUMBERS": number, "CHARGE_GUID": txguid}).json()

    done = refund("447700900001", "r1", charge("447700900001", "c1"))
    waiting = refund("447700900560", "r2", charge("447700900560", "c2"))
    nothing = refund("447700900001", "r3", "r-4-NOSUCHCHARGE")

    assert done["success"]["refunded_amount_in_pence"] == 500
    assert waiting["pending"]["statuscode"] == "PENDING"
    assert nothing["failure"]["statuscode"] == "NOT_REFUNDABLE"


def test_callbacks_the_app_refuses_are_retried_then_given_up():
    app = RecordingApp(statuses=[503, 503, 503])
    simulator = _simulator(app, max_attempts=2, retry_base_s=0)

    simulator.text("+447700900001", "70141", "SUN5")
    simulator.deliver_due()
    assert simulator.queued() == 1  # to be tried again

    simulator.deliver_due()

    assert len(app.calls) == 2 and simulator.queued() == 0
    assert [kind for kind, _ in simulator.undeliverable] == ["mo"]


def test_duplicates_and_reversed_batches_when_asked():
    app = RecordingApp()
    simulator = _simulator(app, delivery=Delivery(duplicate_rate=1.0, reverse_batches=True))

    first = simulator.text("+447700900001", "70141", "first")
    second = simulator.text("+447700900001", "70141", "second")
    simulator.deliver_due()

    assert [fields["GUID"] for _, fields in app.calls] == [second, second, first, first]
