"""The README's run command serves the demo, and every curl example in the README works against it."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import ROOT, free_port

pytestmark = pytest.mark.slow


def test_readme_examples_work_against_the_run_command(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "ENVIRONMENT": "development",
        "LOG_FORMAT": "json",
    }
    for name in ("JWT_SECRET_KEY", "FIRST_ADMIN_EMAIL", "FIRST_ADMIN_PASSWORD", "REDIS_URL"):
        env.pop(name, None)
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
