"""INSERT unless a unique key is taken, written once for both dialects (ON CONFLICT DO NOTHING)."""

from collections.abc import Mapping
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute


async def insert_unless_taken(
    session: AsyncSession, model: type[Any], values: Mapping[str, Any], *, unique: list[InstrumentedAttribute[Any]]
) -> bool:
    """Insert the row unless another already holds its unique key; True when this call inserted it.

    ON CONFLICT DO NOTHING waits for a concurrent inserter of the same key to finish instead of failing the
    whole transaction with a unique violation, so the caller can still answer in its own terms (409).
    """
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(model)
        .values(dict(values))
        .on_conflict_do_nothing(index_elements=unique)
        .returning(*model.__table__.primary_key.columns)
    )
    return (await session.execute(statement)).first() is not None
