"""`everypenny online refund` and `everypenny simulator stripe` from the command line."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from everypenny.entrypoints.cli import app


@pytest.fixture
def cli_env(monkeypatch, database_url):
    monkeypatch.setenv("EVERYPENNY_DATABASE_URL", database_url)


def test_refunding_an_unknown_donation_names_it_and_exits_2(cli_env, seed_appeal):
    result = CliRunner().invoke(app, ["online", "refund", "EP-NOSUCHONE0"])

    assert result.exit_code == 2
    assert "no donation has the reference EP-NOSUCHONE0" in result.output


def test_the_simulator_command_documents_its_options():
    result = CliRunner().invoke(app, ["simulator", "stripe", "--help"])

    assert result.exit_code == 0
    for option in ("--webhook-url", "--duplicate", "--reorder", "--delay-s", "--retry-base-s"):
        assert option in result.output
