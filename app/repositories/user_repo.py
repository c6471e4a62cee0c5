import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import User
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

    async def get_by_email(self, *, email: str) -> User | None:
        return await self._session.scalar(select(User).where(User.email == email))

    async def add(self, user: User) -> bool:
        """Insert the user unless the email is taken (by a concurrent registration too); True when inserted."""
        values = {column.key: getattr(user, column.key) for column in User.__table__.columns}
        return await insert_unless_taken(self._session, User, values, unique=[User.email])
