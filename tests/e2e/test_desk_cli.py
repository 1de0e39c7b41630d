"""`everypenny user add`, `everypenny export …` and `everypenny appeal status` from a shell."""

from __future__ import annotations

import csv

import pytest
from typer.testing import CliRunner

from everypenny.domain.text_giving import SmsCharge
from everypenny.entrypoints.cli import app
from tests.builders import DonationBuilder


@pytest.fixture
def run(database_url, monkeypatch):
    monkeypatch.setenv("EVERYPENNY_DATABASE_URL", database_url)
    runner = CliRunner()
    return lambda *args, stdin=None: runner.invoke(app, list(args), input=stdin)


def test_user_add_reads_the_password_from_stdin(run, platform):
    result = run("user", "add", "Ann@Example.org", "--role", "finance", "--password-stdin",
                 stdin="a long enough passphrase\n")

    assert result.exit_code == 0, result.output
    assert "added ann@example.org as finance" in result.output
    with platform.uow() as uow:
        assert uow.users.credentials("ann@example.org").user.role.value == "finance"


def test_user_add_prompts_twice_for_the_password(run, platform):
    result = run("user", "add", "ann@example.org", "--role", "viewer",
                 stdin="a long enough passphrase\na long enough passphrase\n")

    assert result.exit_code == 0, result.output


def test_a_bad_role_or_a_duplicate_email_is_a_clear_error(run, platform):
    run("user", "add", "ann@example.org", "--role", "admin", "--password-stdin", stdin="a long enough passphrase\n")

    bad_role = run("user", "add", "bob@example.org", "--role", "boss", "--password-stdin", stdin="whatever\n")
    duplicate = run("user", "add", "ANN@example.org", "--role", "viewer", "--password-stdin",
                    stdin="a long enough passphrase\n")

    assert bad_role.exit_code == 2 and "unknown role 'boss'; choose one of admin, finance, viewer" in bad_role.output
    assert duplicate.exit_code == 3 and "already exists" in duplicate.output


def test_export_writes_the_whole_csv_file(run, platform, seed_appeal, tmp_path):
    donations = DonationBuilder(platform)
    references = [donations.text(500).reference for _ in range(3)]
    output = tmp_path / "donations.csv"

    result = run("export", "donations", "--appeal", "sun-ukraine-fund", "--output", str(output))

    assert result.exit_code == 0, result.output
    assert "wrote 3 donations rows" in result.output
    with output.open(newline="") as file:
        assert [row["reference"] for row in csv.DictReader(file)] == references
    assert not (tmp_path / "donations.csv.partial").exists()


def test_export_charges_writes_each_charge_to_a_phone_bill(run, platform, seed_appeal, tmp_path):
    donation = DonationBuilder(platform).text(2000, outcome="pending")
    with platform.uow() as uow:
        uow.texts.add_charges([SmsCharge(f"req-c{sequence}", donation.reference, sequence, 1000, "GBP", "O2")
                               for sequence in (1, 2)])
        uow.commit()
    output = tmp_path / "charges.csv"

    result = run("export", "charges", "--appeal", "sun-ukraine-fund", "--output", str(output))

    assert result.exit_code == 0, result.output
    assert "wrote 2 charges rows" in result.output
    with output.open(newline="") as file:
        assert [(row["provider_reference"], row["status"]) for row in csv.DictReader(file)] == [
            ("req-c1", "requested"), ("req-c2", "requested")]


def test_export_of_an_unknown_appeal_fails_and_writes_nothing(run, platform, seed_appeal, tmp_path):
    output = tmp_path / "consents.csv"
    result = run("export", "consents", "--appeal", "no-such-appeal", "--output", str(output))

    assert result.exit_code == 2 and "no-such-appeal" in result.output
    assert not output.exists()


def test_appeal_status_closes_an_appeal_and_refuses_to_reopen_it(run, platform, seed_appeal):
    closed = run("appeal", "status", "sun-ukraine-fund", "closed")
    reopened = run("appeal", "status", "sun-ukraine-fund", "live")

    assert closed.exit_code == 0 and "sun-ukraine-fund: live → closed" in closed.output
    assert reopened.exit_code == 2 and "a closed appeal stays closed" in reopened.output


def test_user_remove_takes_a_leaver_off_the_desk(run, platform):
    run("user", "add", "ann@example.org", "--role", "admin", "--password-stdin", stdin="a long enough passphrase\n")
    run("user", "add", "bob@example.org", "--role", "viewer", "--password-stdin", stdin="a long enough passphrase\n")

    removed = run("user", "remove", "bob@example.org")
    last_admin = run("user", "remove", "ann@example.org")

    assert removed.exit_code == 0 and "removed bob@example.org (viewer)" in removed.output
    assert last_admin.exit_code == 2 and "only admin" in last_admin.output
