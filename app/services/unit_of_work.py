"""The unit of work on SQLAlchemy: one database transaction per use case, with the repositories bound to it.

The one module of the service layer that knows SQLAlchemy: services see the `UnitOfWork` protocol
(app/services/ports.py) and get this class from the composition root (app/bootstrap.py).
"""

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.repositories.committing import committing
from app.repositories.idempotency_repo import IdempotencyRepository
from app.repositories.login_session_repo import LoginSessionRepository
from app.repositories.order_repo import OrderRepository
from app.repositories.outbox_repo import OutboxRepository
from app.repositories.password_reset_repo import PasswordResetRepository
from app.repositories.product_repo import ProductRepository
from app.repositories.user_repo import UserRepository


class SqlAlchemyUnitOfWork:
    """Enter it, work through its repositories, `commit()` once; leaving without a commit rolls back."""

    users: UserRepository
    login_sessions: LoginSessionRepository
    products: ProductRepository
    orders: OrderRepository
    idempotency: IdempotencyRepository
    outbox: OutboxRepository
    password_resets: PasswordResetRepository

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    async def __aenter__(self) -> Self:
        self._session = self._session_factory()
        self.users = UserRepository(self._session)
        self.login_sessions = LoginSessionRepository(self._session)
        self.products = ProductRepository(self._session)
        self.orders = OrderRepository(self._session)
        self.idempotency = IdempotencyRepository(self._session)
        self.outbox = OutboxRepository(self._session)
        self.password_resets = PasswordResetRepository(self._session)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # close() rolls back whatever was not committed and detaches the loaded objects without
        # expiring them, so results stay readable after the unit of work ends.
        await self._session.close()

    async def commit(self) -> None:
        async with committing():
            await self._session.commit()
