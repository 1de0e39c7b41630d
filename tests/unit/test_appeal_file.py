"""An appeal file is checked as a whole, and every mistake names the file and the key."""

import copy
import tomllib

import pytest

from everypenny.adapters.appeal_file import AppealFileError, load_appeal_file, parse_definition
from everypenny.domain.appeal import AppealStatus, Billing, Channel, FinancialYearEnd
from tests.conftest import SEED_APPEAL

SEED = tomllib.loads(SEED_APPEAL.read_text())


def problems_of(change) -> list[tuple[str, str]]:
    definition = copy.deepcopy(SEED)
    change(definition)
    with pytest.raises(AppealFileError) as caught:
        parse_definition(definition, "appeals/x.toml")
    assert all(line.startswith("appeals/x.toml: ") for line in str(caught.value).splitlines())
    return caught.value.problems


def test_the_seed_appeal_reads_as_the_article_prints_it():
    appeal, _ = load_appeal_file(SEED_APPEAL)

    assert appeal.slug == "sun-ukraine-fund"
    assert appeal.beneficiary.name == "British Red Cross"
    assert appeal.online_minimum_pence == 300
    assert appeal.status is AppealStatus.LIVE
    text_to_donate = appeal.shortcode("70141")
    assert text_to_donate.billing is Billing.CARRIER and text_to_donate.channel is Channel.CARRIER_SMS
    assert [(k.word, k.amounts_pence) for k in text_to_donate.keywords] == [("SUN", (300, 500, 1000))]
    assert appeal.shortcode("+447700900141").billing is Billing.LINK
    assert "other humanitarian disasters" in appeal.surplus_rule.wording


def test_a_missing_key_is_named():
    assert problems_of(lambda d: d["beneficiary"].pop("charity_number")) == [
        ("beneficiary.charity_number", "is missing")]


def test_a_keyword_used_twice_on_one_shortcode_is_refused():
    def clash(d):
        d["sms"]["shortcodes"][0]["keywords"].append({"word": "SUN", "amounts_pence": [2000]})

    assert problems_of(clash) == [
        ("sms.shortcodes[0].keywords[1].word", "keyword SUN is already used on shortcode 70141")]


def test_an_amount_over_the_per_text_cap_is_refused():
    def over(d):
        d["sms"]["shortcodes"][0]["keywords"][0]["amounts_pence"] = [500, 2500]

    assert problems_of(over) == [
        ("sms.shortcodes[0].keywords[0].amounts_pence", "2500 is over the per-text cap of 2000")]


def test_caps_above_what_the_psr_lets_a_phone_bill_carry_are_refused():
    """Payment Services Regulations 2017 exclusion: at most £40 a transaction and £240 a month per subscriber."""
    def over_the_law(d):
        d["limits"] = {"per_text_cap_pence": 5000, "per_number_daily_cap_pence": 25000}

    assert problems_of(over_the_law) == [
        ("limits.per_text_cap_pence", "5000 is over 4000: the Payment Services Regulations 2017 allow at most £40 "
                                      "a text to be charged to a phone bill"),
        ("limits.per_number_daily_cap_pence", "25000 is over 24000: the Payment Services Regulations 2017 allow at "
                                              "most £240 a month to be charged to a phone bill")]


def test_an_unknown_currency_is_refused():
    [(key, message)] = problems_of(lambda d: d.update(currency="XYZ"))
    assert key == "currency" and "unknown currency 'XYZ'" in message


def test_a_misspelt_setting_is_not_silently_ignored():
    assert problems_of(lambda d: d["online"].update(minimum_pounds=3)) == [
        ("online.minimum_pounds", "is not a setting an appeal has")]


def test_every_mistake_is_reported_at_once():
    def two(d):
        d["currency"] = "XYZ"
        d["sms"]["shortcodes"][0]["keywords"][0]["word"] = "SUN5"

    keys = [key for key, _ in problems_of(two)]
    assert keys == ["currency", "sms.shortcodes[0].keywords[0].word"]


def test_keywords_must_not_end_in_a_digit_so_sun5_stays_unambiguous():
    [(_, message)] = problems_of(lambda d: d["sms"]["shortcodes"][0]["keywords"][0].update(word="SUN5"))
    assert "ending in a letter" in message


def test_a_file_that_is_not_toml_says_so(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("slug = ")
    with pytest.raises(AppealFileError, match=r"broken.toml: \(syntax\): not valid TOML"):
        load_appeal_file(broken)


def test_the_charitys_financial_year_end_is_read_as_day_and_month():
    appeal, definition = load_appeal_file(SEED_APPEAL)

    assert appeal.beneficiary.financial_year_end == FinancialYearEnd(day=31, month=12)
    assert definition["beneficiary"]["financial_year_end"] == "31/12"


@pytest.mark.parametrize(("written", "message"), [
    ("March", "'March' must be the day and month the charity's financial year ends, such as 31/03"),
    ("31/04", "'31/04' is not a day of the year"),
    ("29/02", "29/02 is not in every year: use 28/02"),
])
def test_a_financial_year_end_that_is_not_a_day_of_the_year_is_named(written, message):
    assert problems_of(lambda d: d["beneficiary"].update(financial_year_end=written)) == [
        ("beneficiary.financial_year_end", message)]


def test_branding_is_optional_and_leaves_the_stored_definition_as_it_was():
    appeal, definition = parse_definition(copy.deepcopy(SEED), "appeals/x.toml")

    assert appeal.branding.logo_url is None and appeal.branding.masthead_colour == "#b00000"
    assert "branding" not in definition


def test_branding_settings_are_read_and_stored():
    branded = copy.deepcopy(SEED) | {"branding": {
        "masthead_colour": "#003a70", "accent_colour": "#ee2a24", "logo_url": "https://cdn.example/logo.svg",
        "image_url": "/static/appeal.jpg", "image_alt": "Volunteers unload a lorry of blankets"}}

    appeal, definition = parse_definition(branded, "appeals/x.toml")

    assert appeal.branding.masthead_colour == "#003a70"
    assert appeal.branding.image_alt == "Volunteers unload a lorry of blankets"
    assert definition["branding"]["logo_url"] == "https://cdn.example/logo.svg"


def test_branding_that_would_be_unreadable_or_unsafe_is_refused_with_every_reason():
    def garish(d):
        d["branding"] = {"masthead_colour": "#ffcc00", "accent_colour": "red", "logo_url": "http://cdn.example/l.png",
                         "image_url": "https://cdn.example/p.jpg"}

    assert problems_of(garish) == [
        ("branding.masthead_colour", "#ffcc00 gives white text on it a contrast of 1.51:1; WCAG 2.2 AA needs at "
                                     "least 4.5:1, so choose a darker colour"),
        ("branding.accent_colour", "'red' must be a colour written #rrggbb, such as #b00000"),
        ("branding.logo_url", "'http://cdn.example/l.png' must be an https:// address or a path on this site "
                              "starting with /"),
        ("branding.image_alt", "describe the picture for people who cannot see it")]


def test_an_unknown_branding_setting_is_named():
    assert problems_of(lambda d: d.update(branding={"colour": "#000000"})) == [
        ("branding.colour", "is not a setting an appeal has")]


@pytest.mark.parametrize(("colour", "ratio"), [("#000000", 21.0), ("#767676", 4.54), ("#ffffff", 1.0)])
def test_contrast_is_measured_as_wcag_defines_it(colour, ratio):
    from everypenny.domain.branding import contrast_ratio

    assert round(contrast_ratio(colour, "#ffffff"), 2) == ratio


def test_the_phone_bill_description_is_at_most_30_gsm7_characters_and_its_mistakes_are_named():
    """Fonix's CHARGEDESCRIPTION takes at most 30 characters (docs/appeal-rules.md)."""
    assert problems_of(lambda d: d["sms"].update(charge_description="Donation to The Sun's Ukraine Fund")) == [
        ("sms.charge_description",
         "\"Donation to The Sun's Ukraine Fund\" is 34 characters; the aggregator takes at most 30")]
    assert problems_of(lambda d: d["sms"].update(charge_description="Дарунок")) == [
        ("sms.charge_description", "'Дарунок' has characters outside GSM-7, which a phone bill cannot show")]


def test_without_a_phone_bill_description_the_default_names_the_charity_and_fits():
    def unset(d):
        d["sms"].pop("charge_description")

    definition = copy.deepcopy(SEED)
    unset(definition)
    appeal, _ = parse_definition(definition, "appeals/x.toml")
    assert appeal.description_on_bill == "Donation to British Red Cross"

    definition["beneficiary"]["name"] = "The Royal National Lifeboat Institution"
    appeal, _ = parse_definition(definition, "appeals/x.toml")
    assert appeal.description_on_bill == "Charity donation"


def test_the_consent_model_is_read_and_its_words_must_offer_its_way_to_refuse_or_agree():
    """PECR reg. 22 as amended by DUAA 2025 s.114 (docs/appeal-rules.md)."""
    appeal, _ = load_appeal_file(SEED_APPEAL)
    assert appeal.consent.model.value == "soft-opt-in" and "NOINFO" in appeal.consent.text

    assert problems_of(lambda d: d["consent"].update(wording="We may text you. Text STOP to opt out.")) == [
        ("consent.wording", "must tell the donor how to use NOINFO under the soft-opt-in model")]
    assert problems_of(lambda d: d["consent"].update(model="opt-in")) == [
        ("consent.wording", "must tell the donor how to use YES under the opt-in model")]
    assert problems_of(lambda d: d.update(consent={"model": "assumed"})) == [
        ("consent.model", "Input should be 'soft-opt-in' or 'opt-in'")]


def test_without_its_own_words_a_consent_model_uses_the_models_words():
    opted = copy.deepcopy(SEED) | {"consent": {"model": "opt-in"}}

    appeal, _ = parse_definition(opted, "appeals/x.toml")

    assert appeal.consent_wording.text == ("Reply YES if British Red Cross may text you about its work. "
                                           "Text STOP at any time to opt out.")


def test_a_scottish_charity_number_is_written_as_oscr_gives_it():
    assert problems_of(lambda d: d["beneficiary"].update(scottish_charity_number="037738")) == [
        ("beneficiary.scottish_charity_number", "'037738' must be SC and six digits, as OSCR's register gives it")]
