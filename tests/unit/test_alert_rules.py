"""The alert rules an on-call engineer relies on (deploy/prometheus/alerts.yml) are valid, tested with
Prometheus's own `promtool test rules`, and each points at the runbook section saying what to do."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
RUNBOOK = ROOT / "docs" / "running-an-appeal.md"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed (Debian's prometheus package; scripts/test installs it)")


def alerts() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def heading_anchors(markdown: str) -> set[str]:
    """The ids MkDocs gives headings (Python-Markdown's toc slugify: lower case, punctuation dropped)."""
    return {re.sub(r"[\s]+", "-", re.sub(r"[^\w\s-]", "", heading.strip().lower()))
            for heading in re.findall(r"^#+ (.+)$", markdown, flags=re.MULTILINE)}


@needs_promtool
def test_the_rules_pass_their_unit_tests():
    tested = subprocess.run([PROMTOOL, "test", "rules", str(RULES.with_name("alerts_test.yml"))],
                            capture_output=True, text=True)

    assert tested.returncode == 0, tested.stdout + tested.stderr


@needs_promtool
def test_every_alert_has_a_unit_test():
    tests = yaml.safe_load(RULES.with_name("alerts_test.yml").read_text())["tests"]
    tested = {case["alertname"] for test in tests for case in test.get("alert_rule_test", []) if case["exp_alerts"]}

    assert {rule["alert"] for rule in alerts()} <= tested


def test_every_alert_says_how_bad_it_is_and_where_its_runbook_is():
    anchors = heading_anchors(RUNBOOK.read_text())
    for rule in alerts():
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        page, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert page == "docs/running-an-appeal.md" and anchor in anchors, rule["alert"]
