"""The outbox relay on its own: `python -m app.relay` sends until stopped (SIGTERM, Ctrl-C); `--once` sends
what is due and exits. The service runs the same relay in one worker per host, so this is for operators who want
sending apart from serving, or to drain a backlog by hand.
"""

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from app.bootstrap import bootstrap
from app.config import get_settings
from app.core.logging import configure_logging

logger = logging.getLogger("app.relay")


async def main(*, once: bool) -> int:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    container = bootstrap(settings)
    try:
        if container.relay is None:
            logger.warning("nothing to relay: neither EVENTS_URL nor a mail channel is configured")
            return 0
        if once:
            await container.relay.drain()
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        task = asyncio.create_task(container.relay.run())
        logger.info("outbox relay started", extra={"channels": [kind.value for kind in container.relay.channels]})
        await stop.wait()
        container.relay.stop()
        try:
            await asyncio.wait_for(task, 10)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        logger.info("outbox relay stopped")
        return 0
    finally:
        await container.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Send the outbox's events and mails.")
    parser.add_argument("--once", action="store_true", help="send what is due now, then exit")
    sys.exit(asyncio.run(main(once=parser.parse_args().once)))
