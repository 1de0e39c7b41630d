"""A national appeal in the store: its shares change from a date forward only, never backwards."""

import copy
import tomllib
from datetime import UTC, datetime

import pytest

from everypenny.adapters.appeal_file import parse_definition
from everypenny.domain.national import SharesChangeRefused
from everypenny.service_layer.appeals import load_appeal
from tests.conftest import ROOT, SEED_APPEAL

EXAMPLE = ROOT / "appeals" / "national-appeal-example.toml"


def on(day: str):
    return lambda: datetime.fromisoformat(f"{day}T12:00:00").replace(tzinfo=UTC)


def load(platform, definition, day="2026-12-20"):
    appeal, normalised = parse_definition(definition, "appeals/x.toml")
    return load_appeal(platform.uow(), appeal, normalised, "appeals/x.toml", clock=on(day))


def stored_definition(platform, slug):
    with platform.uow() as tx:
        return tx.appeals.get(slug).definition


@pytest.fixture
def national():
    return tomllib.loads(EXAMPLE.read_text())


def test_shares_in_force_cannot_be_rewritten_and_nothing_stored_changes(platform, national):
    load(platform, national)
    before = stored_definition(platform, "national-appeal-example")
    rewritten = copy.deepcopy(national)
    rewritten["shares"][0]["basis_points"]["harbour-aid"] = 2000
    rewritten["shares"][0]["basis_points"]["open-door-shelter"] = 3000

    with pytest.raises(SharesChangeRefused, match=r"appeals/x\.toml: shares: the version from 2026-12-01 is in force"):
        load(platform, rewritten)

    assert stored_definition(platform, "national-appeal-example") == before


def test_a_future_share_version_can_be_added_or_changed(platform, national):
    load(platform, national)
    changed = copy.deepcopy(national)
    changed["shares"][1]["basis_points"] = {"harbour-aid": 4000, "fellside-relief": 2000,
                                            "riverbank-trust": 2000, "open-door-shelter": 2000}

    result = load(platform, changed)

    assert result.outcome == "updated" and result.changed_keys == ["shares"]


def test_a_draft_appeal_can_still_change_its_shares(platform, national):
    load(platform, national | {"status": "draft"})
    redrafted = copy.deepcopy(national) | {"status": "draft"}
    redrafted["shares"][0]["from"] = "2026-12-10"

    assert load(platform, redrafted).outcome == "updated"


def test_a_live_single_partner_appeal_cannot_take_on_members_backwards(platform):
    sun = tomllib.loads(SEED_APPEAL.read_text())
    load(platform, sun)
    joined = copy.deepcopy(sun) | {
        "members": [{"slug": "red-cross", "name": "British Red Cross", "charity_number": "220949",
                     "fund": "Ukraine Crisis Appeal"}],
        "shares": [{"from": "2026-12-21", "basis_points": {"red-cross": 10_000}}]}

    with pytest.raises(SharesChangeRefused, match="the version since the appeal began is in force"):
        load(platform, joined)
