"""Real server processes for the tests that need them: outages, several instances, graceful shutdown.

`ServiceProcess` starts the service the way production does (uvicorn, uvloop, httptools) on a free
loopback port; `TcpProxy` sits between a service and PostgreSQL so a test can cut and restore the
database for that service alone, without touching the shared server.
"""

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from scripts.processes import free_port, stop

ROOT = Path(__file__).resolve().parent.parent


def create_first_admin(env: Mapping[str, str]) -> None:
    """`python -m app.db.init_db`, the documented start-up step, with the service's environment."""
    subprocess.run(
        [sys.executable, "-m", "app.db.init_db"], cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True
    )


class ServiceProcess:
    def __init__(self, env: Mapping[str, str], *, workers: int = 1) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._env = {**os.environ, "LOG_LEVEL": "INFO", "LOG_FORMAT": "json", **env}
        self._workers = workers
        self._log = ROOT / ".pytest_cache" / f"service-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> "ServiceProcess":
        self._log.parent.mkdir(exist_ok=True)
        command = [
            sys.executable, "-m", "uvicorn", "app.main:app",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--loop", "uvloop", "--http", "httptools",
            "--timeout-graceful-shutdown", "20",
        ]  # fmt: skip
        if self._workers > 1:
            command += ["--workers", str(self._workers)]
        with self._log.open("wb") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self._env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"service exited early:\n{self.output()}")
            try:
                if httpx.get(f"{self.base_url}/health/live", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"service did not start:\n{self.output()}")

    def terminate(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> None:
        stop(self.process)

    def output(self) -> str:
        return self._log.read_text(errors="replace") if self._log.exists() else ""

    def __enter__(self) -> "ServiceProcess":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


class TcpProxy:
    """A loopback TCP proxy with switches: `cut()` drops every connection and refuses new ones; `blackhole()`
    keeps every connection open and accepts new ones, but forwards nothing either way (a network that swallows
    packets); `restore()` ends either."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.port = free_port()
        self._target = (target_host, target_port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.silent = False

    def start(self) -> "TcpProxy":
        self._thread.start()
        self._call(self._listen())
        return self

    def cut(self) -> None:
        self._call(self._cut())

    def blackhole(self) -> None:
        self.silent = True

    def restore(self) -> None:
        self.silent = False
        self._call(self._listen())

    def close(self) -> None:
        self._call(self._cut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _call(self, coroutine: "asyncio.Future[None] | object") -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)  # type: ignore[arg-type]

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

    async def _cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        if server is not None:
            await server.wait_closed()

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self.silent:
            self._writers.add(client_writer)
            await _pipe(client_reader, None)
            self._writers.discard(client_writer)
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers.update({client_writer, upstream_writer})
        await asyncio.gather(
            _pipe(client_reader, upstream_writer, self),
            _pipe(upstream_reader, client_writer, self),
            return_exceptions=True,
        )
        self._writers.difference_update({client_writer, upstream_writer})


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter | None, proxy: TcpProxy | None = None
) -> None:
    """Copy until the end; with no writer, or while the proxy is silent, what is read is dropped."""
    try:
        while data := await reader.read(65536):
            if writer is None or (proxy is not None and proxy.silent):
                continue
            writer.write(data)
            await writer.drain()
    finally:
        if writer is not None:
            writer.transport.abort()
