"""One admission queue for every way into the web server (the Gradio chat and the OpenAI
endpoint): at most `workers` questions answered at once, at most `queue_size` waiting;
anyone beyond that is told the server is busy instead of waiting without end."""

from __future__ import annotations

import threading

BUSY_MESSAGE = "Partnerbot is busy answering other questions. Please try again in a minute."


class Busy(Exception):
    def __init__(self):
        super().__init__(BUSY_MESSAGE)


class Gate:
    def __init__(self, workers: int, queue_size: int):
        self.workers = workers
        self.queue_size = queue_size
        self._running = threading.BoundedSemaphore(workers)
        self._lock = threading.Lock()
        self._inside = 0  # answering or waiting

    def admit(self) -> "Ticket":
        """A place in the queue, or `Busy` at once when the queue is full. Use the ticket as
        a context manager: entering waits for a free worker, leaving frees both."""
        with self._lock:
            if self._inside >= self.workers + self.queue_size:
                raise Busy()
            self._inside += 1
        return Ticket(self)

    def _leave(self) -> None:
        with self._lock:
            self._inside -= 1


class Ticket:
    def __init__(self, gate: Gate):
        self._gate = gate
        self._state = "waiting"
        self._lock = threading.Lock()
        self._left = False

    def _leave_once(self) -> None:
        """Give the place back exactly once, however `cancel` and `__exit__` interleave (a
        second give-back would let the gate admit more than its limit)."""
        with self._lock:
            if self._left:
                return
            self._left = True
        self._gate._leave()

    def __enter__(self) -> "Ticket":
        try:
            self._gate._running.acquire()
        except BaseException:
            self.cancel()
            raise
        self._state = "running"
        return self

    def __exit__(self, *exc) -> None:
        self._state = "done"
        self._gate._running.release()
        self._leave_once()

    def cancel(self) -> None:
        """Give the place back if it was never used (the asker went away while waiting)."""
        if self._state == "waiting":
            self._leave_once()
