"""The list of where personal data lives covers every table, so a new store cannot be left out of erasure."""

from everypenny.adapters.db.personal_data import NO_PERSONAL_DATA, OTHER_COLUMNS, PERSONAL_DATA, Treatment
from everypenny.adapters.db.schema import metadata


def test_every_table_is_either_listed_as_personal_data_or_said_to_hold_none():
    personal = {entry.column.table.name for entry in PERSONAL_DATA}

    unclassified = set(metadata.tables) - personal - set(NO_PERSONAL_DATA)

    assert unclassified == set(), (f"say in adapters/db/personal_data.py how erasure treats {sorted(unclassified)}")
    assert personal & set(NO_PERSONAL_DATA) == set()
    assert set(NO_PERSONAL_DATA) <= set(metadata.tables)  # no stale names


def test_every_column_of_a_table_with_personal_data_is_placed_once():
    personal = {(entry.column.table.name, entry.column.name) for entry in PERSONAL_DATA}

    for name in {table for table, _ in personal}:
        columns = {column.name for column in metadata.tables[name].columns}
        listed = {column for table, column in personal if table == name}
        others = OTHER_COLUMNS.get(name, frozenset())
        assert columns - listed - others == set(), (
            f"say in adapters/db/personal_data.py whether {name}.{sorted(columns - listed - others)} "
            "hold personal data")
        assert listed & others == set() and others <= columns, name
    assert set(OTHER_COLUMNS) == {table for table, _ in personal}


def test_owned_data_names_the_contact_columns_that_say_whose_it_is():
    contacts = {entry.column for entry in PERSONAL_DATA if entry.treatment is Treatment.CONTACT}

    for entry in PERSONAL_DATA:
        owned = entry.treatment in (Treatment.OWNED_TEXT, Treatment.OWNED_FIELD)
        assert bool(entry.owners) == owned, entry.column
        assert set(entry.owners) <= contacts, entry.column
