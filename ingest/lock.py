"""One writer per store: an exclusive, non-blocking `flock` on a file beside the store.

A second writer fails at once with a message naming the holder (pid, command, since when),
never waits. The kernel drops the lock when its process dies, even by SIGKILL, so a crashed
ingest never leaves a stale lock behind.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import sys
from pathlib import Path


class StoreBusyError(Exception):
    """Another process is writing to the store."""


class WriterLock:
    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> "WriterLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe(self.path)
            os.close(fd)
            raise StoreBusyError(
                f"another process is writing to this store ({holder}); wait for it to finish "
                f"or stop it"
            ) from None
        os.ftruncate(fd, 0)
        os.write(
            fd,
            json.dumps(
                {
                    "pid": os.getpid(),
                    "command": " ".join(sys.argv)[:200],
                    "since": dt.datetime.now().isoformat(timespec="seconds"),
                }
            ).encode(),
        )
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "WriterLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _describe(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return f"lock file {path}"
    return f"pid {info.get('pid')}, `{info.get('command')}`, since {info.get('since')}"
