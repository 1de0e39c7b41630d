"""Finding a donation and reading its whole story, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from everypenny.service_layer.desk import SearchNotUnderstood, donation_history, search_donations
from tests.builders import DonationBuilder


@pytest.fixture
def donations(platform, seed_appeal):
    return DonationBuilder(platform)


def found(platform, query: str) -> list[str]:
    return [donation.reference for donation in search_donations(platform.uow(), query).donations]


def test_a_donation_is_found_by_its_reference_however_it_is_typed(platform, donations):
    donation = donations.text(500)
    bare = donation.reference.removeprefix("EP-")

    for query in (donation.reference, donation.reference.lower(), bare, f"  {bare.lower()} "):
        assert found(platform, query) == [donation.reference], query


def test_a_donor_is_found_by_the_last_digits_of_their_phone(platform, donations):
    mine = donations.text(500, phone="+447700900123")
    donations.text(500, phone="+447700900999")

    assert found(platform, "07•••••123") == [mine.reference]
    assert found(platform, "123") == [mine.reference]
    assert search_donations(platform.uow(), "123").understood_as == "phones ending 123"


def test_a_whole_phone_number_is_matched_exactly_in_any_usual_format(platform, donations):
    mine = donations.text(500, phone="+447700900123")

    for query in ("07700 900123", "+44 7700 900123", "07700900123"):
        assert found(platform, query) == [mine.reference], query


def test_a_donor_is_found_by_email_ignoring_case(platform, donations):
    mine = donations.online(2500, email="jane.doe@example.org")
    donations.online(2500, email="someone.else@example.org")

    assert found(platform, "Jane.Doe@Example.org") == [mine.reference]


def test_searches_that_cannot_be_understood_say_what_would_work(platform, donations):
    with pytest.raises(SearchNotUnderstood, match="too few digits to search phone numbers by: give the last 3"):
        search_donations(platform.uow(), "07•••••12")
    with pytest.raises(SearchNotUnderstood, match="You can search by a reference"):
        search_donations(platform.uow(), "   ")
    with pytest.raises(SearchNotUnderstood, match=r"not an email domain: write it as @example\.org"):
        search_donations(platform.uow(), "@example")
    with pytest.raises(SearchNotUnderstood, match="at least two letters of each name"):
        search_donations(platform.uow(), "J Smith")


def test_a_donations_history_shows_the_donation_its_transfers_and_the_donors_consent(platform, donations):
    donation = donations.text(1000, phone="+447700900123", consent=True)
    donations.stop("+447700900123")

    history = donation_history(platform.uow(), donation.reference)

    sections = {section.title: section for section in history.sections}
    assert list(sections) == ["Donation", "Ledger transfers", "Gift Aid", "Marketing consent", "Phone-bill charges"]
    assert [event.what for event in sections["Ledger transfers"].events] == [
        "pending donation £10", "post donation £10"]
    assert [event.what for event in sections["Marketing consent"].events] == ["opted in", "opted out"]
    assert "07•••••123" in sections["Marketing consent"].events[1].detail
    assert "+447700900123" not in repr(history.sections)


def test_a_failed_texts_history_shows_the_void_and_the_reason(platform, donations):
    donation = donations.text(500, outcome="failed", failure_reason="premium barred")

    sections = donation_history(platform.uow(), donation.reference).sections

    assert [event.what for event in sections[1].events] == ["pending donation £5", "void donation £5"]
    assert "premium barred" in sections[0].events[-1].detail


def test_an_unknown_reference_has_no_history(platform, donations):
    assert donation_history(platform.uow(), "EP-0000000000") is None
