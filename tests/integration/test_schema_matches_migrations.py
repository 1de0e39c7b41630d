"""schema.py declares exactly the tables, columns and indexes the migrations build, on both stores."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from everypenny.adapters.db.schema import metadata


def test_the_declared_schema_is_the_migrated_one(database_url):
    engine = create_engine(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()

    assert differences == []
