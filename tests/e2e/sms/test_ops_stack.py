"""The on-call stack (compose.yaml's `ops` profile): Prometheus scraping every app node with the alert rules,
Alertmanager, and Grafana with the appeal-night dashboard provisioned. Every metric a dashboard panel, its
annotations or an alert rule asks for is one /metrics exports, so no panel is silently empty."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
DASHBOARD = DEPLOY / "grafana" / "appeal-night.json"
OUR_METRIC = re.compile(r"\beverypenny_[a-z_]+")
PROMTOOL = shutil.which("promtool")


def exported_names(body: str) -> set[str]:
    """Every name a query may use: each sample's, each family's, and a histogram's or summary's series."""
    names: set[str] = set()
    for line in body.splitlines():
        if line.startswith("# TYPE "):
            _, _, family, kind = line.split()
            names.add(family)
            suffixes = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count"),
                        "counter": ("_total",)}.get(kind, ())
            names.update(family + suffix for suffix in suffixes)
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def queries_of_dashboard() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return ([target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
            + [annotation["expr"] for annotation in dashboard["annotations"]["list"]])


def queries_of_rules() -> list[str]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def test_every_metric_a_panel_or_rule_uses_is_one_we_export(texts):
    texts.text("447700900001", "SUN5")  # so the process's own instruments have series too
    exported = exported_names(texts.client.get("/metrics").text)

    used = {name for query in queries_of_dashboard() + queries_of_rules() for name in OUR_METRIC.findall(query)}

    assert used and used <= exported, f"not exported: {sorted(used - exported)}"


def test_the_ops_profile_starts_prometheus_alertmanager_and_grafana_with_ours_provisioned():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    ops = {name for name, service in services.items() if "ops" in service.get("profiles", [])}
    assert ops == {"prometheus", "alertmanager", "grafana"}
    mounted = {volume.split(":")[0] for name in ops for volume in services[name].get("volumes", [])}
    assert {"./deploy/prometheus/alerts.yml", "./deploy/prometheus/prometheus.yml", "./deploy/grafana/provisioning",
            "./deploy/grafana/appeal-night.json", "./deploy/alertmanager/alertmanager.yml"} <= mounted
    for path in mounted - {"prometheus-data"}:
        assert (ROOT / path).exists(), path
    assert services["app"]["environment"]["PROMETHEUS_MULTIPROC_DIR"]  # its two processes' metrics summed


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (Debian's prometheus package; "
                    "scripts/test installs it)")
def test_prometheus_accepts_its_configuration(tmp_path):
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    shutil.copy(DEPLOY / "prometheus" / "alerts.yml", tmp_path / "alerts.yml")
    (tmp_path / "token").write_text("a-token")
    config["rule_files"] = [str(tmp_path / "alerts.yml")]  # where the container mounts them, here
    config["scrape_configs"][0]["authorization"]["credentials_file"] = str(tmp_path / "token")
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))

    checked = subprocess.run([PROMTOOL, "check", "config", str(tmp_path / "prometheus.yml")],
                             capture_output=True, text=True)

    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_worker_serves_its_own_batch_metrics_when_given_a_port():
    import httpx

    from everypenny.entrypoints.cli.serving import serve_worker_metrics
    from everypenny.simulators.deployment import free_port

    port = free_port()
    serve_worker_metrics(port)

    body = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert "everypenny_worker_batch_duration_seconds" in body
