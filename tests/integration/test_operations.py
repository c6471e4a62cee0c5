"""Health checks, Prometheus metrics and the self-hosted API docs."""

import base64
import hashlib
import re
import uuid

import pytest

from tests.conftest import REDIS_URL, http_client, make_settings


async def test_liveness(client):
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readiness_checks_the_database(client):
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


@pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set")
async def test_readiness_checks_redis_when_configured(app_factory, database):
    application = app_factory(make_settings(database, redis_url=REDIS_URL))
    async with http_client(application) as http:
        response = await http.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


async def test_unreachable_redis_degrades_readiness_but_keeps_the_instance_in_rotation(app_factory, database):
    application = app_factory(make_settings(database, redis_url="redis://127.0.0.1:1/0"))
    async with http_client(application) as http:
        response = await http.get("/health/ready")
        live = await http.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "checks": {"database": "ok", "redis": "degraded"}}
    assert live.status_code == 200


# --- metrics --------------------------------------------------------------------------------------


async def test_metrics_label_requests_by_route_template(client, admin, customer):
    probe = uuid.uuid4()
    await client.get(f"/users/{customer.id}", headers=admin.headers)
    await client.get(f"/users/{probe}", headers=admin.headers)
    await client.get(f"/no-such-route-{probe.hex}")

    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert re.search(r'http_requests_total\{method="GET",route="/users/\{user_id\}",status="200"\} [1-9]', text)
    assert re.search(r'http_requests_total\{method="GET",route="/users/\{user_id\}",status="404"\} [1-9]', text)
    assert 'http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/users/{user_id}",status="200"}' in text
    assert 'http_request_duration_seconds_count{method="GET",route="/users/{user_id}",status="200"}' in text
    assert 'route="<unmatched>"' in text
    for raw in (customer.id, str(probe), probe.hex, admin.email, customer.email, "@example.com"):
        assert raw not in text


async def test_metrics_count_each_request(client):
    def count(text: str) -> float:
        match = re.search(r'http_requests_total\{method="GET",route="/health/live",status="200"\} (\S+)', text)
        return float(match.group(1)) if match else 0.0

    before = count((await client.get("/metrics")).text)
    for _ in range(3):
        await client.get("/health/live")
    assert count((await client.get("/metrics")).text) == before + 3


# --- docs -----------------------------------------------------------------------------------------


def _csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


async def test_docs_are_served_with_local_assets_under_a_csp_that_allows_them(client):
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, "the docs page references no assets"
    for url in assets:
        assert url.startswith("/docs-static/"), f"{url} is not served by the service itself"
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert asset.content
    assert any(url.endswith(".js") for url in assets) and any(url.endswith(".css") for url in assets)

    csp = _csp_directives(response.headers["content-security-policy"])
    assert "'self'" in csp["script-src"]
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'self'" in csp["style-src"]
    assert "'self'" in csp["connect-src"]  # Swagger UI fetches /openapi.json
    for script in re.findall(r"<script>(.*?)</script>", html, re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp["script-src"]
    assert '"/openapi.json"' in html or "'/openapi.json'" in html


async def test_docs_oauth2_redirect_and_openapi_are_served(client):
    redirect = await client.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200
    csp = _csp_directives(redirect.headers["content-security-policy"])
    for script in re.findall(r"<script>(.*?)</script>", redirect.text, re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp["script-src"]

    spec = (await client.get("/openapi.json")).json()
    assert {"/auth/login", "/auth/register", "/users/me", "/users/{user_id}", "/health/ready"} <= set(spec["paths"])
    login = spec["paths"]["/auth/login"]["post"]
    assert "application/x-www-form-urlencoded" in login["requestBody"]["content"]
    assert "application/problem+json" in login["responses"]["401"]["content"]
    assert spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"] == (
        "/auth/login"
    )


async def test_the_api_csp_does_not_apply_to_docs_and_vice_versa(client):
    api = (await client.get("/health/live")).headers["content-security-policy"]
    docs = (await client.get("/docs")).headers["content-security-policy"]
    assert "script-src" not in api
    assert "script-src" in docs
