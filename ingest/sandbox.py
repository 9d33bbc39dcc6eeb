"""Untrusted files and pages are parsed in a child process, never in the caller's.

A file or URL can be built to exhaust a parser: a YAML alias bomb, a zip bomb, a PDF claiming
tens of thousands of pages, a pathological pattern. The parsers have limits of their own
(`loaders`, `formats`, `fetch`), and this is the wall behind them: one long-lived child
(`python -m ingest.sandbox`) runs `load_documents` / `url_documents` under an address-space
limit (`PARTNERBOT_PARSE_MEMORY_MB`) and a CPU-time limit per input, and the caller gives up
on it after a wall-clock limit (`PARTNERBOT_PARSE_SECONDS`, plus the fetch timeout for URLs).
A child that breaks a limit is killed and replaced; its input becomes one `IngestError` naming
the limit, and the batch goes on. Results come back as JSON (never pickle: the child has read
hostile bytes).
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

from .errors import IngestError
from .loaders import Article

MAX_REPLY_BYTES = 256 * 1024 * 1024  # a reply's JSON; documents are capped far below this


def _article_out(doc: Article | IngestError) -> dict:
    if isinstance(doc, IngestError):
        return {"error": [doc.source, doc.reason]}
    return {"article": asdict(doc)}


def _article_in(item: dict) -> Article | IngestError:
    if "error" in item:
        return IngestError(*item["error"])
    fields = dict(item["article"])
    fields["pages"] = tuple(fields.get("pages") or ())
    return Article(**fields)


def _within_length(doc: Article | IngestError, max_chars: int | None) -> Article | IngestError:
    """An over-long text is refused here, not shipped whole to the caller to be refused."""
    if isinstance(doc, Article) and max_chars and len(doc.text) > max_chars:
        return IngestError(doc.key or doc.source, too_long(len(doc.text), max_chars))
    return doc


def too_long(chars: int, max_chars: int) -> str:
    return f"text is {chars:,} characters; the limit is {max_chars:,} (PARTNERBOT_MAX_DOC_CHARS)"


def _run_job(job: dict) -> dict:
    from .fetch import url_documents
    from .loaders import load_documents

    try:
        if job["kind"] == "url":
            docs = url_documents(job["url"], job["timeout"], job["limit"], job["allow_private"])
        else:
            docs = load_documents(Path(job["path"]), limit=job["limit"])
        return {"items": [_article_out(_within_length(d, job.get("max_chars"))) for d in docs]}
    except IngestError as exc:
        return {"error": [exc.source, exc.reason]}
    except MemoryError:
        return {
            "error": [
                job.get("path") or job.get("url"),
                f"parsing needs over {job['memory_mb']:g} MB of memory "
                "(PARTNERBOT_PARSE_MEMORY_MB)",
            ]
        }
    except RecursionError:
        return {"error": [job.get("path") or job.get("url"), "the input nests too deeply"]}


def _serve() -> None:
    """The child: one JSON job per line on stdin, one JSON reply per line on stdout."""
    import resource

    memory = int(os.environ.get("PARTNERBOT_SANDBOX_MEMORY_MB", "2048")) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a killed parser leaves no core file
    os.nice(10)  # parsing yields the CPU to answering questions
    out = sys.stdout
    sys.stdout = sys.stderr  # a library's stray print must not corrupt the replies
    # Import the parsers once, before any job, so each job's CPU budget is its own.
    from . import fetch, formats, loaders  # noqa: F401

    for line in sys.stdin:
        job = json.loads(line)
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        used = int(cpu.ru_utime + cpu.ru_stime) + 1
        hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        soft = used + int(job["cpu_seconds"])
        resource.setrlimit(resource.RLIMIT_CPU, (soft if hard < 0 else min(soft, hard), hard))
        reply = _run_job(job)
        out.write(json.dumps(reply, ensure_ascii=False) + "\n")
        out.flush()


class Sandbox:
    """The caller's side: one child at a time, started on first use, replaced when it dies."""

    def __init__(self, memory_mb: float = 2048, seconds: float = 60):
        self.memory_mb = memory_mb
        self.seconds = seconds
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            env = dict(
                os.environ,
                PARTNERBOT_SANDBOX_MEMORY_MB=str(int(self.memory_mb)),
                PYTHONUNBUFFERED="1",
            )
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "ingest.sandbox"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
                cwd=str(Path(__file__).resolve().parent.parent),
            )
        return self._proc

    def close(self) -> None:
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                self._proc.kill()
                self._proc.wait()
            self._proc = None

    def load_file(
        self, path: Path, limit: int, max_chars: int | None = None
    ) -> list[Article | IngestError]:
        return self._call(
            {"kind": "file", "path": str(path), "limit": limit, "max_chars": max_chars},
            str(path),
            self.seconds,
        )

    def load_url(
        self,
        url: str,
        timeout: float,
        limit: int,
        allow_private: bool,
        max_chars: int | None = None,
    ) -> list[Article | IngestError]:
        return self._call(
            {
                "kind": "url",
                "url": url,
                "timeout": timeout,
                "limit": limit,
                "allow_private": allow_private,
                "max_chars": max_chars,
            },
            url,
            self.seconds + timeout,
        )

    def _call(self, job: dict, origin: str, wall: float) -> list[Article | IngestError]:
        job = {**job, "cpu_seconds": max(1, int(self.seconds)), "memory_mb": self.memory_mb}
        with self._lock:
            proc = self._start()
            try:
                assert proc.stdin is not None  # started with stdin=PIPE
                proc.stdin.write((json.dumps(job) + "\n").encode())
                proc.stdin.flush()
                line = self._read_line(proc, time.monotonic() + wall)
            except (BrokenPipeError, OSError):
                line = None
            if line is None:
                reason = self._death(proc, wall)
                self._proc = None
                raise IngestError(origin, reason)
        reply = json.loads(line)
        if "error" in reply:
            raise IngestError(*reply["error"])
        return [_article_in(item) for item in reply["items"]]

    @staticmethod
    def _read_line(proc: subprocess.Popen, deadline: float) -> bytes | None:
        """One reply line, or None if the child died, overran the deadline or the size cap."""
        assert proc.stdout is not None  # started with stdout=PIPE
        fd = proc.stdout.fileno()
        chunks: list[bytes] = []
        size = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            data = os.read(fd, 1 << 20)
            if not data:
                return None
            chunks.append(data)
            size += len(data)
            if data.endswith(b"\n"):
                return b"".join(chunks)
            if size > MAX_REPLY_BYTES:
                return None

    def _death(self, proc: subprocess.Popen, wall: float) -> str:
        """Kill the child if it still runs; say which limit it broke."""
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            return f"parsing took over {wall:g} s (PARTNERBOT_PARSE_SECONDS)"
        code = proc.returncode
        if code in (-signal.SIGXCPU, -signal.SIGKILL):
            return (
                f"parsing used over {self.seconds:g} s of CPU (PARTNERBOT_PARSE_SECONDS)"
                if code == -signal.SIGXCPU
                else f"the parser was killed (over {self.memory_mb:g} MB? "
                "PARTNERBOT_PARSE_MEMORY_MB)"
            )
        return (
            f"the parser stopped (exit code {code}), probably over its memory limit "
            f"({self.memory_mb:g} MB, PARTNERBOT_PARSE_MEMORY_MB)"
        )


_SHARED: dict[tuple[float, float], Sandbox] = {}
_SHARED_LOCK = threading.Lock()


def shared_sandbox(memory_mb: float, seconds: float) -> Sandbox:
    """One child per process and limits, reused by every ingest (starting one costs ~1 s)."""
    with _SHARED_LOCK:
        key = (memory_mb, seconds)
        if key not in _SHARED:
            _SHARED[key] = Sandbox(memory_mb, seconds)
        return _SHARED[key]


@atexit.register
def _close_all() -> None:
    for sandbox in list(_SHARED.values()):
        sandbox.close()


if __name__ == "__main__":
    _serve()
