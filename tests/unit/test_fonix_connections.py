"""Our calls to Fonix go over pooled keep-alive connections, several at once, with the same answers and errors
as one call after another (adapters/aggregator/fonix.py, service_layer/text_giving.request_charges)."""

from __future__ import annotations

import http.server
import itertools
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl

import pytest

from everypenny.adapters.aggregator import fonix
from everypenny.domain.text_giving import OutboundText
from everypenny.service_layer.outbox import CallsFailed
from everypenny.service_layer.ports import OutboxTask
from everypenny.service_layer.text_giving import request_charges, send_messages
from everypenny.service_layer.text_giving_ports import ChargeAnswer, ChargeOrder, MessageOrder

PHONES = itertools.count()
TASK_IDS = itertools.count(1)
ANSWER = b'{"success": {"txguid": "r-4-TX", "numbers": "1", "encoding": "gsm"}}'


class FakeFonix(http.server.ThreadingHTTPServer):
    """Answers every chargemobile with success (or 503 for REQUESTID BUSY) and counts the connections opened."""

    daemon_threads = True

    def __init__(self) -> None:
        self.connections = 0
        self.forms: list[dict[str, str]] = []
        self.barrier: threading.Barrier | None = None
        super().__init__(("127.0.0.1", 0), _Answer)

    def get_request(self):
        self.connections += 1
        return super().get_request()


class _Answer(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        form = dict(parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
        self.server.forms.append({**form, "key": self.headers["X-API-KEY"], "path": self.path})
        if self.server.barrier is not None:
            self.server.barrier.wait(timeout=5)  # every call of the batch is in flight at once
        status, body = (503, b"busy") if form.get("REQUESTID") == "BUSY" else (200, ANSWER)
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *arguments) -> None:
        pass


@pytest.fixture
def fake_fonix():
    server = FakeFonix()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _order(request_id: str, msisdn: str | None = None) -> ChargeOrder:
    """A charge to a phone of its own unless told: calls to one phone are made in turn."""
    return ChargeOrder(request_id, msisdn or f"44770090{next(PHONES):04d}", "70141", 500, "GBP", "Donation",
                       "Thank you!", 30)


def test_calls_one_after_another_reuse_one_connection(fake_fonix):
    aggregator = fonix.FonixAggregator(f"http://127.0.0.1:{fake_fonix.server_port}/", "key")

    answers = [aggregator.request_charge(_order(f"EPC{number}")) for number in range(3)]

    assert [answer.txguid for answer in answers] == ["r-4-TX"] * 3
    assert fake_fonix.connections == 1
    assert [(form["path"], form["key"], form["REQUESTID"], form["BODY"]) for form in fake_fonix.forms] == [
        ("/v2/chargemobile", "key", f"EPC{number}", "Thank you!") for number in range(3)]
    aggregator.close()


def test_a_connection_the_server_closed_while_idle_is_replaced_not_failed(fake_fonix):
    aggregator = fonix.FonixAggregator(f"http://127.0.0.1:{fake_fonix.server_port}", "key")
    aggregator.request_charge(_order("EPC1"))
    for connection in aggregator._connections._idle:
        connection.sock.shutdown(socket.SHUT_RDWR)  # unusable, as if the server had timed it out

    assert aggregator.request_charge(_order("EPC2")).txguid == "r-4-TX"
    assert fake_fonix.connections == 2


def test_a_5xx_is_fonix_trouble_and_retried(fake_fonix):
    aggregator = fonix.FonixAggregator(f"http://127.0.0.1:{fake_fonix.server_port}", "key")

    with pytest.raises(fonix.FonixUnavailable):
        aggregator.request_charge(_order("BUSY"))
    assert aggregator.request_charge(_order("EPC1")).txguid == "r-4-TX"  # the connection was not spoilt


def test_a_batch_of_charges_is_asked_side_by_side_over_pooled_connections(fake_fonix):
    aggregator = fonix.FonixAggregator(f"http://127.0.0.1:{fake_fonix.server_port}", "key")
    fake_fonix.barrier = threading.Barrier(4)  # answers only once all four calls are in flight
    calls = ThreadPoolExecutor(4)

    answered = request_charges(aggregator, queued([_order(f"EPC{number}") for number in range(4)]), calls)
    fake_fonix.barrier = None
    request_charges(aggregator, queued([_order(f"EPC{number}") for number in range(4, 8)]), calls)

    assert [order.request_id for order, _ in answered] == [f"EPC{number}" for number in range(4)]
    assert fake_fonix.connections == 4  # the second batch reused the first one's connections


class SomeBusy:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def request_charge(self, order: ChargeOrder) -> ChargeAnswer:
        self.asked.append(order.request_id)
        if order.request_id.startswith("BUSY"):
            raise fonix.FonixUnavailable("HTTP 503")
        return ChargeAnswer(order.request_id, txguid=f"tx-{order.request_id}")


def test_a_failing_charge_call_among_many_keeps_the_others_answers():
    orders = [_order("EPC1"), _order("BUSY2"), _order("EPC3")]

    with pytest.raises(CallsFailed) as failed:
        request_charges(SomeBusy(), queued(orders), ThreadPoolExecutor(2))

    assert failed.value.made == [(orders[0], ChargeAnswer("EPC1", txguid="tx-EPC1")),
                                 (orders[2], ChargeAnswer("EPC3", txguid="tx-EPC3"))]
    assert failed.value.failed == [{"request_id": "BUSY2"}]
    assert isinstance(failed.value.error, fonix.FonixUnavailable)


class SomeDown:
    def send_message(self, order: MessageOrder) -> str:
        if order.request_id == "m2":
            raise ConnectionError("reset")
        return f"tx-{order.request_id}"


def test_messages_sent_before_one_failed_are_kept_as_sent_not_sent_again():
    messages = [OutboundText(f"m{number}", "aggregator", f"+44770090012{number}", "70141", "Hello", "reply",
                             "aggregator:mo1") for number in range(1, 4)]

    with pytest.raises(CallsFailed) as failed:
        send_messages(SomeDown(), queued(messages), ThreadPoolExecutor(2))

    assert failed.value.made == {"m1": "tx-m1", "m3": "tx-m3"}
    assert failed.value.failed == [{"request_id": "m2"}]


def test_a_phones_charges_are_asked_in_turn_and_a_failure_stops_the_rest_of_its_turn():
    split_gift = [_order("BUSY1", "447700900501"), _order("EPC2", "447700900501")]
    other_gift = _order("EPC3", "447700900502")
    gateway = SomeBusy()

    with pytest.raises(CallsFailed) as failed:
        request_charges(gateway, queued([*split_gift, other_gift]), ThreadPoolExecutor(2))

    assert "EPC2" not in gateway.asked  # never before the charge ahead of it, which is asked again first
    assert failed.value.made == [(other_gift, ChargeAnswer("EPC3", txguid="tx-EPC3"))]
    assert failed.value.failed == [{"request_id": "BUSY1"}, {"request_id": "EPC2"}]


def queued(calls: list) -> list[tuple[OutboxTask, object]]:
    """Each call with the outbox task it is made for, as the worker hands them over."""
    return [(OutboxTask(next(TASK_IDS), "sms.charge", {"request_id": call.request_id}, 1), call) for call in calls]
