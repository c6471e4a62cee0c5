from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from app.api.deps import MetricsAccess, container_of
from app.api.openapi import problem_responses
from app.core.health import overall_status, readiness
from app.core.metrics import read_scrape_gauges, render_metrics
from app.schemas import examples
from app.schemas.ops import Liveness, Readiness

router = APIRouter(tags=["operations"])


@router.get("/health/live", summary="Check that the process serves.", response_model=Liveness)
async def live() -> Liveness:
    """The process is up and serving."""
    return Liveness(status="ok")


@router.get(
    "/health/ready",
    summary="Check that the service's dependencies answer.",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "The database is unavailable or its schema is outdated"}},
)
async def ready(request: Request) -> Response:
    """Whether the database (and Redis, the event broker and the analytics replica, when configured) answer, and
    the database's schema is at the latest migration. The database is required: 503 when it fails or its schema
    is outdated. An optional dependency that fails reports `degraded` and the answer stays 200."""
    container = container_of(request)
    readers = container.analytics_readers
    checks = await readiness(
        container.schema_revisions,
        container.schema.is_outdated,
        container.throttle,
        container.publisher,
        replica=readers.check_replica if readers.replica is not None else None,
    )
    body = Readiness.model_validate({"status": overall_status(checks), "checks": checks})
    return JSONResponse(body.model_dump(), status_code=503 if body.status == "unavailable" else 200)


@router.get(
    "/metrics",
    summary="Read the Prometheus metrics.",
    response_class=Response,
    dependencies=[MetricsAccess],
    responses={200: {"content": {"text/plain": {"example": examples.METRICS}}}, **problem_responses(401)},
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of the whole instance (every worker process): request counts and latency by method,
    route template and status, and the database connections in use. With `METRICS_TOKEN` set, it needs
    `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise)."""
    scraped = await read_scrape_gauges(container_of(request).scrape_gauges)
    payload, content_type = render_metrics(scraped)
    return Response(payload, media_type=content_type)
