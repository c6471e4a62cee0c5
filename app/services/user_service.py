"""Profiles, password changes and the admin's management of accounts."""

import uuid
from datetime import UTC, datetime

from app.core.errors import BadRequestError, ConflictError, NotFoundError
from app.core.pagination import decode_cursor, encode_cursor
from app.core.security import PasswordHasher
from app.models import Role, User
from app.schemas.common import Page
from app.schemas.user import PasswordChange, UserAdminUpdate, UserRead, UserUpdateMe
from app.services.auth_service import normalize_email
from app.services.caller import Caller
from app.services.read_side import ReadSide
from app.services.unit_of_work import UnitOfWork


async def update_me(uow: UnitOfWork, caller: Caller, data: UserUpdateMe) -> User:
    async with uow:
        user = await _get(uow, caller.id)
        user.full_name = data.full_name
        await uow.commit()
        return user


async def change_password(uow: UnitOfWork, hasher: PasswordHasher, caller: Caller, data: PasswordChange) -> None:
    """Set a new password and revoke every session of the user, this one included."""
    async with uow:
        checked_hash = (await _get(uow, caller.id)).password_hash
    # Both argon2 steps run before the transaction, so they hold no connection or lock.
    valid, _ = await hasher.verify(data.current_password, checked_hash)
    if not valid:
        raise BadRequestError("The current password is not correct.")
    new_hash = await hasher.hash(data.new_password)
    async with uow:
        user = await _get(uow, caller.id, for_update=True)
        if user.password_hash != checked_hash:
            raise ConflictError("The password was changed meanwhile; sign in again.")
        user.password_hash = new_hash
        await uow.sessions.revoke_all_for_user(user_id=user.id, now=datetime.now(UTC), reason="password-change")
        await uow.commit()


async def list_users(reads: ReadSide, *, limit: int, cursor: str | None, email: str | None) -> Page[UserRead]:
    after = decode_cursor(cursor, datetime, uuid.UUID) if cursor else None
    rows = await reads.users.list_page(email_contains=email, after=after, limit=limit + 1)  # type: ignore[arg-type]
    items, more = rows[:limit], len(rows) > limit
    next_cursor = encode_cursor(items[-1].created_at, items[-1].id) if more else None
    return Page[UserRead](items=items, next_cursor=next_cursor)


async def get_user(reads: ReadSide, user_id: uuid.UUID) -> UserRead:
    user = await reads.users.get(user_id)
    if user is None:
        raise NotFoundError("No such user.")
    return user


async def admin_update(uow: UnitOfWork, caller: Caller, user_id: uuid.UUID, data: UserAdminUpdate) -> User:
    """Change a user's name, role or status; an admin can neither demote nor deactivate themself."""
    changes = data.model_dump(exclude_unset=True)
    if user_id == caller.id and (changes.get("role") not in (None, Role.ADMIN) or changes.get("is_active") is False):
        raise ConflictError("Admins cannot demote or deactivate themselves.")
    async with uow:
        user = await _get(uow, user_id, for_update=True)
        if "full_name" in changes:
            user.full_name = changes["full_name"]
        if changes.get("role") is not None:
            user.role = changes["role"]
        if changes.get("is_active") is not None:
            user.is_active = changes["is_active"]
            if not user.is_active:
                await uow.sessions.revoke_all_for_user(user_id=user.id, now=datetime.now(UTC), reason="deactivated")
        await uow.commit()
        return user


async def _get(uow: UnitOfWork, user_id: uuid.UUID, *, for_update: bool = False) -> User:
    # Changes that revoke sessions lock the user, as login does before it opens one.
    user = await (uow.users.get_for_update(user_id) if for_update else uow.users.get(user_id))
    if user is None:
        raise NotFoundError("No such user.")
    return user


async def ensure_admin(uow: UnitOfWork, hasher: PasswordHasher, *, email: str, password: str) -> bool:
    """Create an active admin with this email unless an account with it exists; True when created."""
    email = normalize_email(email)
    async with uow:
        if await uow.users.get_by_email(email=email) is not None:
            return False
        await uow.users.add(
            User(email=email, full_name="Administrator", password_hash=await hasher.hash(password), role=Role.ADMIN)
        )
        await uow.commit()
        return True
