"""Delete everything that has expired: idempotency keys, login sessions with their refresh tokens, sent outbox rows.

`python -m app.db.purge_expired` (in the container: `order-service python -m app.db.purge_expired`). Safe at any
time, from cron and several at once: it works in small transactions that never block requests for long, and
concurrent runs share the work. Prints one line per kind of row with how many went; exits 1 when the database
cannot be reached.
"""

import argparse
import asyncio
import logging
import sys

from app.bootstrap import bootstrap
from app.config import Settings, get_settings
from app.core.logging import configure_logging
from app.services.maintenance_service import DEFAULT_BATCH_SIZE

logger = logging.getLogger("app.purge_expired")


async def purge_expired(settings: Settings, *, batch_size: int = DEFAULT_BATCH_SIZE) -> dict[str, int]:
    container = bootstrap(settings)
    try:
        return await container.services.maintenance.purge_expired(batch_size=batch_size)
    finally:
        await container.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="rows per transaction")
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    try:
        deleted = asyncio.run(purge_expired(settings, batch_size=max(1, args.batch_size)))
    except Exception as exc:  # noqa: BLE001 - cron reads the exit status; the log line says why
        logger.error("purge failed: %s", type(exc).__name__)
        return 1
    for name, count in deleted.items():
        print(f"{name}: {count} deleted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
