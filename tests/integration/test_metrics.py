"""/metrics: one answer for every worker of an instance, bounded labels, an optional token, the pools in use."""

import dataclasses
import re
from pathlib import Path

import httpx
import pytest
from alembic import command

from app.bootstrap import bootstrap
from app.core.metrics import ScrapeGauge
from app.main import create_app
from tests.conftest import alembic_config, http_client, make_settings
from tests.servers import ServiceProcess


def _count(text: str, method: str, route: str, status: int) -> float:
    pattern = rf'http_requests_total\{{method="{method}",route="{re.escape(route)}",status="{status}"\}} (\S+)'
    match = re.search(pattern, text)
    return float(match.group(1)) if match else 0.0


async def test_methods_outside_the_standard_set_count_as_other(client):
    for method in ("FOO", "PROPFIND", "X-RANDOM-1", "X-RANDOM-2"):
        await client.request(method, "/health/live")
    await client.get("/health/live")
    text = (await client.get("/metrics")).text
    assert _count(text, "OTHER", "/health/live", 405) >= 4
    assert _count(text, "GET", "/health/live", 200) >= 1
    methods = set(re.findall(r'http_requests_total\{method="([^"]+)"', text))
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "OTHER"}


async def test_with_a_metrics_token_the_metrics_need_it(app_factory, database):
    application = app_factory(make_settings(database, metrics_token="scrape-secret-0123456789"))
    async with http_client(application) as http:
        anonymous = await http.get("/metrics")
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer scrape-secret-wrong"})
        basic = await http.get("/metrics", headers={"Authorization": "Basic scrape-secret-0123456789"})
        right = await http.get("/metrics", headers={"Authorization": "Bearer scrape-secret-0123456789"})
        health = await http.get("/health/ready")
    for refused in (anonymous, wrong, basic):
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "http_requests_total" not in refused.text
    assert right.status_code == 200 and "http_requests_total" in right.text
    assert health.status_code == 200


async def test_without_a_metrics_token_anyone_may_read_them(client):
    assert (await client.get("/metrics")).status_code == 200


async def test_the_pools_in_use_are_a_gauge(client):
    await client.get("/products")
    text = (await client.get("/metrics")).text
    assert "# TYPE db_pool_connections_in_use gauge" in text
    for pool in ("write", "read"):
        match = re.search(rf'db_pool_connections_in_use\{{pool="{pool}"\}} (\S+)', text)
        assert match and float(match.group(1)) >= 0


async def test_instance_gauges_are_read_at_scrape_time_and_a_failing_one_is_left_out(database):
    async def backlog() -> float:
        return 7

    async def broken() -> float:
        raise ConnectionError("down")

    base = bootstrap(make_settings(database))
    gauges = (ScrapeGauge("outbox_backlog", "Events waiting.", backlog), ScrapeGauge("broken", "Fails.", broken))
    container = dataclasses.replace(base, scrape_gauges=gauges)
    try:
        async with http_client(create_app(container)) as http:
            response = await http.get("/metrics")
    finally:
        await container.close()
    assert response.status_code == 200
    assert "outbox_backlog 7.0" in response.text
    assert "broken" not in response.text


@pytest.mark.slow
@pytest.mark.parametrize("directory", ["set", "unset"], ids=["PROMETHEUS_MULTIPROC_DIR", "readme-command"])
def test_two_workers_answer_one_set_of_counters_that_never_goes_backwards(tmp_path: Path, directory: str) -> None:
    url = f"sqlite:///{tmp_path / 'metrics.db'}"
    command.upgrade(alembic_config(url), "head")
    # TMPDIR: where the workers make their shared directory when none is set.
    env = {"DATABASE_URL": url, "ENVIRONMENT": "test", "PROMETHEUS_MULTIPROC_DIR": "", "TMPDIR": str(tmp_path)}
    if directory == "set":
        env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")
        (tmp_path / "metrics").mkdir()
    with ServiceProcess(env, workers=2) as server:
        # A new connection each time, so both workers serve and answer scrapes.
        for _ in range(60):
            assert httpx.get(f"{server.base_url}/products").status_code == 200
        scrapes = [httpx.get(f"{server.base_url}/metrics").text for _ in range(12)]
    counts = [_count(text, "GET", "/products", 200) for text in scrapes]
    assert counts == [60.0] * 12, counts
    for text in scrapes:
        assert 'db_pool_connections_in_use{pool="write"}' in text
