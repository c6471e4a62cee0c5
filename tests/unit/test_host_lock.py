"""The host lock: one holder at a time among objects and processes, released when its holder exits."""

import subprocess
import sys
import time

from app.core.host_lock import HostLock


def test_one_holder_at_a_time_and_the_next_after_a_release(tmp_path):
    first, second = HostLock(tmp_path / "job.lock"), HostLock(tmp_path / "job.lock")
    assert first.acquire() and first.acquire()  # taken, and still held on asking again
    assert not second.acquire()
    first.release()
    assert second.acquire()
    assert not first.acquire()
    second.release()


def test_names_come_from_a_digest_of_the_key_and_differ_by_key():
    one = HostLock.named("outbox-relay", "postgresql://shop:secret@db/shop")
    assert one.path == HostLock.named("outbox-relay", "postgresql://shop:secret@db/shop").path
    assert "secret" not in str(one.path)
    assert one.path != HostLock.named("outbox-relay", "postgresql://shop:secret@db/other").path


def test_a_holder_that_dies_releases_the_lock(tmp_path):
    path = tmp_path / "job.lock"
    script = (
        "import pathlib, time\n"
        "from app.core.host_lock import HostLock\n"
        f"HostLock(pathlib.Path({str(path)!r})).acquire()\n"
        "print('held', flush=True)\n"
        "time.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)  # noqa: S603 - our own code
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        ours = HostLock(path)
        assert not ours.acquire()
        holder.kill()
        holder.wait(10)
        deadline = time.monotonic() + 5
        while not ours.acquire():
            assert time.monotonic() < deadline
            time.sleep(0.01)
        ours.release()
    finally:
        holder.kill()
        holder.wait(10)
