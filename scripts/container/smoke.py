"""Prove the image and compose.yaml: build them, start them, use the API through them, stop them.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python -m scripts.container.smoke

TEST_DATABASE_URL names a PostgreSQL server that containers on the host network reach: a scratch database is made
there for the image alone, and dropped afterwards. TEST_PODMAN names podman (default `podman`); podman-compose 1.6+
comes from requirements-dev.txt. TEST_CONTAINER_BASE names the Python base image; unset, one is made from Debian's
packages (for machines that reach no registry), as is the PostgreSQL and Redis that compose.yaml runs on here.
Prints the image's size over its base, its start-up time and how long each step took.
tests/system/test_container.py runs the same when TEST_PODMAN is set.
"""

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

from scripts.container.images import ROOT, Podman, build_app, ensure_debian_python, ensure_services
from scripts.processes import free_port

GRACE_SECONDS = 20  # the image's GRACEFUL_TIMEOUT
SIZE_BUDGET_BYTES = 200_000_000  # over the base image; podman's MB are 10**6 bytes
CLEAN_EXIT_CODES = ("0", "143")  # uvicorn exits 0 after draining; 128 + SIGTERM if it re-raised the signal
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = secrets.token_urlsafe(18)
CUSTOMER_PASSWORD = secrets.token_urlsafe(18)


class SmokeError(RuntimeError):
    pass


@dataclass
class Report:
    base: str = ""
    image_id: str = ""
    image_bytes: int = 0
    base_bytes: int = 0
    startup_seconds: float = 0.0
    stop_seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.steps[name] = time.monotonic() - started

    def lines(self) -> list[str]:
        over = self.image_bytes - self.base_bytes
        return [
            f"image {self.image_id[:12]}: {self.image_bytes / 1e6:.0f} MB, {over / 1e6:.0f} MB over its base "
            f"{self.base} ({self.base_bytes / 1e6:.0f} MB)",
            f"start-up (podman run to /health/live): {self.startup_seconds:.2f} s; "
            f"SIGTERM to exit: {self.stop_seconds:.2f} s",
            "steps: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.steps.items()),
        ]


def write_env_file(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()))
    path.chmod(0o600)
    return path


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    server = make_url(server_url).set(drivername="postgresql")
    name = f"container_smoke_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.render_as_string(hide_password=False), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _expect(response: httpx.Response, status: int) -> httpx.Response:
    if response.status_code != status:
        request = response.request
        raise SmokeError(f"{request.method} {request.url.path}: {response.status_code}, not {status}: {response.text}")
    return response


def _login(http: httpx.Client, email: str, password: str) -> dict[str, str]:
    tokens = _expect(http.post("/auth/login", data={"username": email, "password": password}), 200).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def exercise_api(base_url: str) -> None:
    """Register and log in, add a product as the admin, order it, read the analytics, /metrics and readiness."""
    with httpx.Client(base_url=base_url, timeout=15) as http:
        email = f"customer-{uuid.uuid4().hex[:8]}@example.com"
        _expect(http.post("/auth/register", json={"email": email, "password": CUSTOMER_PASSWORD}), 201)
        customer = _login(http, email, CUSTOMER_PASSWORD)
        admin = _login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
        product = {"sku": "SMOKE-1", "name": "Smoke test mug", "price_cents": 1250, "stock": 10}
        product_id = _expect(http.post("/products", json=product, headers=admin), 201).json()["id"]
        order = {"items": [{"product_id": product_id, "quantity": 2}]}
        headers = {**customer, "Idempotency-Key": str(uuid.uuid4())}
        placed = _expect(http.post("/orders", json=order, headers=headers), 201).json()
        summary = _expect(http.get("/analytics/summary", headers=admin), 200).json()
        metrics = _expect(http.get("/metrics"), 200).text
        ready = _expect(http.get("/health/ready"), 200).json()
    if placed["total_cents"] != 2500 or summary["order_count"] != 1 or summary["by_status"]["pending"] != 1:
        raise SmokeError(f"the order or the analytics are wrong: {placed} / {summary}")
    if 'route="/orders"' not in metrics:
        raise SmokeError("/metrics does not count the order request")
    if ready["checks"].get("database") != "ok":
        raise SmokeError(f"not ready: {ready}")


def wait_live(base_url: str, since: float, running: Callable[[], bool], timeout: float = 60) -> float:
    """Seconds from `since` until /health/live answers 200."""
    while time.monotonic() - since < timeout:
        try:
            if httpx.get(f"{base_url}/health/live", timeout=1).status_code == 200:
                return time.monotonic() - since
        except httpx.HTTPError:
            pass
        if not running():
            raise SmokeError("the container exited before serving")
        time.sleep(0.05)
    raise SmokeError(f"/health/live did not answer within {timeout:.0f} s")


def _state(podman: Podman, container: str, key: str) -> str:
    return podman.run("container", "inspect", f"--format={{{{.State.{key}}}}}", container)


def _is_running(podman: Podman, container: str) -> Callable[[], bool]:
    return lambda: _state(podman, container, "Running") == "true"


def check_container(podman: Podman, container: str) -> None:
    """What the image promises: a user other than root, no compilers, pip or build CA, the metrics directory, a
    working HEALTHCHECK."""
    if podman.run("exec", container, "id", "-u") == "0":
        raise SmokeError("the service runs as root")
    unwanted = "command -v gcc cc c++ clang; ls /opt/venv/bin/pip* /run/host-ca.crt 2>/dev/null; true"
    if found := podman.run("exec", container, "sh", "-c", unwanted):
        raise SmokeError(f"the image contains {found.split()}")
    if not podman.run("exec", container, "sh", "-c", 'ls "$PROMETHEUS_MULTIPROC_DIR"'):
        raise SmokeError("no worker wrote to PROMETHEUS_MULTIPROC_DIR")
    podman.run("healthcheck", "run", container)


def stop_gracefully(podman: Podman, container: str, stop: Callable[[], object]) -> float:
    """Stop the container with its STOPSIGNAL; seconds it took, checked against the grace period."""
    started = time.monotonic()
    stop()
    elapsed = time.monotonic() - started
    code = _state(podman, container, "ExitCode")
    if code not in CLEAN_EXIT_CODES or elapsed >= GRACE_SECONDS:
        raise SmokeError(
            f"SIGTERM: exit status {code} after {elapsed:.1f} s; expected a clean exit in {GRACE_SECONDS} s"
        )
    if "Application shutdown complete" not in podman.run("logs", container):
        raise SmokeError("the application did not shut down cleanly")
    return elapsed


def _logs(podman: Podman, *containers: str) -> str:
    result = subprocess.run(
        [podman.binary, "logs", "--tail=40", *containers], capture_output=True, text=True, check=False
    )
    return result.stdout + result.stderr


def smoke_image(podman: Podman, image: str, server_url: str, report: Report) -> None:
    """The image alone against the host's PostgreSQL: migrate, serve with two workers, use it, SIGTERM."""
    container, port = f"order-smoke-{uuid.uuid4().hex[:8]}", free_port()
    with scratch_database(server_url) as database_url, tempfile.TemporaryDirectory() as scratch:
        env = write_env_file(
            Path(scratch) / "env",
            {
                "DATABASE_URL": database_url,
                "JWT_SECRET_KEY": secrets.token_urlsafe(48),
                "FIRST_ADMIN_EMAIL": ADMIN_EMAIL,
                "FIRST_ADMIN_PASSWORD": ADMIN_PASSWORD,
                "HOST": "127.0.0.1",
                "PORT": str(port),
                "WORKERS": "2",
            },
        )
        options = ["--network=host", f"--env-file={env}"]
        with report.step("migrate"):
            podman.run("run", "--rm", *options, image, "migrate")
        try:
            started = time.monotonic()
            podman.run("run", "--detach", f"--name={container}", *options, image)
            report.startup_seconds = wait_live(f"http://127.0.0.1:{port}", started, _is_running(podman, container))
            with report.step("image api"):
                exercise_api(f"http://127.0.0.1:{port}")
                check_container(podman, container)
            report.stop_seconds = stop_gracefully(
                podman, container, lambda: podman.run("stop", f"--time={GRACE_SECONDS + 10}", container)
            )
        except Exception as exc:
            raise SmokeError(f"{exc}\n--- {container}:\n{_logs(podman, container)}") from exc
        finally:
            subprocess.run([podman.binary, "rm", "--force", container], capture_output=True, check=False)


def find_compose() -> str:
    beside_python = Path(sys.executable).parent / "podman-compose"
    found = str(beside_python) if beside_python.exists() else shutil.which("podman-compose")
    if found is None:
        raise SmokeError("podman-compose 1.6 or later is needed (requirements-dev.txt)")
    return found


def smoke_compose(podman: Podman, image: str, services_image: str) -> None:
    """compose.yaml with its own PostgreSQL and Redis: the migrate step, then the API, used and stopped."""
    project, port = f"order-smoke-{uuid.uuid4().hex[:8]}", free_port()
    with tempfile.TemporaryDirectory() as scratch:
        env = write_env_file(
            Path(scratch) / "compose.env",
            {
                "APP_IMAGE": image,
                "POSTGRES_IMAGE": services_image,
                "REDIS_IMAGE": services_image,
                "APP_PORT": str(port),
                "POSTGRES_PASSWORD": secrets.token_urlsafe(24),
                "RABBITMQ_PASSWORD": secrets.token_urlsafe(24),
                "JWT_SECRET_KEY": secrets.token_urlsafe(48),
                "FIRST_ADMIN_EMAIL": ADMIN_EMAIL,
                "FIRST_ADMIN_PASSWORD": ADMIN_PASSWORD,
            },
        )
        compose = [
            find_compose(), f"--podman-path={podman.binary}", f"--project-name={project}",
            f"--file={ROOT / 'compose.yaml'}", f"--env-file={env}",
        ]  # fmt: skip

        def run(*args: str) -> None:
            result = subprocess.run([*compose, *args], capture_output=True, text=True, timeout=300, check=False)
            if result.returncode != 0:
                raise SmokeError(f"podman-compose {' '.join(args)} exited {result.returncode}:\n{result.stderr}")

        def container(service: str) -> str:
            labels = [f"--filter=label=io.podman.compose.project={project}"]
            labels.append(f"--filter=label=com.docker.compose.service={service}")
            return podman.run("ps", "--all", *labels, "--format={{.Names}}").splitlines()[0]

        try:
            # podman before 4.6 skips health conditions and cannot start a service whose dependency is a finished
            # one-shot, so the stack comes up in compose.yaml's order a stage at a time (RabbitMQ stays down).
            run("up", "--detach", "migrate", "redis")
            migrate = container("migrate")
            if (code := podman.run("wait", migrate, timeout=180)) != "0":
                raise SmokeError(f"the migrate service exited {code}")
            run("up", "--detach", "--no-deps", "app")
            app = container("app")
            wait_live(f"http://127.0.0.1:{port}", time.monotonic(), _is_running(podman, app))
            exercise_api(f"http://127.0.0.1:{port}")
            stop_gracefully(podman, app, lambda: run("stop", "app"))
        except Exception as exc:
            project_filter = f"--filter=label=io.podman.compose.project={project}"
            names = podman.run("ps", "--all", project_filter, "--format={{.Names}}")
            logs = "\n".join(f"--- {name}:\n{_logs(podman, name)}" for name in names.split())
            raise SmokeError(f"{exc}\n{logs}") from exc
        finally:
            subprocess.run([*compose, "down", "--volumes"], capture_output=True, timeout=300, check=False)


def run(podman_binary: str, server_url: str, base: str | None = None) -> Report:
    """Every step, timed: the base and stand-in images when missing, the app image, the image alone, compose."""
    podman, report = Podman(shutil.which(podman_binary) or podman_binary), Report()
    podman.run("info", "--format={{.Host.OCIRuntime.Name}}")
    with report.step("base"):
        report.base = base or ensure_debian_python(podman)
    with report.step("app image"):
        report.image_id = build_app(podman, report.base)
    report.image_bytes, report.base_bytes = podman.image_size(report.image_id), podman.image_size(report.base)
    if report.image_bytes - report.base_bytes >= SIZE_BUDGET_BYTES:
        raise SmokeError(f"the image is {(report.image_bytes - report.base_bytes) / 1e6:.0f} MB over its base")
    smoke_image(podman, report.image_id, server_url, report)
    # Made after the app image, not beside it: on two cores, building both at once took longer than one by one.
    with report.step("services image"):
        services_image = ensure_services(podman, report.base)
    with report.step("compose"):
        smoke_compose(podman, report.image_id, services_image)
    return report


def main() -> int:
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        print(__doc__, file=sys.stderr)
        return 2
    started = time.monotonic()
    report = run(os.environ.get("TEST_PODMAN", "podman"), server_url, os.environ.get("TEST_CONTAINER_BASE"))
    print("\n".join([*report.lines(), f"total {time.monotonic() - started:.1f} s"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
