"""The appeal desk's domain rules: roles, user details, appeal lifecycle, masking, safe CSV cells."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from everypenny.adapters.db.reporting import csv_safe_text
from everypenny.domain.appeal import AppealStatus
from everypenny.domain.appeal_lifecycle import TransitionRefused, check_transition
from everypenny.domain.privacy import mask_email, mask_phone
from everypenny.domain.users import (
    Permission,
    Role,
    User,
    UserRuleBroken,
    check_password,
    normalise_email,
    parse_role,
)


def user(role: Role) -> User:
    return User(1, "someone@example.org", role, datetime(2026, 11, 26, tzinfo=UTC))


def test_admins_manage_appeals_and_users_and_may_export():
    assert all(user(Role.ADMIN).can(permission) for permission in Permission)


def test_finance_handles_money_and_exports_but_manages_no_appeal_or_user():
    finance = user(Role.FINANCE)
    assert finance.can(Permission.VIEW) and finance.can(Permission.EXPORT)
    assert finance.can(Permission.MANAGE_MONEY)
    assert not finance.can(Permission.MANAGE_APPEALS) and not finance.can(Permission.MANAGE_USERS)


def test_viewers_only_read():
    assert [p for p in Permission if user(Role.VIEWER).can(p)] == [Permission.VIEW]


def test_an_unknown_role_is_refused_naming_the_real_ones():
    with pytest.raises(UserRuleBroken, match="unknown role 'boss'; choose one of admin, finance, viewer"):
        parse_role("boss")
    assert parse_role(" Finance ") is Role.FINANCE


def test_emails_are_compared_in_lower_case_and_must_look_like_emails():
    assert normalise_email("  Ann.Lee@Example.ORG ") == "ann.lee@example.org"
    with pytest.raises(UserRuleBroken, match="not an email address"):
        normalise_email("ann at example")


def test_passwords_must_be_long_but_not_absurd():
    with pytest.raises(UserRuleBroken, match="at least 12 characters"):
        check_password("short")
    with pytest.raises(UserRuleBroken, match="at most 1024"):
        check_password("x" * 1025)
    check_password("twelve chars")


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "password1234", "123456789012", "qwertyuiopas",
                                      "abcdefghijkl", "Password1234"])
def test_a_password_on_the_lists_of_common_ones_or_a_pattern_is_refused(password):
    with pytest.raises(UserRuleBroken, match="this password is too easy to guess"):
        check_password(password)


def test_only_the_start_of_a_very_long_password_is_scored_so_checking_it_stays_quick():
    check_password("a long enough passphrase" + "x" * 1000)
    with pytest.raises(UserRuleBroken, match="too easy to guess"):
        check_password("a" * 1024)


@pytest.mark.parametrize(("current", "wanted"), [
    (AppealStatus.DRAFT, AppealStatus.LIVE), (AppealStatus.DRAFT, AppealStatus.CLOSED),
    (AppealStatus.LIVE, AppealStatus.CLOSED)])
def test_an_appeal_moves_forward(current, wanted):
    check_transition("sun", current, wanted)


def test_a_closed_appeal_stays_closed():
    with pytest.raises(TransitionRefused, match="appeal sun is closed and cannot become draft"):
        check_transition("sun", AppealStatus.CLOSED, AppealStatus.DRAFT)


def test_a_live_appeal_cannot_go_back_to_draft_and_the_message_says_what_it_can_do():
    with pytest.raises(TransitionRefused, match="cannot go from live to draft; from live it can become closed"):
        check_transition("sun", AppealStatus.LIVE, AppealStatus.DRAFT)


def test_asking_for_the_status_it_already_has_is_refused_plainly():
    with pytest.raises(TransitionRefused, match="already live"):
        check_transition("sun", AppealStatus.LIVE, AppealStatus.LIVE)


def test_phone_numbers_show_only_their_start_and_last_three_digits():
    assert mask_phone("+447700900123") == "07•••••123"
    assert mask_phone("+33612345678") == "+33•••••678"
    assert mask_phone(None) == ""


def test_emails_show_only_first_letters_and_the_top_level_domain():
    assert mask_email("jane.doe@example.org") == "j•••@e•••.org"
    assert mask_email("x@localhost") == "x•••@l•••"


@pytest.mark.parametrize(("value", "cell"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("@SUM(A1)", "'@SUM(A1)"),
    ("-1+2", "'-1+2"), ("+447700900123", "+447700900123"), (None, None), ("", ""), ("SUN", "SUN")])
def test_csv_text_never_carries_a_spreadsheet_formula(value, cell):
    assert csv_safe_text(value) == cell
