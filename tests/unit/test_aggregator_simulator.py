"""The aggregator simulator's own behaviour: handsets by number, idempotent charges, signed and retried callbacks."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from everypenny.adapters.aggregator import wire
from everypenny.simulators.aggregator import (
    Delivery,
    SimulatedAggregator,
    create_simulator_app,
    profile_for,
)

SECRET = "callback-secret"
KEY = "api-key"


class RecordingApp:
    """Stands in for everypenny: records callbacks, answering with the given status codes in turn."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = statuses or []
        self.calls: list[tuple[str, dict[str, str], bool]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        signed = wire.signature_valid(SECRET, body, request.headers.get(wire.SIGNATURE_HEADER))
        self.calls.append((request.url.path, wire.decode(body), signed))
        return httpx.Response(self.statuses.pop(0) if self.statuses else 200)


def _simulator(app: RecordingApp, **options) -> SimulatedAggregator:
    client = httpx.Client(base_url="http://app", transport=httpx.MockTransport(app))
    return SimulatedAggregator("http://app", KEY, SECRET, client=client, **options)


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


def test_a_text_becomes_a_signed_mo_callback():
    app = RecordingApp()
    simulator = _simulator(app)

    guid = simulator.text("+447700900001", "70141", "SUN£5")
    simulator.deliver_due()

    [(path, fields, signed)] = app.calls
    assert path == wire.MO_CALLBACK and signed
    assert (fields["GUID"], fields["MONUMBER"], fields["DESTINATION"], fields["BODY"], fields["OPERATOR"]) == (
        guid, "447700900001", "70141", "SUN£5", "EE")


def test_charges_follow_the_handset_and_are_idempotent_on_request_id():
    app = RecordingApp()
    simulator = _simulator(app)
    api = TestClient(create_simulator_app(simulator))

    def charge(number: str, pence: int, request_id: str) -> httpx.Response:
        return api.post(wire.CHARGE_PATH, headers={wire.API_KEY_HEADER: KEY}, data={
            "ORIGINATOR": "70141", "NUMBERS": number, "AMOUNT": str(pence), "REQUESTID": request_id})

    assert charge("447700900201", 300, "a").status_code == 200
    assert charge("447700900201", 300, "b").status_code == 200  # £6 > £5 credit
    assert charge("447700900201", 300, "a").status_code == 200  # the same request again
    assert charge("447700900101", 2000, "c").status_code == 200  # over O2's per-charge maximum
    simulator.deliver_due()

    reports = {fields["REQUESTID"]: (fields["STATUSCODE"], fields["STATUSTEXT"]) for _, fields, _ in app.calls}
    assert reports == {"a": ("CHARGED", ""), "b": ("FAILED", "INSUFFICIENT_CREDIT"),
                       "c": ("FAILED", "OVER_NETWORK_MAXIMUM")}
    assert len(app.calls) == 3 and simulator.charged_pence() == 300
    assert api.get("/sim/charges").json()["charged_pence"] == 300


def test_the_api_refuses_a_wrong_key_and_incomplete_requests():
    api = TestClient(create_simulator_app(_simulator(RecordingApp())))

    assert api.post(wire.SEND_PATH, data={"BODY": "hi"}).status_code == 401
    response = api.post(wire.SEND_PATH, headers={wire.API_KEY_HEADER: KEY}, data={"BODY": "hi"})
    assert response.status_code == 400 and "NUMBERS" in response.json()["error"]


def test_callbacks_the_app_refuses_are_retried_then_given_up():
    app = RecordingApp(statuses=[503, 503, 503])
    simulator = _simulator(app, max_attempts=2, retry_base_s=0)

    simulator.text("+447700900001", "70141", "SUN5")
    simulator.deliver_due()
    assert simulator.queued() == 1  # to be tried again

    simulator.deliver_due()

    assert len(app.calls) == 2 and simulator.queued() == 0
    assert [path for path, _ in simulator.undeliverable] == [wire.MO_CALLBACK]


def test_duplicates_and_reversed_batches_when_asked():
    app = RecordingApp()
    simulator = _simulator(app, delivery=Delivery(duplicate_rate=1.0, reverse_batches=True))

    first = simulator.text("+447700900001", "70141", "first")
    second = simulator.text("+447700900001", "70141", "second")
    simulator.deliver_due()

    assert [fields["GUID"] for _, fields, _ in app.calls] == [second, second, first, first]
