import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Role, User
from app.repositories.inserts import insert_unless_taken


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, user_id: uuid.UUID) -> User | None:
        return await self._session.get(User, user_id)

    async def get_for_update(self, user_id: uuid.UUID) -> User | None:
        """The user, row-locked until the transaction ends (PostgreSQL; SQLite's IMMEDIATE
        transactions already run one writer at a time)."""
        return await self._session.scalar(select(User).where(User.id == user_id).with_for_update())

    async def lock_active_admins(self) -> list[uuid.UUID]:
        """The ids of the active admins, each row locked until the transaction ends, in id order.

        Every change that can leave the shop without an active admin (demoting, deactivating, erasing) takes these
        locks first and counts under them, so two admins acting on each other at once run one after the other and
        the second sees the first's result. Id order keeps concurrent lockers from deadlocking. SQLite's IMMEDIATE
        transactions already run one writer at a time.
        """
        query = (
            select(User.id).where(User.role == Role.ADMIN, User.is_active.is_(True)).order_by(User.id).with_for_update()
        )
        return list((await self._session.scalars(query)).all())

    async def get_by_email(self, *, email: str) -> User | None:
        return await self._session.scalar(select(User).where(User.email == email))

    async def add(self, user: User) -> bool:
        """Insert the user unless the email is taken (by a concurrent registration too); True when inserted."""
        values = {column.key: getattr(user, column.key) for column in User.__table__.columns}
        return await insert_unless_taken(self._session, User, values, unique=[User.email])
