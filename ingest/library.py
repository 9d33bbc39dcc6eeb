"""The built-in library (`corpus/`), indexed in the background on first start.

`Library(folder, db, settings)` knows the folder's documents and whether the store needs them:
an empty store does, and so does one whose mark (a fingerprint of the files' names and sizes,
set when indexing ends) is missing its end or names an older version of the folder.
`start()` indexes them in a thread while the app serves: documents already stored are skipped,
so a restart resumes where the last run stopped, and a new version of the folder adds what
changed. `status()` says how far it has got ("indexing 212 of 370 documents, about 2 minutes
left"). Between documents it waits while `pause()` is true (questions being answered), so
answers do not share the two cores with the encoder for long; it writes in small batches so a
question never waits long for the encoder either.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .discovery import iter_files
from .lock import StoreBusyError
from .pipeline import ingest_paths
from .report import IngestReport
from .settings import Settings

log = logging.getLogger(__name__)

MARK = "library"
BATCH_CHUNKS = 64  # chunks encoded and written together while the app serves (about 1-2 s)
MAX_PAUSE_S = 30.0  # a steady stream of questions cannot stop the indexing for longer
UNMARKED_SCAN_CHUNKS = 10_000  # an unmarked store larger than the library is someone's own
PAUSE_SHARE = 0.5  # nor make it wait more than this share of its running time in all


def fingerprint(files: list[Path], root: Path) -> str:
    """Names and contents of the folder's documents (a few MB: read in milliseconds)."""
    digest = hashlib.sha256()
    for f in files:
        digest.update(f"{f.relative_to(root).as_posix()}\0".encode())
        digest.update(hashlib.sha256(f.read_bytes()).digest())
    return digest.hexdigest()[:16]


def _minutes(seconds: float) -> str:
    if seconds < 60:
        return "under a minute"
    minutes = round(seconds / 60)
    return f"about {minutes} minute{'s' if minutes != 1 else ''}"


class Library:
    def __init__(
        self,
        folder: str | Path,
        db,
        settings: Settings,
        pause: Callable[[], bool] = lambda: False,
    ):
        self.folder = Path(folder)
        self.db = db
        self.settings = settings
        self.pause = pause
        self.files = iter_files(self.folder) if self.folder.is_dir() else []
        self.total = len(self.files)
        self.fingerprint = fingerprint(self.files, self.folder)
        self.done = 0
        self.report: IngestReport | None = None
        self.error: str | None = None
        self.elsewhere = False  # another process (a replica) holds the store's writer lock
        self._paused = 0.0
        self._processed = 0  # documents this run read (skipped ones excluded from the rate)
        self._started: float | None = None
        self._thread: threading.Thread | None = None
        self._finished = threading.Event()

    def needed(self) -> bool:
        """True when the store is empty, holds an earlier or unfinished indexing of the
        library, or only documents of this folder; a store with documents of one's own is
        left alone."""
        if self.total == 0:
            return False
        mark = self.db.mark(MARK)
        if mark is not None:
            return mark != self.fingerprint
        # No mark: empty, or built from this folder before marks existed (the seed article of
        # earlier versions, an interrupted `partnerbot ingest corpus/`): small enough to list.
        count = self.db.counts()[0]
        if count == 0:
            return True
        if count > UNMARKED_SCAN_CHUNKS:
            return False
        root = str(self.folder.resolve())
        return all(d.key.startswith(root + "/") for d in self.db.documents())

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._finished.is_set()

    def start(self) -> Library:
        self._thread = threading.Thread(target=self.run, name="library-index", daemon=True)
        self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        return self._finished.wait(timeout)

    def run(self) -> IngestReport | None:
        """Index the folder now (the thread's body; callable directly)."""
        self._started = time.monotonic()
        settings = self.settings.model_copy(
            update={"ingest_batch": min(self.settings.ingest_batch, BATCH_CHUNKS)}
        )
        try:
            with self.db.writing():
                if self.db.mark(MARK) is None:  # a restart must know this store is ours
                    self.db.set_mark(MARK, "unfinished")
                self.report = ingest_paths(
                    [self.folder], settings=settings, db=self.db, progress=self._step
                )
                # Marked complete only when everything went in: after a failure (a full
                # disk, a parse that timed out on a busy machine) the next start tries again.
                if not self.report.failed:
                    self.db.set_mark(MARK, self.fingerprint)
            for failure in self.report.failed:
                log.warning("built-in library: %s: %s", failure.source, failure.reason)
        except StoreBusyError as exc:  # a replica sharing the Chroma server indexes it
            self.elsewhere = True
            log.info("built-in library: not indexed here: %s", exc)
        except Exception as exc:  # noqa: BLE001 - reported by status(); the app serves on
            self.error = " ".join(str(exc).split())[:300] or type(exc).__name__
            log.warning("built-in library not indexed: %s", self.error)
        finally:
            self._finished.set()
        return self.report

    def _step(self, label: str, outcome: str, report: IngestReport) -> None:
        self.done += 1
        if outcome != "unchanged":
            self._processed += 1
        waited = time.monotonic()
        # One full pause is always allowed; beyond it, pauses take at most PAUSE_SHARE.
        budget = MAX_PAUSE_S + PAUSE_SHARE * (waited - (self._started or waited)) - self._paused
        while self.pause() and time.monotonic() - waited < min(MAX_PAUSE_S, budget):
            time.sleep(0.1)
        self._paused += time.monotonic() - waited

    def eta_seconds(self) -> float | None:
        if not self._started or not self._processed:
            return None
        rate = self._processed / (time.monotonic() - self._started)
        return (self.total - self.done) / rate if rate > 0 else None

    def status(self) -> str:
        """One line for the chat and the terminal; empty when there is nothing to say."""
        if self.error:
            return f"The built-in library could not be indexed: {self.error}"
        if self.elsewhere:
            return "the built-in library is indexed by another server sharing this store"
        if self.running:
            eta = self.eta_seconds()
            left = f", {_minutes(eta)} left" if eta is not None else ""
            return f"indexing {self.done} of {self.total} documents{left}"
        if self.report is not None:
            noun = "document" if self.total == 1 else "documents"
            failed = len(self.report.failed)
            failures = f", {failed} failed: the next start tries again" if failed else ""
            return f"indexed {self.total} {noun} ({self.report.added} added{failures})"
        return ""
