"""The README's run command serves the demo, and every curl example in the README works against it."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import ROOT, free_port

pytestmark = pytest.mark.slow


def _run_env(tmp_path: Path, port: int) -> dict[str, str]:
    env = {
        **os.environ,
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "ENVIRONMENT": "development",
        "LOG_FORMAT": "json",
    }
    for name in ("JWT_SECRET_KEY", "FIRST_ADMIN_EMAIL", "FIRST_ADMIN_PASSWORD", "REDIS_URL", "BASE_URL"):
        env.pop(name, None)
    return env


def test_readme_examples_work_against_the_run_command(tmp_path: Path) -> None:
    port = free_port()
    env = _run_env(tmp_path, port)
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        run_command = [str(ROOT / "scripts" / "run_local.sh")]
        server = subprocess.Popen(run_command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base_url}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert f"http://127.0.0.1:{port}/docs" in log.read_text()
        assert f"http://127.0.0.1:{port}/admin" in log.read_text()

        result = subprocess.run(
            [sys.executable, "scripts/check_readme_examples.py"],
            cwd=ROOT,
            env={**env, "BASE_URL": base_url},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


def test_the_run_command_stops_before_the_banner_when_the_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(  # noqa: S603
            [str(ROOT / "scripts" / "run_local.sh")],
            cwd=ROOT,
            env=_run_env(tmp_path, port),
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"cannot serve on 127.0.0.1:{port}: Address already in use" in output
    assert "Order service on" not in output and "migrating" not in output
    assert not (tmp_path / "demo.db").exists()


def test_the_readme_examples_name_no_port_and_show_error_bodies() -> None:
    from scripts.check_readme_examples import DOCUMENTED_URL, README, examples

    blocks = examples(README.read_text())
    code = "\n".join(line for block in blocks for line in block.splitlines() if not line.lstrip().startswith("#"))
    assert code.count(DOCUMENTED_URL) == 1, "only BASE_URL's default may name the address"
    assert code.startswith(f'BASE_URL="${{BASE_URL:-{DOCUMENTED_URL}}}"')
    curls = re.findall(r"\bcurl\b[^|\n]*", code)
    assert curls and all("--fail-with-body" in call for call in curls), "every curl shows the problem body"
    assert not re.search(r"\bcurl\b.*\s-[a-zA-Z]*f[a-zA-Z]*\b", code), "-f hides the problem body"
