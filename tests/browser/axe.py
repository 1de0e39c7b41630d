"""axe-core (vendored under vendor/axe-core, MPL-2.0) run in the page: every WCAG 2.2 A/AA rule and axe's
best practices, reported as readable lines so a failing test says what to fix and where."""

from __future__ import annotations

from pathlib import Path

AXE_SCRIPT = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
RULE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]


def axe_violations(page) -> list[str]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=AXE_SCRIPT)
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", RULE_TAGS)
    return [f"{violation['id']} ({violation['impact']}): {violation['help']} at "
            + ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
            for violation in results["violations"]]


def assert_no_axe_violations(page, state: str) -> None:
    violations = axe_violations(page)
    assert not violations, f"{page.url} ({state}):\n" + "\n".join(violations)
