"""The appeal desk loads and inspects appeals from the command line."""

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from everypenny.adapters.db.engine import upgrade
from everypenny.entrypoints.cli import app
from tests.conftest import SEED_APPEAL


@pytest.fixture
def everypenny(database_url, monkeypatch):
    monkeypatch.setenv("EVERYPENNY_DATABASE_URL", database_url)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, [str(arg) for arg in args])

    return run


@pytest.fixture
def edited_seed(tmp_path):
    def edit(old: str, new: str):
        path = tmp_path / "sun-ukraine-fund.toml"
        original = SEED_APPEAL.read_text()
        assert old in original
        path.write_text(original.replace(old, new))
        return path

    return edit


def test_loading_the_same_file_twice_changes_nothing(everypenny):
    assert everypenny("appeal", "load", SEED_APPEAL).output.strip() == "sun-ukraine-fund: created"
    assert everypenny("appeal", "load", SEED_APPEAL).output.strip() == "sun-ukraine-fund: unchanged"

    history = everypenny("appeal", "show", "sun-ukraine-fund").output
    assert history.count("sun-ukraine-fund.toml: created") == 1


def test_loading_a_changed_file_updates_the_appeal_and_records_what_changed(everypenny, edited_seed):
    everypenny("appeal", "load", SEED_APPEAL)
    changed = edited_seed("helpline = \"0344 871 11 11\"", "helpline = \"0300 123 4567\"")

    result = everypenny("appeal", "load", changed)

    assert result.exit_code == 0
    assert result.output.strip() == "sun-ukraine-fund: updated (helpline)"
    shown = everypenny("appeal", "show", "sun-ukraine-fund").output
    assert "sun-ukraine-fund.toml: helpline" in shown


@pytest.mark.parametrize(("old", "new", "message"), [
    ('[beneficiary]\nname = "British Red Cross"\n', "[beneficiary]\n", "beneficiary.name: is missing"),
    ('currency = "GBP"', 'currency = "XYZ"', "currency: unknown currency 'XYZ'"),
    ("amounts_pence = [300, 500, 1000]", "amounts_pence = [300, 500, 2500]",
     "sms.shortcodes[0].keywords[0].amounts_pence: 2500 is over the per-text cap of 2000"),
    ('number = "+447700900141"', 'number = "70141"', "sms.shortcodes[1].number: 70141 is listed twice"),
])
def test_a_bad_file_gets_one_clear_error_and_nothing_stored_changes(everypenny, edited_seed, old, new, message):
    everypenny("appeal", "load", SEED_APPEAL)
    before = everypenny("appeal", "show", "sun-ukraine-fund").output

    result = everypenny("appeal", "load", edited_seed(old, new))

    assert result.exit_code == 2
    assert message in result.output
    assert "sun-ukraine-fund.toml:" in result.output
    assert everypenny("appeal", "show", "sun-ukraine-fund").output == before


def test_an_appeal_cannot_switch_currency_once_its_ledger_exists(everypenny, edited_seed):
    everypenny("appeal", "load", SEED_APPEAL)

    result = everypenny("appeal", "load", edited_seed('currency = "GBP"', 'currency = "EUR"'))

    assert result.exit_code == 2
    assert "already keeps its ledger in GBP" in result.output


def test_list_and_show_describe_the_appeal(everypenny):
    everypenny("appeal", "load", SEED_APPEAL)

    listing = everypenny("appeal", "list")
    shown = everypenny("appeal", "show", "sun-ukraine-fund")

    assert listing.exit_code == 0 and "sun-ukraine-fund" in listing.output and "£0" in listing.output
    assert shown.exit_code == 0
    for fact in ("British Red Cross", "220949", "text SUN to 70141", "£3, £5, £10", "fund:restricted"):
        assert fact in shown.output


def test_showing_an_unknown_appeal_says_how_to_find_them(everypenny):
    result = everypenny("appeal", "show", "nope")

    assert result.exit_code == 2
    assert "no appeal has the slug 'nope'" in result.output


def test_a_missing_file_is_named(everypenny, tmp_path):
    result = everypenny("appeal", "load", tmp_path / "missing.toml")

    assert result.exit_code == 2
    assert "missing.toml: (file): no such file" in result.output


def test_commands_refuse_an_unmigrated_database_and_say_what_to_run(monkeypatch, tmp_path):
    monkeypatch.setenv("EVERYPENNY_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")

    result = CliRunner().invoke(app, ["appeal", "list"])

    assert result.exit_code == 3
    assert "has no everypenny schema yet: run `everypenny db upgrade`" in result.output


def test_commands_refuse_a_database_from_a_newer_everypenny(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    upgrade(url)
    from sqlalchemy import create_engine

    with create_engine(url).begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    monkeypatch.setenv("EVERYPENNY_DATABASE_URL", url)

    result = CliRunner().invoke(app, ["serve"])

    assert result.exit_code == 3
    assert "newer than this version of everypenny knows" in result.output


def test_the_demo_without_appeal_files_says_where_it_looked_and_starts_nothing(cli, tmp_path):
    result = cli("demo", "--appeals-dir", tmp_path)

    assert result.exit_code == 2
    assert f"no appeal files (*.toml) in {tmp_path.resolve()}" in result.output
    assert "--appeals-dir" in result.output


def test_a_live_appeal_without_a_privacy_notice_is_refused_and_nothing_is_stored(everypenny, edited_seed):
    without = edited_seed('privacy_url = "https://www.redcross.org.uk/privacy-policy"\n', "")

    result = everypenny("appeal", "load", without)

    assert result.exit_code == 2
    assert "sun-ukraine-fund.toml: privacy_url: a live appeal needs the charity's privacy notice" in result.output
    assert "sun-ukraine-fund" not in everypenny("appeal", "list").output


def test_appeal_check_says_the_reference_appeal_is_ready_to_go_live(everypenny):
    result = everypenny("appeal", "check", SEED_APPEAL)

    assert result.exit_code == 0
    assert result.output.strip().endswith("sun-ukraine-fund.toml: ready to go live")


def test_appeal_check_lists_everything_a_live_appeal_lacks_or_breaks_and_exits_1(everypenny, tmp_path):
    original = SEED_APPEAL.read_text()
    start, end = original.index("[consent]"), original.index("[surplus]")
    lacking = tmp_path / "lacking.toml"
    lacking.write_text(original[:start].replace('privacy_url = "https://www.redcross.org.uk/privacy-policy"\n', "")
                       .replace('status = "live"', 'status = "draft"') + original[end:])

    result = everypenny("appeal", "check", lacking)

    assert result.exit_code == 1
    assert [line.split(": ")[1] for line in result.output.splitlines()] == ["privacy_url", "consent"]


def test_appeal_check_names_caps_over_what_the_law_allows_on_a_phone_bill(everypenny, tmp_path):
    """Payment Services Regulations 2017: at most £40 a text and £240 a month; refused in any file, draft or live."""
    over = tmp_path / "over.toml"
    over.write_text(SEED_APPEAL.read_text().replace("per_text_cap_pence = 2000", "per_text_cap_pence = 5000")
                    .replace("per_number_daily_cap_pence = 3000", "per_number_daily_cap_pence = 30000"))

    result = everypenny("appeal", "check", over)

    assert result.exit_code == 1
    assert [line.split(": ")[1] for line in result.output.splitlines()] == [
        "limits.per_text_cap_pence", "limits.per_number_daily_cap_pence"]


def test_appeal_check_names_a_charge_description_too_long_for_the_phone_bill(everypenny, edited_seed):
    long = edited_seed('charge_description = "Donation to British Red Cross"',
                       'charge_description = "Donation to The Sun\'s Ukraine Fund"')

    result = everypenny("appeal", "check", long)

    assert result.exit_code == 1
    assert "sms.charge_description: \"Donation to The Sun's Ukraine Fund\" is 34 characters" in result.output
