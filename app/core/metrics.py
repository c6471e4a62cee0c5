"""Prometheus metrics, labelled by route template (never by raw path or user data), one answer per instance.

Several worker processes (`uvicorn --workers N`) each count their own requests. So that a scrape, whichever
worker answers it, covers them all and a counter never goes backwards, the values live in prometheus-client's
multiprocess files (`PROMETHEUS_MULTIPROC_DIR`), and a scrape adds up every process's files. When uvicorn runs
several workers and that directory is not set, each worker uses one named after the server process (the workers'
common parent), so the README's command is right as it stands; the container image sets its own and empties it
at every start. A single process without the setting keeps its values in memory.

Values that belong to the instance rather than to a process (the outbox's backlog, read from the database) are
`ScrapeGauge`s: read when a scrape comes, by the worker that answers it.
"""

import asyncio
import logging
import multiprocessing
import os
import tempfile
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

MULTIPROCESS_DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def _workers_share_a_directory() -> None:
    """In a worker of a multi-process server, without a directory set: one for this server run (before
    prometheus-client reads the variable)."""
    if not os.environ.get(MULTIPROCESS_DIRECTORY_VARIABLE, "").strip():
        os.environ.pop(MULTIPROCESS_DIRECTORY_VARIABLE, None)  # set but empty counts as unset
    parent = multiprocessing.parent_process()
    if MULTIPROCESS_DIRECTORY_VARIABLE in os.environ or parent is None or parent.pid is None:
        return
    directory = Path(tempfile.gettempdir()) / f"order-service-metrics-{parent.pid}"
    directory.mkdir(mode=0o700, exist_ok=True)
    os.environ[MULTIPROCESS_DIRECTORY_VARIABLE] = str(directory)


_workers_share_a_directory()

from prometheus_client import (  # noqa: E402 - the directory must be known first
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric  # noqa: E402
from prometheus_client.registry import Collector  # noqa: E402

logger = logging.getLogger("app.metrics")
MULTIPROCESS = bool(os.environ.get(MULTIPROCESS_DIRECTORY_VARIABLE))
if MULTIPROCESS:
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call] # in case prometheus-client was imported before the variable was set

# Every other method (uvicorn passes any token as a method) counts as OTHER: a label value per method sent would
# let any client create series without bound.
STANDARD_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"})

SCRAPE_GAUGE_TIMEOUT_SECONDS = 2.0
REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests by method, route template and status.",
    ("method", "route", "status"),
    registry=REGISTRY,
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by method, route template and status.",
    ("method", "route", "status"),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
POOL_IN_USE = Gauge(
    "db_pool_connections_in_use",
    "Database connections checked out of the service's pools, by pool (write, read), over all worker processes.",
    ("pool",),
    registry=REGISTRY,
    multiprocess_mode="livesum",
)


@dataclass(frozen=True, slots=True)
class ScrapeGauge:
    """A gauge of the instance read at scrape time (e.g. a count in the database); `read` may fail or be slow,
    and the gauge is then left out of that scrape."""

    name: str
    documentation: str
    read: Callable[[], Awaitable[float]]


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    labels = (method if method in STANDARD_METHODS else "OTHER", route, str(status))
    REQUESTS.labels(*labels).inc()
    LATENCY.labels(*labels).observe(seconds)


async def read_scrape_gauges(gauges: Iterable[ScrapeGauge]) -> dict[ScrapeGauge, float]:
    """Each gauge's value now; one that fails or outlasts its time is left out (and logged), not a failed scrape."""
    read: dict[ScrapeGauge, float] = {}
    for gauge in gauges:
        try:
            read[gauge] = float(await asyncio.wait_for(gauge.read(), SCRAPE_GAUGE_TIMEOUT_SECONDS))
        except Exception as exc:  # noqa: BLE001 - a gauge that cannot be read is missing from this scrape
            logger.warning("metric %s not read: %s", gauge.name, type(exc).__name__)
    return read


def render_metrics(scraped: Mapping[ScrapeGauge, float] | None = None) -> tuple[bytes, str]:
    """Every worker's metrics (in multiprocess mode), plus the instance's gauges read for this scrape."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    payload = generate_latest(registry)
    if scraped:
        extra = CollectorRegistry()
        extra.register(_Scraped(scraped))
        payload += generate_latest(extra)
    return payload, CONTENT_TYPE_LATEST


def forget_this_process() -> None:
    """At a worker's exit: its live gauges (connections in use) stop counting; its counters stay in the sums."""
    if MULTIPROCESS:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


class _Scraped(Collector):
    def __init__(self, scraped: Mapping[ScrapeGauge, float]) -> None:
        self._scraped = scraped

    def collect(self) -> Iterable[Metric]:
        return _families(self._scraped)


def _families(scraped: Mapping[ScrapeGauge, float]) -> Iterator[Metric]:
    for gauge, value in scraped.items():
        yield GaugeMetricFamily(gauge.name, gauge.documentation, value=value)
