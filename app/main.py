"""The app factory: an HTTP request's first and last stop.
Sits on top of everything; wires middleware, routers, error handlers and the lifespan around the composition root.
Turns a configuration into a running ASGI application.

`uvicorn app.main:app` serves the module's `app`, and `uvicorn --factory app.main:create_app` builds a fresh one;
either way the object graph (app/bootstrap.py) is built when the server starts, not when the module is imported.
"""

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI

from app.api import analytics, auth, ops, orders, products, users
from app.api.dashboard import DASHBOARD_URL, install_dashboard
from app.api.openapi import install_openapi, operation_id
from app.bootstrap import Container, bootstrap
from app.config import Settings, get_settings
from app.core.cors import install_cors
from app.core.docs import DOCS_URL, OAUTH2_REDIRECT_URL, STATIC_URL, install_docs
from app.core.errors import register_error_handlers
from app.core.host_lock import HostLock
from app.core.logging import configure_logging
from app.core.metrics import forget_this_process
from app.core.middleware import RequestEnvelopeMiddleware
from app.services.outbox_relay import OutboxRelay

logger = logging.getLogger("app")
ROUTERS = (auth, users, products, orders, analytics, ops)


def create_app(container: Container | None = None, *, settings: Settings | None = None) -> FastAPI:
    """The ASGI app. With a `container` (tests, scripts) it serves that one and leaves closing it to the caller;
    without one it bootstraps its own from `settings` (the environment's by default) when it starts."""
    settings = container.settings if container else (settings or get_settings())
    configure_logging(settings.log_level, settings.log_format)
    app = FastAPI(
        title="Order and analytics service",
        version="1.0.0",
        generate_unique_id_function=operation_id,
        description="Customers register, browse the catalogue and place orders; admins run the shop.",
        lifespan=_lifespan(container, settings),
        docs_url=None,
        redoc_url=None,
        # Starlette would answer `/orders/` with a 307 to a URL built from the Host header; a 404 instead.
        redirect_slashes=False,
    )
    if container is not None:
        app.state.container = container
    register_error_handlers(app)
    for module in ROUTERS:
        app.include_router(module.router)
    install_openapi(app)
    docs_csp = install_docs(app)
    dashboard_csp = install_dashboard(app)
    # Added before the envelope, so the envelope wraps it: CORS preflight answers get the usual headers too.
    install_cors(app, settings.cors_origins)
    page_csps = (((DOCS_URL, OAUTH2_REDIRECT_URL, STATIC_URL), docs_csp), ((DASHBOARD_URL,), dashboard_csp))
    app.add_middleware(RequestEnvelopeMiddleware, page_csps=page_csps)
    return app


def _lifespan(given: Container | None, settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container = given or bootstrap(settings)
        app.state.container = container
        await container.start()
        _warn_without_mail(settings)
        relay = None
        if container.relay is not None:
            # One relay per host and database, in whichever worker takes the lock first; the other workers' relays
            # wait for their turn (a worker that dies releases it). Each relay costs a pass's fixed CPU every poll
            # and interleaves its sending with its worker's requests: one per host halves the passes (ADR-035).
            turn = HostLock.named("outbox-relay", settings.database_url)
            relay = asyncio.create_task(container.relay.run(turn=turn), name="outbox-relay")
        _settle_garbage_collector()
        logger.info("started", extra={"environment": settings.environment})
        yield
        if relay is not None and container.relay is not None:
            await _stop_relay(container.relay, relay)
        if given is None:
            await container.close()
            forget_this_process()
        logger.info("stopped; database pool closed")

    return lifespan


async def _stop_relay(relay: OutboxRelay, task: "asyncio.Task[None]", grace_seconds: float = 10.0) -> None:
    """Let the pass in progress record what it sent (else those messages go out again after their lease)."""
    relay.stop()
    try:
        await asyncio.wait_for(asyncio.shield(task), grace_seconds)
    except TimeoutError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _warn_without_mail(settings: Settings) -> None:
    if settings.environment == "production" and settings.smtp_host is None:
        logger.warning("SMTP_HOST is not set: no mail is sent (order confirmations, password resets)")


def _settle_garbage_collector() -> None:
    """What start-up built lives as long as the process: freeze it out of the collector's scans, and collect the
    young generation every 10,000 allocations rather than 700. Measured (docs/tradeoffs.md): 4% of request CPU
    went to young collections, and full collections paused the event loop for up to 80 ms."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


app = create_app()
