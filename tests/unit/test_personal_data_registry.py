"""The list of where personal data lives covers every table, so a new store cannot be left out of erasure."""

from everypenny.adapters.db.personal_data import NO_PERSONAL_DATA, PERSONAL_DATA, Treatment
from everypenny.adapters.db.schema import metadata


def test_every_table_is_either_listed_as_personal_data_or_said_to_hold_none():
    personal = {entry.column.table.name for entry in PERSONAL_DATA}

    unclassified = set(metadata.tables) - personal - set(NO_PERSONAL_DATA)

    assert unclassified == set(), (f"say in adapters/db/personal_data.py how erasure treats {sorted(unclassified)}")
    assert personal & set(NO_PERSONAL_DATA) == set()
    assert set(NO_PERSONAL_DATA) <= set(metadata.tables)  # no stale names


def test_owned_data_names_the_contact_columns_that_say_whose_it_is():
    contacts = {entry.column for entry in PERSONAL_DATA if entry.treatment is Treatment.CONTACT}

    for entry in PERSONAL_DATA:
        owned = entry.treatment in (Treatment.OWNED_TEXT, Treatment.OWNED_FIELD)
        assert bool(entry.owners) == owned, entry.column
        assert set(entry.owners) <= contacts, entry.column
