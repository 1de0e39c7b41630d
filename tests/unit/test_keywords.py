"""The keyword parser: what donors type, in every spelling the networks deliver it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from everypenny.domain.appeal import Keyword
from everypenny.domain.keywords import Donate, Help, NeedsAmount, OptIn, OptOut, Unknown, parse

SUN = (Keyword("SUN", (300, 500, 1000)),)
WITH_DEFAULT = (Keyword("WATER", (500, 2000), default_pence=500),)


@pytest.mark.parametrize("body", [
    "SUN£5", "SUN5", "sun 5", "Sun £5", " sun£5 ", "SUN\x015", "SUNÂ£5", "SUN 5.00", "sun5!", "SUN ￡5",
])
def test_every_way_donors_write_five_pounds_means_five_pounds_with_consent(body):
    assert parse(body, SUN) == Donate("SUN", 500, marketing_consent=True)


@pytest.mark.parametrize("body", ["SUN5 NOINFO", "SUN5NOINFO", "sun £5 noinfo", "SUN NOINFO 5", "Sun5 No Info"])
def test_noinfo_donates_without_marketing_consent(body):
    assert parse(body, SUN) == Donate("SUN", 500, marketing_consent=False)


def test_amounts_the_appeal_does_not_list_still_parse_so_the_reply_can_say_why():
    assert parse("SUN7", SUN) == Donate("SUN", 700, True)
    assert parse("SUN 2.50", SUN) == Donate("SUN", 250, True)


def test_a_bare_keyword_takes_the_default_amount_or_asks_for_one():
    assert parse("SUN", SUN) == NeedsAmount("SUN")
    assert parse("water", WITH_DEFAULT) == Donate("WATER", 500, True)
    assert parse("WATER NOINFO", WITH_DEFAULT) == Donate("WATER", 500, False)


@pytest.mark.parametrize(("body", "intent"), [
    ("STOP", OptOut(everything=False)), ("stop", OptOut(False)), ("Stop.", OptOut(False)),
    ("STOP SUN", OptOut(False)), ("STOPALL", OptOut(True)), ("unsubscribe", OptOut(True)),
    ("STOP ALL", OptOut(True)), ("stop all.", OptOut(True)),
    ("START", OptIn("START")), ("yes", OptIn("YES")), ("HELP", Help()), ("info", Help()),
])
def test_the_words_uk_donors_expect(body, intent):
    assert parse(body, SUN) == intent


@pytest.mark.parametrize("body", ["", "   ", "hello", "SUNNY5", "SUN five", "SUN0", "5 SUN", "SUN-5x", "£5"])
def test_anything_else_is_unknown(body):
    assert parse(body, SUN) == Unknown()


def test_the_longest_keyword_wins_when_one_starts_another():
    keywords = (Keyword("SUN", (500,)), Keyword("SUNDAY", (300,)))
    assert parse("SUNDAY3", keywords) == Donate("SUNDAY", 300, True)
    assert parse("SUN5", keywords) == Donate("SUN", 500, True)


@given(st.text())
def test_no_input_raises(body):
    parse(body, SUN + WITH_DEFAULT)


POUND = st.sampled_from(["", "£", "\x01", "Â£", "Ã‚Â£"])
SPACE = st.sampled_from(["", " ", "  ", "\t"])


@given(
    keyword=st.sampled_from(SUN + WITH_DEFAULT),
    data=st.data(),
    lead=SPACE, gap=SPACE, trail=SPACE, pound=POUND,
    noinfo=st.sampled_from([None, "NOINFO", " NOINFO", " noinfo", "NoInfo"]),
)
def test_every_valid_variant_parses(keyword, data, lead, gap, trail, pound, noinfo):
    amount = data.draw(st.sampled_from(keyword.amounts_pence))
    word = "".join(data.draw(st.sampled_from([c.lower(), c])) for c in keyword.word)
    body = f"{lead}{word}{gap}{pound}{amount // 100}{noinfo or ''}{trail}"

    assert parse(body, SUN + WITH_DEFAULT) == Donate(keyword.word, amount, marketing_consent=noinfo is None)
