"""An exclusive lock among the processes of this host, taken without waiting: who holds it does a job the others
leave alone (the outbox relay: one per host and database, in whichever worker took it first).

It is `flock()` on a file in the system's temporary directory, named by a digest of what it guards (no secret
in the name): the kernel releases it when its holder exits, however it exits, so another process takes the job
over at its next try. A lock held by one object is refused to another one in the same process too.
"""

import contextlib
import fcntl
import hashlib
import os
import tempfile
from pathlib import Path


class HostLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @classmethod
    def named(cls, job: str, key: str) -> "HostLock":
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        return cls(Path(tempfile.gettempdir()) / f"order-service-{job}-{digest}.lock")

    def acquire(self) -> bool:
        """True if this object holds the lock now (taken now, or before); False if another holder has it."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
