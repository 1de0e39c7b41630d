"""Gift Aid declarations carry what HMRC requires, in words the donor saw."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from everypenny.domain.gift_aid import (
    GiftAidDeclaration,
    GiftAidInvalid,
    GiftAidScope,
    declaration_wording,
    gift_aid_pence,
    normalise_postcode,
)


@pytest.mark.parametrize(("raw", "expected"), [
    ("sw1a1aa", "SW1A 1AA"), ("SW1A 1AA", "SW1A 1AA"), (" m1  1ae ", "M1 1AE"), ("B338TH", "B33 8TH"),
    ("cr26xh", "CR2 6XH"), ("DN55 1PT", "DN55 1PT"), ("", None), ("12345", None), ("SW1A", None),
    ("SW1A 1AAA", None),
])
def test_postcodes_are_checked_and_written_as_hmrc_wants(raw, expected):
    assert normalise_postcode(raw) == expected


def test_gift_aid_adds_a_quarter_rounded_down_to_the_penny():
    assert [gift_aid_pence(p) for p in (300, 500, 750, 1001)] == [75, 125, 187, 250]


def test_the_wording_names_the_charity_what_it_covers_and_the_taxpayer_statement():
    this_one = declaration_wording("British Red Cross", GiftAidScope.THIS_DONATION)
    all_of_them = declaration_wording("British Red Cross", GiftAidScope.PAST_AND_FUTURE)

    assert this_one.startswith("I want to Gift Aid this donation to British Red Cross.")
    assert "in the future or have made in the past 4 years to British Red Cross" in all_of_them
    for wording in (this_one, all_of_them):
        assert "I am a UK taxpayer and understand that if I pay less Income Tax and/or Capital Gains Tax than " \
               "the amount of Gift Aid claimed on all my donations in that tax year it is my responsibility to " \
               "pay any difference." in wording


def make(**overrides):
    fields = dict(donation_reference="EP-0000000001", charity_name="British Red Cross", title="Dr",
                  first_name=" O ", last_name="Shevchenko", house="Rose Cottage", address="  Lane   End ",
                  postcode="ls14ap", scope=GiftAidScope.PAST_AND_FUTURE, declared_at=datetime(2026, 11, 26, tzinfo=UTC),
                  source="online:donation-form", contact="olena@example.org")
    return GiftAidDeclaration.make(**(fields | overrides))


def test_a_declaration_is_tidied_and_keeps_the_wording_of_its_scope():
    declaration = make()

    assert (declaration.first_name, declaration.address, declaration.postcode) == ("O", "Lane End", "LS1 4AP")
    assert declaration.wording == declaration_wording("British Red Cross", GiftAidScope.PAST_AND_FUTURE)


def test_every_missing_piece_is_named():
    with pytest.raises(GiftAidInvalid) as invalid:
        make(first_name="", last_name=" ", house="", postcode="nowhere", title="Professor")

    assert set(invalid.value.problems) == {"first_name", "last_name", "house", "postcode", "title"}


def test_names_longer_than_hmrcs_schedule_allows_are_refused():
    with pytest.raises(GiftAidInvalid) as invalid:
        make(last_name="x" * 36)

    assert invalid.value.problems == {"last_name": "at most 35 characters"}
