"""Operators watch a spike through /metrics: texts acked, work waiting, how far behind, charge outcomes."""

from everypenny.service_layer.text_giving import (
    ChargeReport,
    InboundText,
    accept_callbacks,
    charge_report_callback,
    text_callback,
)


def metric(body: str, name: str) -> float:
    for line in body.splitlines():
        if line.rsplit(" ", 1)[0] == name:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics:\n{body}")


def test_metrics_count_acked_texts_and_queued_work_from_the_database(client, platform, seed_appeal):
    empty = client.get("/metrics")
    assert empty.status_code == 200 and empty.headers["content-type"].startswith("text/plain")
    assert metric(empty.text, "everypenny_texts_acked_total") == 0
    assert metric(empty.text, "everypenny_inbox_lag_seconds") == 0

    accept_callbacks(platform.uow(), [
        text_callback(InboundText("aggregator", f"m{n}", "447400000001", "70141", "SUN5", "EE")) for n in range(3)]
        + [charge_report_callback(ChargeReport("c1", "charged"))])

    body = client.get("/metrics").text
    assert metric(body, "everypenny_texts_acked_total") == 3
    assert metric(body, 'everypenny_callbacks_received_total{kind="charge_report"}') == 1
    assert metric(body, 'everypenny_outbox_depth{topic="sms.text_received"}') == 3
    assert metric(body, "everypenny_inbox_lag_seconds") >= 0
    assert metric(body, 'everypenny_charges_total{outcome="charged"}') == 0


def test_charge_outcomes_follow_the_reports(texts):
    texts.text("447700900001", "SUN5")
    texts.text("447700900251", "SUN5")  # Three, premium texts barred: the charge fails

    body = texts.client.get("/metrics").text

    assert metric(body, 'everypenny_charges_total{outcome="charged"}') == 1
    assert metric(body, 'everypenny_charges_total{outcome="failed"}') == 1
    assert metric(body, "everypenny_inbox_lag_seconds") == 0
