"""CSV exports, desk users and the appeal lifecycle against SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import threading
from datetime import UTC, datetime, timedelta

import pytest

from everypenny.domain.appeal_lifecycle import TransitionRefused
from everypenny.domain.users import Role, UserRuleBroken
from everypenny.service_layer import auth, desk
from tests.builders import DonationBuilder
from tests.e2e.desk_helpers import quick_passwords

pytestmark = [pytest.mark.usefixtures(quick_passwords.__name__)]


@pytest.fixture
def donations(platform, seed_appeal):
    return DonationBuilder(platform)

LIMITS = auth.LoginLimits(per_client=100, window=timedelta(minutes=10))


def log_in(platform, email: str, password: str, now: datetime, lifetime: timedelta, client: str = "192.0.2.1"):
    return auth.log_in(platform.uow(), platform.passwords, email, password, now, lifetime, client=client,
                       limits=LIMITS)


def exported(platform, kind: str) -> list[dict[str, str]]:
    text = "".join(chunk.text for chunk in desk.export_csv(platform.uow(), kind, "sun-ukraine-fund"))
    return list(csv.DictReader(io.StringIO(text)))


def test_the_donations_export_has_one_row_per_donation_with_contact_details(platform, donations):
    text = donations.text(500, phone="+447700900123", consent=True)
    online = donations.online(2500, email="jane.doe@example.org", outcome="failed", failure_reason="card declined")

    rows = exported(platform, "donations")

    assert [row["reference"] for row in rows] == [text.reference, online.reference]
    assert rows[0] | {"created_at": ""} == {
        "reference": text.reference, "created_at": "", "channel": "carrier_sms", "status": "paid",
        "keyword": "SUN", "amount": "5.00", "paid": "5.00", "refunded": "0.00", "currency": "GBP",
        "phone": "+447700900123", "email": "", "marketing_consent": "yes", "gift_aid_declared": "no",
        "failure_reason": "", "amount_pence": "500", "paid_pence": "500", "refunded_pence": "0"}
    assert datetime.fromisoformat(rows[0]["created_at"]) == text.created_at
    assert (rows[1]["status"], rows[1]["failure_reason"]) == ("failed", "card declined")


def test_exported_amounts_read_in_pounds_with_pence_kept_and_gift_aid_declared(platform, donations):
    declared = donations.online(2575, email="olena@example.org")
    donations.declare_gift_aid(declared)
    donations.refund(declared, 1005)

    [row] = exported(platform, "donations")
    transfers = exported(platform, "transfers")

    assert (row["amount"], row["paid"], row["refunded"], row["gift_aid_declared"]) == ("25.75", "25.75", "10.05",
                                                                                       "yes")
    assert (row["amount_pence"], row["paid_pence"], row["refunded_pence"]) == ("2575", "2575", "1005")
    assert [(r["kind"], r["amount"], r["amount_pence"]) for r in transfers] == [
        ("donation", "25.75", "2575"), ("refund", "10.05", "1005")]


def test_exported_times_are_uk_time_with_the_offset(platform, donations):
    donations.text(500, at=datetime(2026, 7, 1, 9, 0, 7, tzinfo=UTC))
    donations.text(500, at=datetime(2026, 11, 26, 9, 0, 7, tzinfo=UTC))

    assert [row["created_at"] for row in exported(platform, "donations")] == [
        "2026-07-01T10:00:07+01:00", "2026-11-26T09:00:07+00:00"]


def test_the_transfers_export_lists_every_leg_in_ledger_order(platform, donations):
    donation = donations.text(500)

    rows = exported(platform, "transfers")

    assert [(r["phase"], r["debit_account"], r["credit_account"], r["amount_pence"], r["reference"]) for r in rows] == [
        ("pending", "receivable:carrier_sms", "fund:restricted", "500", donation.reference),
        ("post", "receivable:carrier_sms", "fund:restricted", "500", donation.reference)]
    assert rows[1]["pending_id"] == rows[0]["id"]


def test_the_consent_list_holds_only_people_still_opted_in_and_stop_wins(platform, donations):
    donations.text(500, phone="+447700900111", consent=True)
    donations.text(500, phone="+447700900222", consent=True)
    donations.stop("+447700900222")
    donations.text(500, phone="+447700900333", consent=False)
    donations.online(2500, email="jane.doe@example.org", consent=True)
    donations.text(500, phone="+447700900444", consent=True)
    donations.text(500, phone="+447700900444", consent=True)  # opted in twice: listed once

    rows = exported(platform, "consents")

    assert [(r["contact"], r["medium"]) for r in rows] == [
        ("+447700900111", "sms"), ("+447700900444", "sms"), ("jane.doe@example.org", "email")]


def test_opting_in_again_after_stop_puts_the_donor_back_on_the_list(platform, donations):
    donations.text(500, phone="+447700900222", consent=True)
    donations.stop("+447700900222")
    donations.text(500, phone="+447700900222", consent=True)

    assert [r["contact"] for r in exported(platform, "consents")] == ["+447700900222"]


def test_an_export_is_checked_before_it_streams(platform, donations):
    donations.text(500)
    assert desk.check_export(platform.uow(), "donations", "sun-ukraine-fund") == 1
    assert desk.check_export(platform.uow(), "transfers", "sun-ukraine-fund") == 2
    with pytest.raises(desk.ExportRefused, match="no export is called 'gift_aid'"):
        desk.check_export(platform.uow(), "gift_aid", "sun-ukraine-fund")
    with pytest.raises(desk.UnknownAppeal):
        desk.check_export(platform.uow(), "donations", "no-such-appeal")


def test_a_large_export_streams_in_chunks(platform, donations, monkeypatch):
    monkeypatch.setattr(desk, "EXPORT_CHUNK_ROWS", 2)
    for _ in range(5):
        donations.text(500)

    chunks = list(desk.export_csv(platform.uow(), "donations", "sun-ukraine-fund"))

    assert [chunk.rows for chunk in chunks] == [2, 2, 1]
    assert sum(chunk.text.count("\r\n") for chunk in chunks) == 6  # a header and five rows


def test_a_download_abandoned_half_way_gives_its_connection_back(platform, donations, monkeypatch):
    monkeypatch.setattr(desk, "EXPORT_CHUNK_ROWS", 2)
    for _ in range(5):
        donations.text(500)

    chunks = desk.export_csv(platform.uow(), "transfers", "sun-ukraine-fund")
    assert next(chunks).rows == 2
    closing = threading.Thread(target=chunks.close, daemon=True)  # the browser went away
    closing.start()
    closing.join(timeout=30)

    assert not closing.is_alive(), "abandoning the download hangs"
    assert platform.engine.pool.checkedout() == 0
    assert sum(chunk.rows for chunk in desk.export_csv(platform.uow(), "donations", "sun-ukraine-fund")) == 5


def test_closing_an_appeal_is_recorded_with_who_did_it(platform, seed_appeal):
    before = desk.change_appeal_status(platform.uow(), "sun-ukraine-fund", "closed", "desk:ann@example.org")

    with platform.uow() as uow:
        stored = uow.appeals.get("sun-ukraine-fund")
        changes = uow.appeals.changes("sun-ukraine-fund")
    assert before.value == "live"
    assert stored.appeal.status.value == "closed" and not stored.appeal.takes_money
    assert (changes[-1].source, changes[-1].changed_keys) == ("desk:ann@example.org", ["status"])


def test_an_illegal_status_change_is_refused_and_changes_nothing(platform, seed_appeal):
    desk.change_appeal_status(platform.uow(), "sun-ukraine-fund", "closed", "cli")

    with pytest.raises(TransitionRefused, match="closed and cannot become live"):
        desk.change_appeal_status(platform.uow(), "sun-ukraine-fund", "live", "cli")
    with pytest.raises(desk.StatusUnknown, match="'paused' is not an appeal status"):
        desk.change_appeal_status(platform.uow(), "sun-ukraine-fund", "paused", "cli")
    with platform.uow() as uow:
        assert len(uow.appeals.changes("sun-ukraine-fund")) == 2


def test_users_log_in_with_their_password_and_emails_are_unique(platform):
    now = datetime.now(UTC)
    added = auth.add_user(platform.uow(), platform.passwords, "Ann@Example.org", "finance", "a long passphrase", now)

    assert added.role is Role.FINANCE and added.email == "ann@example.org"
    with pytest.raises(auth.UserExists, match=r"ann@example\.org already exists"):
        auth.add_user(platform.uow(), platform.passwords, "ann@example.org", "viewer", "another passphrase", now)
    with pytest.raises(UserRuleBroken, match="unknown role"):
        auth.add_user(platform.uow(), platform.passwords, "bob@example.org", "boss", "a long passphrase", now)
    logged_in = log_in(platform, "ANN@example.org", "a long passphrase", now,
                            timedelta(hours=1))
    assert logged_in.session.user.email == "ann@example.org"
    assert auth.current_session(platform.uow(), logged_in.token, now).user == added
    assert auth.current_session(platform.uow(), logged_in.token, now + timedelta(hours=2)) is None
    assert log_in(platform, "ann@example.org", "wrong", now, timedelta(hours=1)) is None


def test_passwords_are_stored_as_argon2_hashes(platform):
    auth.add_user(platform.uow(), platform.passwords, "ann@example.org", "viewer", "a long passphrase",
                  datetime.now(UTC))

    with platform.uow() as uow:
        password_hash = uow.users.credentials("ann@example.org").password_hash
    assert password_hash.startswith("$argon2id$") and "a long passphrase" not in password_hash


def test_reloading_the_appeal_file_cannot_reopen_an_appeal_the_desk_closed(platform, seed_appeal):
    from everypenny.adapters.appeal_file import load_appeal_file
    from everypenny.service_layer.appeals import StatusChangeRefused, load_appeal
    from tests.conftest import SEED_APPEAL

    desk.change_appeal_status(platform.uow(), "sun-ukraine-fund", "closed", "desk:ann@example.org")
    appeal, definition = load_appeal_file(SEED_APPEAL)

    with pytest.raises(StatusChangeRefused, match=r'closed and cannot become live.*set status = "closed"'):
        load_appeal(platform.uow(), appeal, definition, str(SEED_APPEAL))
    with platform.uow() as uow:
        assert uow.appeals.get("sun-ukraine-fund").appeal.status.value == "closed"


def test_repeated_wrong_passwords_rest_the_account_for_a_while(platform):
    now = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
    hour = timedelta(hours=1)
    auth.add_user(platform.uow(), platform.passwords, "ann@example.org", "viewer", "a long passphrase", now)

    for _ in range(5):
        assert log_in(platform, "ann@example.org", "guess", now, hour) is None
    with pytest.raises(auth.LoginLocked, match="try again after 13:15 UTC"):
        log_in(platform, "ann@example.org", "a long passphrase", now, hour)

    later = now + timedelta(minutes=16)
    assert log_in(platform, "ann@example.org", "a long passphrase", later, hour)


def test_a_successful_login_forgets_earlier_wrong_passwords(platform):
    now = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
    hour = timedelta(hours=1)
    auth.add_user(platform.uow(), platform.passwords, "ann@example.org", "viewer", "a long passphrase", now)

    for _ in range(4):
        log_in(platform, "ann@example.org", "guess", now, hour)
    assert log_in(platform, "ann@example.org", "a long passphrase", now, hour)
    for _ in range(4):
        log_in(platform, "ann@example.org", "guess", now, hour)

    assert log_in(platform, "ann@example.org", "a long passphrase", now, hour)


def test_the_desk_always_keeps_an_admin(platform):
    now = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
    only_admin = auth.add_user(platform.uow(), platform.passwords, "ann@example.org", "admin", "a long passphrase", now)
    auth.add_user(platform.uow(), platform.passwords, "bob@example.org", "finance", "a long passphrase", now)

    with pytest.raises(auth.RemovalRefused, match="only admin; add another admin first"):
        auth.remove_user(platform.uow(), "ann@example.org")
    with pytest.raises(auth.RemovalRefused, match="no desk user has the email carol"):
        auth.remove_user(platform.uow(), "carol@example.org")
    assert auth.remove_user(platform.uow(), "BOB@example.org", removed_by=only_admin).email == "bob@example.org"
    assert [user.email for user in auth.list_users(platform.uow())] == ["ann@example.org"]
