"""Driving load with wrk: closed-loop peak runs, paced fixed-rate runs and runs of a fixed request count."""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LUA = Path(__file__).resolve().parent / "lua" / "plan.lua"
INSTALL_HINT = "wrk is needed: apt-get install -y wrk (Debian/Ubuntu) or brew install wrk (macOS)"


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def require_wrk() -> None:
    if shutil.which("wrk") is None:
        sys.exit(INSTALL_HINT)


def write_plan(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def run(
    base_url: str,
    plan: Path,
    *,
    seconds: int,
    connections: int,
    delay_ms: float = 0.0,
    max_requests: int = 0,
) -> WrkResult:
    """One wrk run over the plan; one wrk thread, which drives far more than the servers here can answer."""
    env = {
        **os.environ,
        "WRK_PLAN": str(plan),
        "WRK_DELAY_MS": f"{delay_ms:.3f}",
        "WRK_MAX_REQUESTS": str(max_requests),
    }
    command = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{max(1, seconds)}s", "--timeout", "10s"]
    command += ["-s", str(LUA), base_url]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return _parse(json.loads(line.removeprefix("BENCH_RESULT ")))
    raise RuntimeError(f"wrk gave no result ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")


def _parse(raw: dict[str, Any]) -> WrkResult:
    errors, latency = raw["errors"], raw["latency_us"]
    return WrkResult(
        requests=int(raw["requests"]),
        seconds=int(raw["duration_us"]) / 1e6,
        errors=sum(int(value) for value in errors.values()),
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        mean_ms=latency["mean"] / 1000,
    )
