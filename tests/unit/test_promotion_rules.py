"""What a text-to-give promotion must carry next to its call to action (docs/appeal-rules.md cites each rule)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from everypenny.adapters.appeal_file import load_appeal_file
from everypenny.domain.consent import ConsentModel, ConsentWording, default_wording
from everypenny.domain.promotion import charity_statement, promotion_copy, small_print
from everypenny.domain.text_giving import help_text

APPEAL = load_appeal_file(Path(__file__).resolve().parents[2] / "appeals" / "sun-ukraine-fund.toml")[0]


def test_a_call_to_action_carries_cost_uk_mobiles_age_and_permission_charity_consent_helpline_and_terms():
    """BCAP 22.2 and Ofcom's premium-rate rules: the price and the conditions sit next to the call to action."""
    assert small_print(APPEAL, [1000]) == (
        "Texts cost £10 + one standard rate message. UK mobiles only. "
        "You must be 16 or over and have the bill payer's permission. "
        "Donations go to British Red Cross, registered charity 220949, Scottish charity SC037738. "
        "British Red Cross may text you about its work: add NOINFO to your text if you'd rather it didn't. "
        "Text STOP at any time to opt out. "
        "Helpline: 0344 871 11 11. T&Cs: https://www.redcross.org.uk/mobile")


def test_every_promotion_carries_the_words_of_the_appeals_consent_model():
    """PECR reg. 22 as amended by DUAA 2025 s.114: the way to refuse is offered where the number is collected."""
    opt_in = replace(APPEAL, consent=ConsentWording(ConsentModel.OPT_IN, default_wording(ConsentModel.OPT_IN,
                                                                                          "British Red Cross")))

    assert "add NOINFO to your text" in small_print(APPEAL, [500])
    assert "Reply YES if British Red Cross may text you about its work." in small_print(opt_in, [500])
    assert "NOINFO" not in promotion_copy(opt_in).print_text


def test_a_promotion_of_several_amounts_prices_each_of_them():
    assert small_print(APPEAL, [1000, 300, 500]).startswith("Texts cost £3, £5 or £10 + one standard rate message.")


def test_the_print_and_on_air_copy_carry_every_keyword_and_the_same_small_print():
    copy = promotion_copy(APPEAL)

    assert [call.text for call in copy.calls] == ["SUN3", "SUN5", "SUN10"]
    assert "Text SUN10 to 70141 to give £10." in copy.print_text
    assert copy.print_text.endswith(copy.small_print)
    assert copy.on_air.startswith("To give to The Sun's Ukraine Fund, text SUN3 to give £3, SUN5 to give £5 or "
                                  "SUN10 to give £10, to 70141.")
    assert copy.on_air.endswith(copy.small_print)
    assert copy.small_print == small_print(APPEAL, [300, 500, 1000])


def test_a_charity_on_oscrs_register_shows_its_scottish_number_wherever_its_number_is():
    """Charities and Trustee Investment (Scotland) Act 2005 s.39; SSI 2007/203 (docs/appeal-rules.md)."""
    english_only = replace(APPEAL, beneficiary=replace(APPEAL.beneficiary, scottish_charity_number=None))

    assert charity_statement(APPEAL) == ("Donations go to British Red Cross, registered charity 220949, Scottish "
                                         "charity SC037738.")
    assert charity_statement(english_only) == "Donations go to British Red Cross, registered charity 220949."
    assert charity_statement(APPEAL) in small_print(APPEAL, [500]) and charity_statement(APPEAL) in " ".join(
        help_text(APPEAL))


def test_a_commercial_participators_statement_is_printed_with_the_charity_number():
    """Charities Act 1992 s.60: the participator says which charity benefits and how."""
    statement = "The Sun bears every cost of this appeal, so British Red Cross receives 100% of each donation."
    participating = replace(APPEAL, commercial_participator_statement=statement)

    assert charity_statement(participating).endswith(statement)
    assert statement in small_print(participating, [500]) and statement in " ".join(help_text(participating))
