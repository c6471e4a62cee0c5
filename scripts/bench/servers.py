"""Server processes for the benchmark: uvicorn as production runs it, on a loopback port, and its workers' memory."""

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from scripts.processes import free_port, stop

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Server:
    """`uvicorn <target> --workers 2 --loop uvloop --http httptools` on 127.0.0.1, output to a log file."""

    def __init__(self, name: str, target: str, env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.target = target
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env}
        self.log_path = log_dir / f"{name}-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def launch(self) -> None:
        command = [
            sys.executable, "-m", "uvicorn", self.target,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", str(WORKERS), "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--timeout-graceful-shutdown", "5",
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self.log_path}")
            if self._live() and len(self.worker_pids()) == WORKERS:
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not start in {timeout:.0f} s; see {self.log_path}")

    def _live(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/health/live", timeout=2) as response:  # noqa: S310
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def worker_pids(self) -> list[int]:
        """The worker processes: children of the uvicorn supervisor running the multiprocessing spawn."""
        if self.process is None:
            return []
        pids = []
        for child in _children(self.process.pid):
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if b"multiprocessing" in cmdline and b"spawn_main" in cmdline:
                pids.append(child)
        return sorted(pids)

    def memory_mb(self, field: str) -> list[float]:
        """`VmHWM` (peak resident set) or `VmRSS` (current) of each worker, in MiB."""
        values = []
        for pid in self.worker_pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(f"{field}:"):
                    values.append(int(line.split()[1]) / 1024)
        return values

    def cpu_seconds(self) -> float:
        """User plus system CPU time the workers have used so far (from /proc/<pid>/stat)."""
        total = 0
        for pid in self.worker_pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime: the 14th and 15th fields
        return total / CLOCK_TICKS

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        stop(self.process)


def _children(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue
    return children
