"""People who run an appeal desk, their roles, and what each role may do.

Roles are a closed set so a typo in `everypenny user add` is refused rather than granting nothing (or
everything). Permissions, not roles, are what routes ask for, so a new role is one line here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from everypenny.domain.guessing import guessability
from everypenny.domain.text import has_unstorable_characters

MINIMUM_PASSWORD_LENGTH = 12
# A password needs at least 10^8 guesses by zxcvbn's count (its score 3: "safely unguessable", with the slow
# argon2id hash we store), which refuses common and leaked passwords, repeats, sequences and keyboard walks.
MINIMUM_PASSWORD_GUESSES_LOG10 = 8
MAXIMUM_PASSWORD_LENGTH = 1024  # argon2 hashes any length; a bound stops a megabyte "password" costing CPU
# After this many attempts at one email from one client in a LOCKOUT window (a right password clears them),
# that client may try that email no more until the window ends: guessing slows to a crawl.
FAILED_LOGINS_BEFORE_LOCKOUT = 5
LOCKOUT = timedelta(minutes=15)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Role(StrEnum):
    ADMIN = "admin"  # manages appeals and users
    FINANCE = "finance"  # money: exports, reconciliation, refunds, settlements, Gift Aid claims
    VIEWER = "viewer"  # reads the dashboard and donations


class Permission(StrEnum):
    VIEW = "view"
    EXPORT = "export"
    MANAGE_MONEY = "manage_money"  # refunds, settlements and Gift Aid claims from the desk
    MANAGE_APPEALS = "manage_appeals"
    MANAGE_USERS = "manage_users"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.FINANCE: frozenset({Permission.VIEW, Permission.EXPORT, Permission.MANAGE_MONEY}),
    Role.VIEWER: frozenset({Permission.VIEW}),
}


class UserRuleBroken(ValueError):
    """A user that cannot be created as asked; the message says what to change."""


def parse_role(name: str) -> Role:
    try:
        return Role(name.strip().lower())
    except ValueError:
        known = ", ".join(role.value for role in Role)
        raise UserRuleBroken(f"unknown role {name!r}; choose one of {known}") from None


def normalise_email(email: str) -> str:
    cleaned = email.strip().lower()
    if len(cleaned) > 320 or not _EMAIL.match(cleaned) or has_unstorable_characters(cleaned):
        raise UserRuleBroken(f"{email!r} is not an email address")
    return cleaned


def check_password(password: str) -> None:
    if len(password) < MINIMUM_PASSWORD_LENGTH:
        raise UserRuleBroken(f"a password needs at least {MINIMUM_PASSWORD_LENGTH} characters")
    if len(password) > MAXIMUM_PASSWORD_LENGTH:
        raise UserRuleBroken(f"a password may have at most {MAXIMUM_PASSWORD_LENGTH} characters")
    guessed = guessability(password)
    if guessed.guesses_log10 < MINIMUM_PASSWORD_GUESSES_LOG10:
        reason = guessed.warning.rstrip(".") or "it follows a pattern people often use"
        raise UserRuleBroken(f"this password is too easy to guess ({reason[:1].lower()}{reason[1:]}): "
                             "a few unrelated words make a strong one")


@dataclass(frozen=True)
class User:
    id: int
    email: str
    role: Role
    created_at: datetime

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]
