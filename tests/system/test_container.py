"""The container image and compose.yaml, built and started for real with podman (scripts/container/smoke.py).

Runs when TEST_PODMAN names podman, against the PostgreSQL server of TEST_DATABASE_URL; skipped otherwise.
"""

import os

import pytest

from scripts.container import smoke
from tests.conftest import PG_URL

pytestmark = pytest.mark.slow
PODMAN = os.environ.get("TEST_PODMAN")


@pytest.mark.skipif(not PODMAN, reason="TEST_PODMAN is not set (the podman binary that builds and starts the image)")
def test_image_and_compose_stack_serve_the_api(capsys: pytest.CaptureFixture[str]) -> None:
    assert PODMAN
    if not PG_URL:
        pytest.fail("TEST_PODMAN is set: the container test needs TEST_DATABASE_URL as well", pytrace=False)
    report = smoke.run(PODMAN, PG_URL, os.environ.get("TEST_CONTAINER_BASE"))
    with capsys.disabled():
        print("\ncontainer smoke: " + "\ncontainer smoke: ".join(report.lines()))
    assert report.image_bytes - report.base_bytes < smoke.SIZE_BUDGET_BYTES
    assert report.stop_seconds < smoke.GRACE_SECONDS
