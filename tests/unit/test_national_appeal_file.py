"""A national appeal file: media partners owning their keywords, member charities and dated share versions."""

import copy
import tomllib
from datetime import date

import pytest

from everypenny.adapters.appeal_file import AppealFileError, load_appeal_file, parse_definition
from everypenny.domain.national import SharesChangeRefused, ShareVersion, check_share_history
from tests.conftest import ROOT, SEED_APPEAL

EXAMPLE = ROOT / "appeals" / "national-appeal-example.toml"
NATIONAL = tomllib.loads(EXAMPLE.read_text())


def problems_of(change) -> list[tuple[str, str]]:
    definition = copy.deepcopy(NATIONAL)
    change(definition)
    with pytest.raises(AppealFileError) as caught:
        parse_definition(definition, "appeals/x.toml")
    return caught.value.problems


def test_the_example_has_three_partners_owning_their_keywords_and_four_members_sharing_everything():
    appeal, definition = load_appeal_file(EXAMPLE)

    assert [(p.slug, p.keywords) for p in appeal.effective_partners] == [
        ("northwind-tv", ("FLOOD",)), ("daily-courier", ("COURIER",)), ("evening-lantern", ("LANTERN",))]
    assert appeal.partner_of_keyword("COURIER") == "daily-courier"
    assert appeal.partner("northwind-tv").branding.masthead_colour == "#14365d"
    assert [m.charity_number for m in appeal.effective_members] == ["1999901", "1999902", "1999903", "1999904"]
    assert [v.starts for v in appeal.effective_shares] == [date(2026, 12, 1), date(2027, 1, 15)]
    assert all(sum(v.basis_points.values()) == 10_000 for v in appeal.effective_shares)
    assert definition["shares"][0]["from"] == "2026-12-01"
    assert parse_definition(definition, "stored definition")[1] == definition  # the stored form reads back


def test_a_single_partner_appeal_is_one_implicit_partner_and_its_beneficiary_the_one_member():
    appeal, definition = load_appeal_file(SEED_APPEAL)

    [partner] = appeal.effective_partners
    assert (partner.slug, partner.name, partner.keywords) == ("the-sun", "The Sun", ("SUN",))
    [member] = appeal.effective_members
    assert (member.name, member.charity_number, member.fund) == (
        "British Red Cross", "220949", "Ukraine Crisis Appeal")
    assert [v.basis_points for v in appeal.effective_shares] == [{"british-red-cross": 10_000}]
    assert not {"partners", "members", "shares"} & definition.keys()  # its stored definition is unchanged


def test_a_keyword_must_belong_to_exactly_one_partner():
    def muddle(d):
        d["partners"][1]["keywords"] = ["FLOOD"]  # the broadcaster's word, and COURIER now nobody's

    assert problems_of(muddle) == [
        ("partners[1].keywords", "FLOOD already belongs to partner northwind-tv"),
        ("partners", "keyword COURIER belongs to no partner; list it under one partner's keywords")]


def test_a_partner_keyword_must_be_on_a_shortcode():
    assert problems_of(lambda d: d["partners"][2]["keywords"].append("GLOW")) == [
        ("partners[2].keywords", "GLOW is not a keyword on any of this appeal's shortcodes")]


def test_shares_must_add_up_to_all_of_the_money_and_name_known_members():
    def wrong(d):
        d["shares"][0]["basis_points"] = {"harbour-aid": 5000, "fellside-relief": 4900}
        d["shares"][1]["basis_points"] = {"harbour-aid": 5000, "harbor-aid": 5000}

    assert problems_of(wrong) == [
        ("shares[0].basis_points", "add up to 9,900, not 10,000 (all of the money)"),
        ("shares[1].basis_points.harbor-aid", "no member has the slug 'harbor-aid'")]


def test_share_versions_are_in_date_order_and_dates_are_dates():
    def backwards(d):
        d["shares"][1]["from"] = "2026-11-30"

    assert problems_of(backwards) == [
        ("shares[1].from", "2026-11-30 is not after the previous version's 2026-12-01: versions must be in date order")]
    assert problems_of(lambda d: d["shares"][0].update({"from": "1 Dec"})) == [
        ("shares[0].from", "'1 Dec' must be a date written YYYY-MM-DD")]


def test_a_toml_date_reads_as_well_as_a_quoted_one():
    definition = copy.deepcopy(NATIONAL)
    definition["shares"][0]["from"] = date(2026, 12, 1)

    assert parse_definition(definition, "appeals/x.toml")[1]["shares"][0]["from"] == "2026-12-01"


def test_members_need_shares_and_shares_need_members():
    assert problems_of(lambda d: d.pop("shares")) == [
        ("shares", "is missing: an appeal with [[members]] needs a [[shares]] version")]
    assert problems_of(lambda d: d.pop("members")) == [
        ("shares", "gives shares, but the appeal lists no [[members]]")]


def test_partner_and_member_slugs_are_unique():
    def twins(d):
        d["members"][1]["slug"] = "harbour-aid"

    assert ("members[1].slug", "another member already has the slug 'harbour-aid'") in problems_of(twins)


TODAY = date(2026, 12, 20)
IN_FORCE = ShareVersion(date(2026, 12, 1), {"a": 6000, "b": 4000})
FUTURE = ShareVersion(date(2027, 1, 15), {"a": 5000, "b": 5000})


def test_shares_in_force_cannot_change_but_future_ones_can():
    check_share_history((IN_FORCE, FUTURE), (IN_FORCE, ShareVersion(FUTURE.starts, {"a": 1, "b": 9999})),
                        TODAY, "f.toml")
    check_share_history((IN_FORCE,), (IN_FORCE, ShareVersion(date(2026, 12, 21), {"a": 1, "b": 9999})),
                        TODAY, "f.toml")

    with pytest.raises(SharesChangeRefused) as caught:
        check_share_history((IN_FORCE, FUTURE), (ShareVersion(IN_FORCE.starts, {"a": 5000, "b": 5000}), FUTURE),
                            TODAY, "f.toml")
    assert str(caught.value) == (
        "f.toml: shares: the version from 2026-12-01 is in force (today is 2026-12-20) and cannot be changed or "
        "removed")


def test_a_new_share_version_cannot_start_today_or_earlier():
    with pytest.raises(SharesChangeRefused, match="a new version cannot start on 2026-12-20: the earliest is "
                                                  "tomorrow, 2026-12-21"):
        check_share_history((IN_FORCE,), (IN_FORCE, ShareVersion(TODAY, {"a": 1, "b": 9999})), TODAY, "f.toml")

