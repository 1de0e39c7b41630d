"""Our client for the aggregator's API: charge a phone bill, send a free message. Both idempotent on REQUESTID."""

from __future__ import annotations

import httpx

from everypenny.adapters.aggregator.wire import API_KEY_HEADER, CHARGE_PATH, SEND_PATH
from everypenny.service_layer.text_giving_ports import AggregatorRefused, ChargeOrder, MessageOrder


class HttpAggregator:
    def __init__(self, base_url: str, api_key: str, client: httpx.Client | None = None,
                 timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self._client = client
        self.timeout_s = timeout_s

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout_s)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def _post(self, path: str, fields: dict[str, str]) -> None:
        response = self.client.post(f"{self.base_url}{path}", data=fields, headers={API_KEY_HEADER: self.api_key})
        if 400 <= response.status_code < 500:
            raise AggregatorRefused(f"aggregator refused {path}: {response.status_code} {response.text[:300]}")
        response.raise_for_status()  # 5xx: the outbox retries with backoff

    def request_charge(self, order: ChargeOrder) -> None:
        self._post(CHARGE_PATH, {
            "ORIGINATOR": order.shortcode, "NUMBERS": order.msisdn, "AMOUNT": str(order.amount_pence),
            "CHARGEDESCRIPTION": order.description, "REQUESTID": order.request_id})

    def send_message(self, order: MessageOrder) -> None:
        self._post(SEND_PATH, {
            "ORIGINATOR": order.sender, "NUMBERS": order.msisdn, "BODY": order.body, "REQUESTID": order.request_id})
