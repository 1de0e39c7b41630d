"""SQL storage of appeal-desk users and their sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, select, update

from everypenny.adapters.db.repositories import _insert_or_duplicate
from everypenny.adapters.db.schema import desk_sessions, desk_users
from everypenny.domain.users import Role, User
from everypenny.service_layer.desk_ports import Credentials, DeskSession


def _user(row) -> User:
    return User(id=row.id, email=row.email, role=Role(row.role), created_at=row.created_at)


class SqlUserRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, email: str, role: Role, password_hash: str, created_at: datetime) -> User:
        """Raises DuplicateKey when the email is taken."""
        result = _insert_or_duplicate(self.connection, desk_users.insert().values(
            email=email, role=role.value, password_hash=password_hash, created_at=created_at))
        return User(id=result.inserted_primary_key[0], email=email, role=role, created_at=created_at)

    def credentials(self, email: str) -> Credentials | None:
        row = self.connection.execute(select(desk_users).where(desk_users.c.email == email)).first()
        return Credentials(_user(row), row.password_hash) if row else None

    def list(self) -> list[User]:
        return [_user(row) for row in self.connection.execute(select(desk_users).order_by(desk_users.c.email))]

    def record_login(self, user_id: int, at: datetime) -> None:
        self.connection.execute(update(desk_users).where(desk_users.c.id == user_id)
                                .values(last_login_at=at))


    def remove(self, user_id: int) -> None:
        """Removes the user and ends every session they have."""
        self.connection.execute(delete(desk_sessions).where(desk_sessions.c.user_id == user_id))
        self.connection.execute(delete(desk_users).where(desk_users.c.id == user_id))


class SqlSessionRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, token_hash: str, user_id: int, csrf_token: str, created_at: datetime,
            expires_at: datetime) -> None:
        self.connection.execute(desk_sessions.insert().values(
            token_hash=token_hash, user_id=user_id, csrf_token=csrf_token, created_at=created_at,
            expires_at=expires_at))

    def get(self, token_hash: str, now: datetime) -> DeskSession | None:
        row = self.connection.execute(
            select(desk_users, desk_sessions.c.csrf_token, desk_sessions.c.expires_at)
            .join(desk_users, desk_users.c.id == desk_sessions.c.user_id)
            .where(desk_sessions.c.token_hash == token_hash, desk_sessions.c.expires_at > now)).first()
        return DeskSession(_user(row), row.csrf_token, row.expires_at) if row else None

    def delete(self, token_hash: str) -> None:
        self.connection.execute(delete(desk_sessions).where(desk_sessions.c.token_hash == token_hash))

    def delete_expired(self, now: datetime) -> int:
        return self.connection.execute(delete(desk_sessions).where(desk_sessions.c.expires_at <= now)).rowcount
