"""`everypenny simulate spike` against a deployment listening on a real socket: every text acked, every
charge on the books, and a report with a chart."""

import json
import socket
import sys
import threading

from typer.testing import CliRunner

from everypenny.entrypoints.cli import app
from everypenny.entrypoints.web.app import create_app
from everypenny.simulators.deployment import free_port
from everypenny.simulators.server import BackgroundServer
from everypenny.simulators.spike import SpikePlan, SpikeRun


def test_a_small_spike_is_acked_and_its_money_reaches_the_books(platform, seed_appeal, tmp_path):
    aggregator_url = f"http://127.0.0.1:{free_port()}"
    platform.handlers.update(_handlers_calling(platform, aggregator_url))
    stop = threading.Event()
    worker = threading.Thread(target=platform.worker(threads=2).run_until, args=(stop,), daemon=True)
    worker.start()
    plan = SpikePlan(peak_per_s=20, ramp_s=1, hold_s=2, refusing_share=0.2, duplicate_rate=0.2, couriers=4,
                     drain_timeout_s=240)
    settings = platform.settings
    try:
        with BackgroundServer(create_app(platform)) as app_url:
            run = SpikeRun(plan, [app_url], aggregator_url, settings.aggregator_api_key,
                           settings.aggregator_callback_token)
            figures = run.run()
    finally:
        stop.set()
        worker.join(timeout=10)

    assert figures.texts_acked == plan.total_texts == 50
    assert figures.drained and figures.totals_match and figures.raised_pence > 0
    assert 0 < figures.donations_posted <= plan.total_texts
    assert figures.ack_p50_ms <= figures.ack_p99_ms
    timeline = run.timeline()
    assert sum(row["offered"] for row in timeline) == plan.total_texts
    assert sum(row["acked"] for row in timeline) >= plan.total_texts  # duplicates are acked too


def _handlers_calling(platform, aggregator_url):
    from everypenny.bootstrap import task_handlers

    return task_handlers(platform.settings.model_copy(update={"aggregator_url": aggregator_url}))


def test_an_acknowledgements_only_spike_ends_when_every_text_is_acked_and_queues_their_work(
        platform, seed_appeal, tmp_path):
    from everypenny.simulators.spike_report import write_report

    plan = SpikePlan(peak_per_s=40, ramp_s=0, hold_s=1, couriers=4, ack_only=True, drain_timeout_s=60)
    settings = platform.settings
    with BackgroundServer(create_app(platform)) as app_url:  # no worker runs
        run = SpikeRun(plan, [app_url], f"http://127.0.0.1:{free_port()}", settings.aggregator_api_key,
                       settings.aggregator_callback_token)
        figures = run.run()

    assert figures.drained and figures.texts_acked == plan.total_texts == 40
    assert figures.donations_posted == 0
    with platform.uow() as uow:
        assert uow.outbox.depth() == 40  # every acknowledged text's work is waiting for a worker
    report = (write_report(tmp_path, plan, figures, run.timeline())[1]).read_text()
    assert "not measured: acknowledgements only" in report and "charged by the networks" not in report


def test_the_spike_reads_the_appeals_broadcast_markers_for_its_chart(platform, seed_appeal):
    from datetime import UTC, datetime

    from everypenny.service_layer.broadcast import add_marker

    plan = SpikePlan(peak_per_s=10, ramp_s=0, hold_s=1, couriers=2, ack_only=True, drain_timeout_s=60)
    add_marker(platform.uow(), seed_appeal.slug, "BBC One appeal film", datetime.now(UTC))
    with BackgroundServer(create_app(platform)) as app_url:
        run = SpikeRun(plan, [app_url], f"http://127.0.0.1:{free_port()}", platform.settings.aggregator_api_key,
                       platform.settings.aggregator_callback_token)
        run.run()
        [(second, label)] = run.markers()

    assert label == "BBC One appeal film" and second <= 0  # marked before the spike began


def test_the_command_refuses_an_impossible_plan_and_an_unreachable_deployment(tmp_path):
    runner = CliRunner()

    bad = runner.invoke(app, ["simulate", "spike", "--keywords", "SUN5:lots"])
    assert bad.exit_code == 2 and "BODY:WEIGHT" in bad.output

    port = free_port()
    unreachable = runner.invoke(app, ["simulate", "spike", "--app-url", f"http://127.0.0.1:{port}",
                                      "--report-dir", str(tmp_path)],
                                env={"EVERYPENNY_AGGREGATOR_URL": f"http://127.0.0.1:{free_port()}"})
    assert unreachable.exit_code == 3 and f"cannot reach http://127.0.0.1:{port}" in unreachable.output


def test_the_report_gives_the_figures_and_draws_the_chart(tmp_path):
    from everypenny.simulators.spike import SpikeFigures
    from everypenny.simulators.spike_report import write_report

    figures = SpikeFigures(texts_offered=100, texts_acked=100, offered_per_s=50, acked_per_s=50, ack_p50_ms=3,
                           ack_p99_ms=20, peak_ack_p99_ms=25, donations_posted=90, donations_posted_per_s=30,
                           raised_pence=45000, simulator_charged_pence=45000, undeliverable_callbacks=0,
                           drained=True, seconds_to_drain=3)
    timeline = [{"second": s, "offered": 50, "acked": 50, "p50_ms": 3, "p99_ms": 20, "posted": 30} for s in range(3)]

    paths = write_report(tmp_path, SpikePlan(), figures, timeline, [(1.0, "BBC One appeal film")])

    assert [p.name for p in paths] == ["spike-report.json", "spike-report.txt", "spike-chart.png"]
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(paths[0].read_text())["figures"]["totals_match"] is True
    assert json.loads(paths[0].read_text())["markers"] == [{"second": 1.0, "label": "BBC One appeal film"}]
    text = paths[1].read_text()
    assert "£450 on the books, £450 charged by the networks: match" in text
    assert "p99 20.0 ms" in text


def test_without_matplotlib_the_command_names_the_extra_that_brings_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as on an app node installed without [spike]

    result = CliRunner().invoke(app, ["simulate", "spike", "--report-dir", str(tmp_path)])

    assert result.exit_code == 2
    assert "pip install 'everypenny[spike]'" in result.output


def test_a_spike_can_drive_the_aggregator_simulator_the_demo_already_runs(platform, seed_appeal):
    from everypenny.entrypoints.cli.simulators import running_simulator
    from everypenny.simulators.spike_report import summary

    aggregator_url = f"http://127.0.0.1:{free_port()}"
    platform.handlers.update(_handlers_calling(platform, aggregator_url))
    settings = platform.settings.model_copy(update={"aggregator_url": aggregator_url})
    stop = threading.Event()
    worker = threading.Thread(target=platform.worker(threads=2).run_until, args=(stop,), daemon=True)
    worker.start()
    plan = SpikePlan(peak_per_s=10, ramp_s=0, hold_s=1, refusing_share=0.2, couriers=2, drain_timeout_s=120)
    try:
        with (BackgroundServer(create_app(platform)) as app_url,
              running_simulator(settings, app_url=app_url)):  # as `everypenny demo` runs it
            runs = [SpikeRun(plan, [app_url], aggregator_url, settings.aggregator_api_key,
                             settings.aggregator_callback_token, running_simulator=True) for _ in range(2)]
            figures = [run.run() for run in runs]  # the second starts with the first's charges on the books
    finally:
        stop.set()
        worker.join(timeout=10)

    for each in figures:
        assert each.texts_acked == plan.total_texts == 10
        assert each.drained and each.totals_match and each.raised_pence > 0
        assert not each.latency_measured
    assert "ack latency     not measured" in "\n".join(summary(figures[1]))


def test_the_command_says_what_to_do_when_the_aggregator_port_is_taken_or_empty(tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    with taken:
        url = f"http://127.0.0.1:{taken.getsockname()[1]}"
        result = CliRunner().invoke(app, ["simulate", "spike", "--report-dir", str(tmp_path)],
                                    env={"EVERYPENNY_AGGREGATOR_URL": url})
    assert result.exit_code == 2
    assert f"something already listens at {url}" in result.output and "--running-aggregator" in result.output

    empty = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(app, ["simulate", "spike", "--running-aggregator", "--report-dir", str(tmp_path)],
                                env={"EVERYPENNY_AGGREGATOR_URL": empty})
    assert result.exit_code == 2
    assert f"no aggregator simulator listens at {empty}" in result.output
