"""Desk users, logins and sessions.

A session token is random and shown only to the browser; the store keeps its SHA-256, so a leaked
database backup holds no usable session. Each session carries its own CSRF token for state-changing forms.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from everypenny.domain.users import (
    FAILED_LOGINS_BEFORE_LOCKOUT,
    LOCKOUT,
    MAXIMUM_PASSWORD_LENGTH,
    Permission,
    Role,
    User,
    check_password,
    normalise_email,
    parse_role,
)
from everypenny.service_layer.desk_ports import DeskSession, PasswordHasher
from everypenny.service_layer.ports import DuplicateKey
from everypenny.service_layer.rate_limits import seconds_left, window_start
from everypenny.service_layer.unit_of_work import UnitOfWork

# Attempts are counted per (typed email, client address) and per client address; see log_in.
ACCOUNT_FROM_CLIENT = "login:account"
CLIENT = "login:client"


class UserExists(ValueError):
    def __init__(self, email: str) -> None:
        super().__init__(f"a desk user with the email {email} already exists")


class LoginLocked(Exception):
    """Too many wrong passwords for this account from this client; no password is checked until `until`."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"too many failed logins: try again after {until:%H:%M} UTC")
        self.until = until


class TooManyLogins(Exception):
    """Too many login attempts from one client address, whichever accounts they were for."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many login attempts: try again in {retry_after_s} seconds")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class LoginLimits:
    per_client: int
    window: timedelta


class NotAllowed(PermissionError):
    def __init__(self, user: User, permission: Permission) -> None:
        super().__init__(f"{user.email} is a {user.role.value}, which may not {permission.value.replace('_', ' ')}")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def add_user(uow: UnitOfWork, passwords: PasswordHasher, email: str, role: str, password: str,
             now: datetime) -> User:
    """Raises UserRuleBroken for a bad email, role or password and UserExists for a taken email."""
    address, chosen_role = normalise_email(email), parse_role(role)
    check_password(password)
    password_hash = passwords.hash(password)
    with uow:
        if uow.users.credentials(address) is not None:
            raise UserExists(address)
        try:
            user = uow.users.add(address, chosen_role, password_hash, now)
        except DuplicateKey:
            raise UserExists(address) from None
        uow.commit()
    return user


@dataclass(frozen=True)
class LoggedIn:
    token: str  # for the browser's cookie only
    session: DeskSession


_timing_decoys: dict[int, str] = {}


def _decoy_hash(passwords: PasswordHasher) -> str:
    """A hash to verify against when the email is unknown, so a login's timing does not reveal who has one."""
    key = id(passwords)
    if key not in _timing_decoys:
        _timing_decoys[key] = passwords.hash(secrets.token_urlsafe(16))
    return _timing_decoys[key]


def log_in(uow: UnitOfWork, passwords: PasswordHasher, email: str, password: str, now: datetime,
           lifetime: timedelta, *, client: str, limits: LoginLimits) -> LoggedIn | None:
    """A new session for the right email and password; None otherwise (never saying which was wrong).

    Each attempt is counted, and the count committed, before any password is checked, so concurrent guesses
    cannot all slip in under a count none of them has raised yet. Raises TooManyLogins past the client's
    allowance, and LoginLocked past FAILED_LOGINS_BEFORE_LOCKOUT attempts at one email from one client in
    a LOCKOUT window. The lockout is per (email, client): an outsider guessing at the admin's email locks
    only themselves out, not the admin at their own desk; an email nobody has is counted and locked the
    same way, so the answers reveal nothing about which emails exist. A right password clears the count.
    """
    try:
        address = normalise_email(email)
    except ValueError:
        return None
    _count_attempt(uow, address, client, now, limits)
    with uow:
        found = uow.users.credentials(address)
    # Checked outside any transaction: a slow hash holds no database connection.
    stored_hash = found.password_hash if found else _decoy_hash(passwords)
    if not passwords.verify(stored_hash, password[:MAXIMUM_PASSWORD_LENGTH]) or found is None:
        return None
    user = found.user
    token, csrf = new_token(), new_token()
    with uow:
        uow.rate_limits.forget(ACCOUNT_FROM_CLIENT, _account_from(address, client))
        uow.sessions.delete_expired(now)
        uow.sessions.add(hash_token(token), user.id, csrf, now, now + lifetime)
        uow.users.record_login(user.id, now)
        uow.commit()
    return LoggedIn(token, DeskSession(user, csrf, now + lifetime))


def _account_from(address: str, client: str) -> str:
    return f"{address} from {client}"


def _count_attempt(uow: UnitOfWork, address: str, client: str, now: datetime, limits: LoginLimits) -> None:
    """Counts this attempt in its own committed transaction, and refuses it over either limit."""
    account_window = window_start(now, LOCKOUT)
    client_window = window_start(now, limits.window)
    with uow:
        uow.rate_limits.prune((ACCOUNT_FROM_CLIENT,), before=account_window)
        uow.rate_limits.prune((CLIENT,), before=client_window)
        from_client = uow.rate_limits.hit(CLIENT, client, client_window)
        at_account = uow.rate_limits.hit(ACCOUNT_FROM_CLIENT, _account_from(address, client), account_window)
        uow.commit()
    if from_client > limits.per_client:
        raise TooManyLogins(seconds_left(now, client_window, limits.window))
    if at_account > FAILED_LOGINS_BEFORE_LOCKOUT:
        raise LoginLocked(account_window + LOCKOUT)


def current_session(uow: UnitOfWork, token: str | None, now: datetime) -> DeskSession | None:
    if not token:
        return None
    with uow:
        return uow.sessions.get(hash_token(token), now)


def log_out(uow: UnitOfWork, token: str) -> None:
    with uow:
        uow.sessions.delete(hash_token(token))
        uow.commit()


def require(user: User, permission: Permission) -> None:
    if not user.can(permission):
        raise NotAllowed(user, permission)


class RemovalRefused(ValueError):
    pass


def remove_user(uow: UnitOfWork, email: str, removed_by: User | None = None) -> User:
    """Removes a desk user and ends their sessions; the desk always keeps at least one admin."""
    address = email.strip().lower()
    with uow:
        found = uow.users.credentials(address)
        if found is None:
            raise RemovalRefused(f"no desk user has the email {address}")
        if removed_by is not None and removed_by.id == found.user.id:
            raise RemovalRefused("you cannot remove yourself; ask another admin")
        admins = [user for user in uow.users.list() if user.role is Role.ADMIN]
        if found.user.role is Role.ADMIN and len(admins) == 1:
            raise RemovalRefused(f"{address} is the only admin; add another admin first")
        uow.users.remove(found.user.id)
        uow.commit()
    return found.user


def list_users(uow: UnitOfWork) -> list[User]:
    with uow:
        return uow.users.list()
