"""Create the first admin from FIRST_ADMIN_EMAIL / FIRST_ADMIN_PASSWORD, if absent.

Run after `alembic upgrade head`: `python -m app.db.init_db`. Running it again changes nothing.
"""

import asyncio
import logging
import sys

from app.bootstrap import bootstrap
from app.config import Settings, get_settings
from app.core.logging import configure_logging

logger = logging.getLogger("app.init_db")


async def init_db(settings: Settings) -> bool:
    """True when an admin was created, False when one with that email already existed."""
    if not settings.first_admin_email or settings.first_admin_password is None:
        logger.warning("FIRST_ADMIN_EMAIL / FIRST_ADMIN_PASSWORD not set; no admin created")
        return False
    container = bootstrap(settings)
    try:
        created = await container.services.users.ensure_admin(
            email=settings.first_admin_email, password=settings.first_admin_password.get_secret_value()
        )
    finally:
        await container.close()
    logger.info("first admin created" if created else "first admin already present")
    return created


def main() -> int:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(init_db(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
