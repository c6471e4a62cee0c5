#!/usr/bin/env python
"""Delete expired Idempotency-Keys in small batches (safe to run at any time, e.g. from cron).

New keys already clean up a bounded batch of expired ones as they are claimed; this catches up
when traffic is low.
"""

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.bootstrap import bootstrap
from app.services import idempotency_service


async def purge(batch_size: int) -> int:
    container = bootstrap()
    total = 0
    try:
        while True:
            deleted = await idempotency_service.purge_expired(container.unit_of_work(), limit=batch_size)
            total += deleted
            if deleted < batch_size:
                return total
    finally:
        await container.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=1000, help="rows per transaction (default 1000)")
    args = parser.parse_args()
    print(f"expired idempotency keys deleted: {asyncio.run(purge(max(1, args.batch_size)))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
