"""What a live appeal must have that a draft may still lack; each test is one rule (docs/appeal-rules.md)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from everypenny.adapters.appeal_file import load_appeal_file
from everypenny.domain.appeal import AppealStatus
from everypenny.domain.going_live import NotReadyToGoLive, check_ready, live_appeal_problems

SEED = load_appeal_file(Path(__file__).resolve().parents[2] / "appeals" / "sun-ukraine-fund.toml")[0]


def problems(**changes) -> list[tuple[str, str]]:
    return [(p.key, p.message) for p in live_appeal_problems(replace(SEED, **changes))]


def test_the_reference_appeal_has_everything_a_live_appeal_needs():
    assert live_appeal_problems(SEED) == []


def test_a_live_appeal_links_the_charitys_privacy_notice():
    """UK GDPR art. 13 and the Code of Fundraising Practice 10.1: privacy information where data is collected."""
    assert problems(privacy_url=None) == [
        ("privacy_url", "a live appeal needs the charity's privacy notice, linked where donors give their details "
                        "(UK GDPR art. 13; Code of Fundraising Practice 10.1)")]


def test_a_live_appeals_terms_are_at_an_https_address():
    assert problems(terms_url="http://www.redcross.org.uk/mobile") == [
        ("terms_url", "a live appeal's terms must be at an https:// address")]


def test_a_live_appeal_gives_a_uk_helpline_donors_can_call():
    """Ofcom's premium-rate rules (customer care): a helpline on the promotion and in the replies."""
    assert problems(helpline="Supporter Care") == [
        ("helpline", "'Supporter Care' is not a UK phone number; donors must be able to call it (Ofcom's "
                     "premium-rate rules: customer care)")]
    assert problems(helpline="+44 344 871 11 11") == [] and problems(helpline="0344 871 11 11") == []


def test_a_live_appeal_states_its_marketing_consent_model():
    """PECR reg. 22 as amended by the Data (Use and Access) Act 2025 s.114."""
    assert problems(consent=None) == [
        ("consent", 'state the marketing consent model: [consent] model = "soft-opt-in" or "opt-in" (PECR reg. 22 '
                    "as amended by the Data (Use and Access) Act 2025 s.114)")]


def test_a_draft_may_lack_what_a_live_appeal_needs_but_cannot_go_live_without_it():
    draft = replace(SEED, status=AppealStatus.DRAFT, privacy_url=None)
    check_ready(draft, "appeals/x.toml")

    with pytest.raises(NotReadyToGoLive, match=r"^appeals/x.toml: privacy_url: a live appeal needs"):
        check_ready(replace(draft, status=AppealStatus.LIVE), "appeals/x.toml")
