"""Server processes for the support tasks and the tests: a free loopback port, and a stop that waits."""

import signal
import socket
import subprocess


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: "subprocess.Popen[bytes] | None", *, grace: float = 20.0) -> None:
    """SIGTERM, as an orchestrator stops the service; SIGKILL if it has not exited within `grace` seconds."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
