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
import socket
import sys
import threading
import time
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


LEASE_SECONDS = 60  # a server lock not renewed for this long belongs to a dead writer
RENEW_SECONDS = 15


class ServerLock:
    """One writer per store when the store is a Chroma server shared by several machines
    (web replicas, an ingest elsewhere): a file lock cannot be seen across them.

    The lock is a marker collection on the server: creating a collection that exists fails
    there atomically. Its metadata name the holder and an expiry the holder renews every
    15 s from a thread; a marker past its expiry (its writer died) is taken over.
    """

    def __init__(self, client, name: str):
        self.client = client
        self.name = name
        self.token = f"{os.getpid()}-{os.urandom(6).hex()}"
        self._stop: threading.Event | None = None

    def _meta(self) -> dict:
        return {
            "token": self.token,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": " ".join(sys.argv)[:200],
            "since": dt.datetime.now().isoformat(timespec="seconds"),
            "expires": time.time() + LEASE_SECONDS,
        }

    def _current(self) -> dict | None:
        try:
            return dict(
                self.client.get_collection(self.name, embedding_function=None).metadata or {}
            )
        except Exception:  # noqa: BLE001 - "does not exist" comes as several error types
            return None

    def acquire(self) -> "ServerLock":
        for _ in range(3):
            try:
                self.client.create_collection(
                    self.name, metadata=self._meta(), embedding_function=None
                )
                break
            except Exception:  # noqa: BLE001 - it exists (or was just taken)
                held = self._current()
                if held is None:
                    continue  # released meanwhile: try again
                if float(held.get("expires", 0)) > time.time():
                    raise StoreBusyError(
                        f"another process is writing to this store (pid {held.get('pid')} on "
                        f"{held.get('host')}, `{held.get('command')}`, since "
                        f"{held.get('since')}); wait for it to finish or stop it"
                    ) from None
                again = self._current()  # expired: take it over, unless it changed hands
                if again is not None and again.get("token") == held.get("token"):
                    try:
                        self.client.delete_collection(self.name)
                    except Exception:  # noqa: BLE001 - another taker was first
                        pass
        else:
            raise StoreBusyError("could not take the store's writer lock on the server; try again")
        self._stop = threading.Event()
        threading.Thread(target=self._renew, args=(self._stop,), daemon=True).start()
        return self

    def _renew(self, stop: threading.Event) -> None:
        while not stop.wait(RENEW_SECONDS):
            try:
                self.client.get_collection(self.name, embedding_function=None).modify(
                    metadata=self._meta()
                )
            except Exception:  # noqa: BLE001 - the server is away: the next renewal retries
                pass

    def release(self) -> None:
        if self._stop is None:
            return
        self._stop.set()
        self._stop = None
        held = self._current()
        if held is not None and held.get("token") == self.token:
            try:
                self.client.delete_collection(self.name)
            except Exception:  # noqa: BLE001 - already gone
                pass

    def __enter__(self) -> "ServerLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
