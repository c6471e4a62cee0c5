#!/usr/bin/env python
"""Demo data for the README run command (`--demo`); idempotent.

`--demo` adds a demo customer (customer@example.com / customer-password-123) through the
service layer, exactly as the API would.
"""

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import get_settings
from app.core.errors import ConflictError
from app.core.security import PasswordHasher
from app.db.session import create_engine, create_session_factory
from app.schemas.user import UserCreate
from app.services import auth_service
from app.services.unit_of_work import UnitOfWork

DEMO_CUSTOMER = UserCreate(email="customer@example.com", password="customer-password-123", full_name="Demo Customer")


async def seed_demo() -> None:
    settings = get_settings()
    engine = create_engine(settings)
    try:
        factory = create_session_factory(engine)
        try:
            await auth_service.register(UnitOfWork(factory), PasswordHasher(settings), DEMO_CUSTOMER)
            print("demo customer created")
        except ConflictError:
            print("demo customer already present")
    finally:
        await engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", action="store_true", help="add the small demo data set (idempotent)")
    args = parser.parse_args()
    if args.demo:
        asyncio.run(seed_demo())
    return 0


if __name__ == "__main__":
    sys.exit(main())
