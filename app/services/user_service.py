"""Profiles, password changes, the admin's management of accounts, erasure and the copy of one's data."""

import uuid
from datetime import UTC, datetime

from app.core.emails import canonical_email, canonical_email_fragment
from app.core.errors import BadRequestError, ConflictError, NotFoundError, PermissionDeniedError, RateLimitedError
from app.core.pagination import CursorCodec
from app.models import Role, User
from app.schemas.common import Page
from app.schemas.user import PasswordUpdate, ProfileUpdate, UserDelete, UserExportRead, UserRead, UserUpdate
from app.services import paging
from app.services.caller import Caller
from app.services.outbox import Outbox
from app.services.ports import Hasher, ReadSide, Throttle, UnitOfWork, UnitOfWorkFactory

NEWEST_FIRST = paging.newest_first("users")


class UserService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        reads: ReadSide,
        *,
        hasher: Hasher,
        cursors: CursorCodec,
        throttle: Throttle,
        outbox: Outbox,
    ) -> None:
        self._uow = uow
        self._reads = reads
        self._hasher = hasher
        self._cursors = cursors
        self._throttle = throttle
        self._outbox = outbox

    async def update_profile(self, caller: Caller, data: ProfileUpdate) -> UserRead:
        async with self._uow() as uow:
            user = await _get(uow, caller.id)
            user.full_name = data.full_name
            await uow.commit()
            return UserRead.model_validate(user)

    async def change_password(self, caller: Caller, data: PasswordUpdate) -> None:
        """Set a new password and revoke every session of the user, this one included.

        A wrong current password counts as a failed login for the account's email: a stolen access token must not
        give unlimited guesses, and past the limit both this and login answer 429 until the window passes.
        """
        async with self._uow() as uow:
            user = await _get(uow, caller.id)
            # An erased account has no email, nor a session to get here with; its id is counted then.
            checked_hash, email = user.password_hash, user.email or str(user.id)
        retry_after = await self._throttle.acquire(email)
        if retry_after is not None:
            raise RateLimitedError(
                "Too many failed password checks for this account; try again later.", retry_after=retry_after
            )
        # Both argon2 steps run outside any transaction, so they hold no connection or lock.
        if checked_hash is None or not (await self._hasher.verify(data.current_password, checked_hash))[0]:
            raise BadRequestError("The current password is not correct.")  # the attempt stays counted
        new_hash = await self._hasher.hash(data.new_password)
        async with self._uow() as uow:
            user = await _get(uow, caller.id, for_update=True)
            if user.password_hash != checked_hash:
                raise ConflictError("The password was changed meanwhile; sign in again.")
            now = datetime.now(UTC)
            user.password_hash, user.password_changed_at = new_hash, now
            await uow.login_sessions.revoke_all_for_user(user_id=user.id, now=now, reason="password-change")
            await uow.commit()
        await self._throttle.reset(email)

    async def list_users(self, caller: Caller, *, limit: int, cursor: str | None, email: str | None) -> Page[UserRead]:
        """Newest first; `email` is a substring of the address, in any spelling that registers (case, Unicode
        normalisation, an `xn--` domain)."""
        fragment = canonical_email_fragment(email) if email else None

        async def fetch(after: paging.TimeAndId | None, count: int) -> list[UserRead]:
            return await self._reads.users.list_page(email_contains=fragment, after=after, limit=count)

        return await paging.page(
            self._cursors, NEWEST_FIRST, viewer=str(caller.id), cursor=cursor, limit=limit, fetch=fetch
        )

    async def get_user(self, user_id: uuid.UUID) -> UserRead:
        user = await self._reads.users.get(user_id)
        if user is None:
            raise NotFoundError("No such user.")
        return user

    async def update_user(self, caller: Caller, user_id: uuid.UUID, data: UserUpdate) -> UserRead:
        """Change a user's name, role or status; an admin can neither demote nor deactivate themself.

        As for erasure, the acting admin's own role and status are checked under the admins' locks, in the writing
        transaction: of two admins demoting or deactivating each other at once, the second finds it is no longer an
        active admin (its token passed the check on the way in, before the first committed).
        """
        changes = data.model_dump(exclude_unset=True)
        demoting = changes.get("role") not in (None, Role.ADMIN) or changes.get("is_active") is False
        if user_id == caller.id and demoting:
            raise ConflictError("Admins cannot demote or deactivate themselves.")
        async with self._uow() as uow:
            await _lock_admins_as(uow, caller)
            user = await _get(uow, user_id, for_update=True)
            if user.erased_at is not None:
                raise ConflictError("The account was erased; it cannot change any more.")
            if "full_name" in changes:
                user.full_name = changes["full_name"]
            if changes.get("role") is not None:
                user.role = changes["role"]
            if changes.get("is_active") is not None:
                user.is_active = changes["is_active"]
                if not user.is_active:
                    await uow.login_sessions.revoke_all_for_user(
                        user_id=user.id, now=datetime.now(UTC), reason="deactivated"
                    )
            await uow.commit()
            return UserRead.model_validate(user)

    async def erase_me(self, caller: Caller, data: UserDelete) -> None:
        """Erase the caller's own account once its password is confirmed; 409 for the last active admin."""
        async with self._uow() as uow:
            checked_hash = (await _get(uow, caller.id)).password_hash
        # argon2 runs outside any transaction, as for a password change.
        if checked_hash is None or not (await self._hasher.verify(data.password, checked_hash))[0]:
            raise BadRequestError("The password is not correct.")
        async with self._uow() as uow:
            admins = await uow.users.lock_active_admins()
            user = await _get(uow, caller.id, for_update=True)
            if user.password_hash != checked_hash:
                raise ConflictError("The password was changed meanwhile; sign in again.")
            if admins == [user.id]:
                raise ConflictError("The last active admin cannot be erased; make another admin first.")
            await _erase(uow, self._outbox, user, now=datetime.now(UTC))
            await uow.commit()

    async def erase_user(self, caller: Caller, user_id: uuid.UUID) -> None:
        """An admin erases another account (404 unknown; erasing an erased account changes nothing).

        The acting admin's own role and status are checked under the admins' locks, in the writing transaction: of
        two admins erasing each other at once, the second finds it is no longer an admin.
        """
        if user_id == caller.id:
            raise ConflictError("Admins cannot erase their own account here; DELETE /users/me does, with the password.")
        async with self._uow() as uow:
            await _lock_admins_as(uow, caller)
            user = await _get(uow, user_id, for_update=True)
            if user.erased_at is None:
                await _erase(uow, self._outbox, user, now=datetime.now(UTC))
                await uow.commit()

    async def export(self, caller: Caller) -> UserExportRead:
        """Everything the service keeps about the caller, as one document."""
        document = await self._reads.users.export(caller.id, now=datetime.now(UTC))
        if document is None:
            raise NotFoundError("No such user.")
        return document

    async def ensure_admin(self, *, email: str, password: str) -> bool:
        """Create an active admin with this email unless an account with it exists; True when created."""
        address = canonical_email(email)
        if address is None:
            raise ValueError("FIRST_ADMIN_EMAIL is not an email address")
        async with self._uow() as uow:
            if await uow.users.get_by_email(email=address) is not None:
                return False
        now = datetime.now(UTC)
        admin = User(
            id=uuid.uuid4(),
            email=address,
            full_name="Administrator",
            password_hash=await self._hasher.hash(password),
            role=Role.ADMIN,
            is_active=True,
            created_at=now,
            updated_at=now,
        )
        async with self._uow() as uow:
            created = await uow.users.add(admin)
            await uow.commit()
        return created


async def _lock_admins_as(uow: UnitOfWork, caller: Caller) -> None:
    """Take the active admins' row locks and check the caller is still one of them (403 otherwise): the one way
    every admin-changing request decides, in its writing transaction."""
    if caller.id not in await uow.users.lock_active_admins():
        raise PermissionDeniedError("This action needs an active admin.")


async def _erase(uow: UnitOfWork, outbox: Outbox, user: User, *, now: datetime) -> None:
    """Erasure, not deletion: the id and the orders stay (accounting and analytics do not change), everything that
    names or identifies the person goes: email, name, password hash, login sessions with their refresh tokens, the
    idempotency keys with the answers stored under them, reset tokens and unsent mail. The email can register
    again. `shop.user.erased` tells the other systems, in the same transaction."""
    user.email = None
    user.full_name = None
    user.password_hash = None
    user.is_active = False
    user.erased_at = now
    await uow.login_sessions.delete_all_for_user(user_id=user.id)
    await uow.idempotency.delete_for_user(user_id=user.id)
    await uow.password_resets.delete_for_user(user_id=user.id)
    await uow.outbox.forget_mail_to(user_id=user.id)
    await uow.outbox.add(outbox.user_erased(user.id, now=now))


async def _get(uow: UnitOfWork, user_id: uuid.UUID, *, for_update: bool = False) -> User:
    # Changes that revoke sessions lock the user, as login does before it opens one.
    user = await (uow.users.get_for_update(user_id) if for_update else uow.users.get(user_id))
    if user is None:
        raise NotFoundError("No such user.")
    return user
