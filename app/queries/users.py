"""Accounts as the API shows them, the per-request check of an access token's session, and an account's export."""

import json
import uuid
from datetime import datetime
from functools import cache
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import ColumnElement, and_, bindparam, func, select, tuple_

from app.db.reader import AnySelect, Reader, ReadQuery
from app.models import LoginSession, Order, RefreshToken, User
from app.queries.orders import order_document
from app.queries.shape import as_text, json_array, json_object
from app.queries.text_search import contains_literal, substring_pattern
from app.schemas.user import UserExportRead, UserRead

_USERS = TypeAdapter(list[UserRead])


def _user(dialect: str) -> ColumnElement[Any]:
    return json_object(
        dialect,
        {
            "id": User.id,
            "email": User.email,
            "full_name": User.full_name,
            "role": User.role,
            "is_active": User.is_active,
            "created_at": User.created_at,
        },
    )


def _live(dialect: str, *columns: Any) -> AnySelect:
    """`columns` of the user behind a token, if its login session is neither revoked nor expired and the user is
    active. Runs on every authenticated request: one statement, prepared by PostgreSQL after its first runs."""
    return (
        select(*columns)
        .join(LoginSession, and_(LoginSession.user_id == User.id, LoginSession.id == bindparam("session_id")))
        .where(
            User.id == bindparam("user_id"),
            User.is_active.is_(True),
            LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > bindparam("now", type_=LoginSession.expires_at.type),
        )
    )


LIVE_CALLER = ReadQuery(lambda dialect: _live(dialect, User.role))
# The same check and, in the same statement, the caller's own account (GET /users/me).
LIVE_PROFILE = ReadQuery(lambda dialect: _live(dialect, User.role, as_text(dialect, _user(dialect))))
USER_BY_ID = ReadQuery(lambda dialect: select(as_text(dialect, _user(dialect))).where(User.id == bindparam("user_id")))


def _export(dialect: str) -> AnySelect:
    """Everything kept about one account, as one document: the profile, every order with its lines and history
    (oldest first), every login session (oldest first; no token or hash)."""
    orders = (
        select(order_document(dialect, with_history=True).label("doc"), Order.created_at, Order.id)
        .where(Order.user_id == User.id)
        .order_by(Order.created_at, Order.id)
        .correlate(User)
    )
    last_used = (
        select(func.max(RefreshToken.created_at)).where(RefreshToken.session_id == LoginSession.id).scalar_subquery()
    )
    login_session = json_object(
        dialect,
        {
            "id": LoginSession.id,
            "created_at": LoginSession.created_at,
            "last_used_at": last_used,
            "expires_at": LoginSession.expires_at,
            "revoked_at": LoginSession.revoked_at,
            "revoked_reason": LoginSession.revoked_reason,
        },
    )
    sessions = (
        select(login_session.label("doc"), LoginSession.created_at, LoginSession.id)
        .where(LoginSession.user_id == User.id)
        .order_by(LoginSession.created_at, LoginSession.id)
        .correlate(User)
    )
    oldest_first = (("created_at", False), ("id", False))
    document = json_object(
        dialect,
        {
            "profile": _user(dialect),
            "orders": json_array(dialect, orders, order=oldest_first),
            "login_sessions": json_array(dialect, sessions, order=oldest_first),
        },
    )
    return select(as_text(dialect, document)).where(User.id == bindparam("user_id"))


USER_EXPORT = ReadQuery(_export)


@cache
def page_query(by_email: bool, after: bool) -> ReadQuery:
    def build(dialect: str) -> AnySelect:
        rows = select(_user(dialect).label("doc"), User.created_at, User.id)
        if by_email:
            rows = rows.where(contains_literal(User.email, bindparam("email_pattern")))
        if after:
            position = (
                bindparam("after_created_at", type_=User.created_at.type),
                bindparam("after_id", type_=User.id.type),
            )
            rows = rows.where(tuple_(User.created_at, User.id) < tuple_(*position))
        rows = rows.order_by(User.created_at.desc(), User.id.desc()).limit(bindparam("limit"))
        return select(as_text(dialect, json_array(dialect, rows, order=(("created_at", True), ("id", True)))))

    return ReadQuery(build)


class UserQueries:
    def __init__(self, reader: Reader) -> None:
        self._reader = reader

    async def live_role(self, *, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime) -> str | None:
        """The user's role if this login session and the account are both still live, else None."""
        row = await self._reader.one(LIVE_CALLER, {"user_id": user_id, "session_id": session_id, "now": now})
        return str(row[0]) if row else None

    async def live_profile(
        self, *, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime
    ) -> tuple[str, UserRead] | None:
        """The role and the account, if this login session and the account are both still live, else None."""
        row = await self._reader.one(LIVE_PROFILE, {"user_id": user_id, "session_id": session_id, "now": now})
        return (str(row[0]), UserRead.model_validate_json(row[1])) if row else None

    async def get(self, user_id: uuid.UUID) -> UserRead | None:
        row = await self._reader.one(USER_BY_ID, {"user_id": user_id})
        return UserRead.model_validate_json(row[0]) if row else None

    async def export(self, user_id: uuid.UUID, *, now: datetime) -> UserExportRead | None:
        """The account's whole record (see `_export`), stamped with `now`; None when there is no such account."""
        row = await self._reader.one(USER_EXPORT, {"user_id": user_id})
        if row is None:
            return None
        return UserExportRead.model_validate({"exported_at": now, **json.loads(row[0])})

    async def list_page(
        self, *, email_contains: str | None, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[UserRead]:
        """Newest first, keyset on (created_at, id)."""
        params: dict[str, Any] = {"limit": limit}
        if email_contains:
            params["email_pattern"] = substring_pattern(email_contains)
        if after is not None:
            params["after_created_at"], params["after_id"] = after
        row = await self._reader.one(page_query(bool(email_contains), after is not None), params)
        return _USERS.validate_json(row[0]) if row else []
