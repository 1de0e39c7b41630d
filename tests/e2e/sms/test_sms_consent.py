"""Marketing consent by text follows the appeal's stated model, and each record keeps the words the donor was
shown (PECR reg. 22 as amended by the Data (Use and Access) Act 2025 s.114; docs/appeal-rules.md)."""

from __future__ import annotations

from sms_harness import load_seed_variant
from sqlalchemy import select

from everypenny.adapters.db.schema import consent_wordings, consents
from everypenny.domain.donation import Medium

EE = "+447700900001"
SOFT_OPT_IN_WORDS = "British Red Cross may text you about its work: add NOINFO to your text if you'd rather it didn't."
OPT_IN_WORDS = "Reply YES if British Red Cross may text you about its work."


def recorded(platform) -> list[tuple[str, bool, str | None]]:
    """Each consent record as (source, granted, the words it was given under)."""
    with platform.engine.connect() as connection:
        rows = connection.execute(
            select(consents.c.source, consents.c.granted, consent_wordings.c.wording)
            .outerjoin(consent_wordings, consent_wordings.c.version == consents.c.wording_version)
            .order_by(consents.c.id))
        return [tuple(row) for row in rows]


def test_under_the_soft_opt_in_the_first_reply_offers_noinfo_and_the_keyword_opts_in_under_those_words(
        texts, platform):
    [receipt] = texts.text(EE, "SUN5")

    assert SOFT_OPT_IN_WORDS in receipt
    [(source, granted, words)] = recorded(platform)
    assert (source, granted) == ("sms:SUN", True) and SOFT_OPT_IN_WORDS in words


def test_noinfo_refuses_and_the_refusal_keeps_the_words_it_was_given_under(texts, platform):
    texts.text(EE, "SUN5 NOINFO")

    [(source, granted, words)] = recorded(platform)
    assert (source, granted) == ("sms:SUNNOINFO", False) and SOFT_OPT_IN_WORDS in words


def test_under_opt_in_the_keyword_alone_opts_no_one_in_and_a_reply_yes_does(texts, platform):
    load_seed_variant(platform, lambda d: d.update(consent={"model": "opt-in"}))

    [receipt] = texts.text(EE, "SUN5")
    assert OPT_IN_WORDS in receipt and "NOINFO" not in receipt
    assert not texts.donations()[0].marketing_consent and recorded(platform) == []

    texts.text(EE, "yes")

    [(source, granted, words)] = recorded(platform)
    assert (source, granted) == ("sms:YES", True) and OPT_IN_WORDS in words
    with platform.uow() as uow:
        assert uow.consents.current(EE, Medium.SMS) is True


def test_the_words_are_stored_once_however_many_donors_agree_under_them(texts, platform):
    for phone in (EE, "+447700900002", "+447700900003"):
        texts.text(phone, "SUN3")

    with platform.engine.connect() as connection:
        assert connection.execute(select(consent_wordings.c.version)).all() != []
        assert len(connection.execute(select(consent_wordings.c.version)).all()) == 1
    assert len(recorded(platform)) == 3
