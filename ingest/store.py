"""Open the Chroma store: one collection of chunks and one of their sentences, stamped with how
they were built.

* `chunks`: one record per chunk (title + text embedded), with the document's metadata and the
  chunk's offsets; `doc_key` (the document's identity) and `doc_hash` (its content) say which
  document version a chunk belongs to, `n_chunks`/`n_sentences` let a reader check it is whole;
* `sentences`: one vector per sentence of a chunk, id `<chunk id>:<j>` and no metadata (its
  offsets are recomputed from the chunk text): a question usually matches one sentence far
  better than a whole chunk.

The store is embedded (a directory, `PersistentClient`) or a Chroma server
(`PARTNERBOT_CHROMA_URL`). The chunk collection records the embedding model and chunking that
built the store; opening it with different settings refuses instead of mixing incompatible
vectors. Its `generation` changes on every write, so readers can tell when a cached index
(BM25) is stale. Writers hold `WriterLock` (a directory) or `ServerLock` (a Chroma server
shared by several machines; a marker collection with a renewed lease): one writer per store.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator
from urllib.parse import urlparse

from .chunking import CHUNKER_VERSION
from .errors import StoreMismatchError, StoreUnavailableError
from .lock import StoreBusyError, WriterLock
from .records import chunk_of, sentence_id
from .settings import Settings, get_settings

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

INDEX_VERSION = "chunks+sentences-v2"
PAGE = 5000  # records per get() page
MARK = "mark:"  # prefix of the chunk collection's metadata keys set by `Store.set_mark`
# HNSW search depth of both collections. Retrieval asks for 20 chunks and 60 sentences; on one
# 200,000-chunk bench store (a million sentence vectors; a one-off sweep, 2026-11-29) Chroma's
# default of 100 found 0.86 of the exact top 20 chunks and 0.67 of the top 60 sentences, 200
# found 0.95 / 0.90, 300 and up 1.00 / 1.00, for 1-2 ms more per query (another build: 0.95 /
# 0.95 at 400, bench scale table). A query-time setting: an existing store is switched when
# opened (Chroma reads it when it loads the index).
EF_SEARCH = 400
HNSW = {"space": "cosine", "ef_search": EF_SEARCH}


def _stamp(settings: Settings) -> dict[str, str | int]:
    return {
        "embedding_model": settings.embedding_model,
        "chunker": CHUNKER_VERSION,
        "chunk_tokens": settings.chunk_tokens,
        "index": INDEX_VERSION,
        "sentence_vectors": settings.sentence_vectors,
    }


@dataclass
class DocInfo:
    key: str
    title: str
    date: str | None
    source: str
    url: str | None
    chunks: int
    doc_hash: str

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "title": self.title,
            "date": self.date,
            "source": self.source,
            "url": self.url,
            "chunks": self.chunks,
        }


@dataclass
class Store:
    location: str  # directory or server URL, for messages
    client: ClientAPI
    chunks: Collection
    sentences: Collection
    stamp: dict
    lock: WriterLock | ServerLock | None = None
    max_batch: int = 5000
    path: Path | None = None
    lock_path: Path | None = None
    _closed: bool = field(default=False, repr=False)

    @contextmanager
    def writing(self):
        """Hold the writer lock for a block (a no-op when this store was opened to write):
        how web replicas sharing a Chroma server write one at a time. StoreBusyError names
        the holder when another process writes."""
        if self.lock is not None:
            yield self
            return
        lock = (
            WriterLock(self.lock_path)
            if self.path is not None
            else ServerLock(self.client, self.chunks.name + LOCK_SUFFIX)
        ).acquire()
        self.lock = lock
        try:
            yield self
        finally:
            self.lock = None
            lock.release()

    def generation(self) -> int:
        """Changes whenever a writer has touched the store (cheap: one metadata read)."""
        return int(self._metadata().get("generation", 0))

    def _metadata(self) -> dict:
        fresh = self.client.get_collection(self.chunks.name, embedding_function=None)
        return dict(fresh.metadata or {})

    def touch(self) -> None:
        marks = {k: v for k, v in self._metadata().items() if k.startswith(MARK)}
        self.chunks.modify(metadata={**marks, **self.stamp, "generation": time.time_ns()})

    def mark(self, name: str) -> str | None:
        """A value a writer left on the store (`set_mark`), e.g. which built-in library
        version it holds in full."""
        value = self._metadata().get(MARK + name)
        return None if value is None else str(value)

    def marks(self) -> dict[str, str]:
        """Every mark, by name."""
        return {k[len(MARK) :]: str(v) for k, v in self._metadata().items() if k.startswith(MARK)}

    def set_mark(self, name: str, value: str) -> None:
        meta = self._metadata()
        meta[MARK + name] = value
        meta.pop("hnsw:space", None)  # configuration, not metadata; modify refuses it
        self.chunks.modify(metadata=meta)

    def upsert(self, collection, ids: list[str], embeddings: list, **fields) -> None:
        """Upsert in pieces no larger than the server's maximum batch."""
        for b in range(0, len(ids), self.max_batch):
            part = {k: v[b : b + self.max_batch] for k, v in fields.items() if v is not None}
            collection.upsert(
                ids=ids[b : b + self.max_batch],
                embeddings=embeddings[b : b + self.max_batch],
                **part,
            )

    def delete_ids(self, collection, ids: list[str]) -> None:
        for b in range(0, len(ids), self.max_batch):
            collection.delete(ids=ids[b : b + self.max_batch])

    def chunk_records(self, where: dict | None = None, documents: bool = False):
        """(id, metadata[, document]) of every chunk matching `where`, page by page."""
        include: list[Any] = ["metadatas", "documents"] if documents else ["metadatas"]
        offset = 0
        while True:
            page = self.chunks.get(where=where, include=include, limit=PAGE, offset=offset)
            if not page["ids"]:
                return
            docs: list[Any] = (page["documents"] if documents else None) or [None] * len(
                page["ids"]
            )
            yield from zip(page["ids"], page["metadatas"] or [], docs)
            if len(page["ids"]) < PAGE:
                return
            offset += PAGE

    def documents(self) -> list[DocInfo]:
        """One entry per stored document version, in the order title, date."""
        found: dict[tuple[str, str], DocInfo] = {}
        for _, meta, _ in self.chunk_records():
            key = (meta["doc_key"], meta["doc_hash"])
            if key in found:
                found[key].chunks += 1
            else:
                found[key] = DocInfo(
                    key=meta["doc_key"],
                    title=meta.get("title", ""),
                    date=meta.get("date"),
                    source=meta.get("source", ""),
                    url=meta.get("url"),
                    chunks=1,
                    doc_hash=meta["doc_hash"],
                )
        return sorted(found.values(), key=lambda d: (d.date or "", d.title, d.key))

    def remove_version(self, doc_key: str, doc_hash: str | None = None) -> int:
        """Delete a document's chunks (only version `doc_hash` if given) and their sentences;
        sentences go first, so a crash in between leaves chunks a re-run can still see."""
        where = (
            {"doc_key": doc_key}
            if doc_hash is None
            else {"$and": [{"doc_key": doc_key}, {"doc_hash": doc_hash}]}
        )
        records = list(self.chunk_records(where))
        sentence_ids = [
            sentence_id(cid, j)
            for cid, meta, _ in records
            for j in range(int(meta.get("n_sentences", 0)))
        ]
        self.delete_ids(self.sentences, sentence_ids)
        self.delete_ids(self.chunks, [cid for cid, _, _ in records])
        return len(records)

    # -- reading, for the retriever -------------------------------------------------------
    def counts(self) -> tuple[int, int]:
        """(chunks, sentences) stored. Chroma counts by scanning: callers cache it."""
        return self.chunks.count(), self.sentences.count()

    def nearest_chunks(
        self, vectors: list, n: int, ids: list[str] | None = None
    ) -> tuple[list[list[str]], list[list[float]]]:
        """For each query vector, the ids and distances of the `n` nearest chunks (among
        `ids` when given), nearest first."""
        res = self.chunks.query(
            query_embeddings=vectors, n_results=n, ids=ids, include=["distances"]
        )
        return res["ids"], res["distances"]  # type: ignore[return-value]

    def nearest_sentences(self, vectors: list, n: int) -> tuple[list[list[str]], list[list[float]]]:
        """For each query vector, the chunk ids and distances of the `n` nearest sentences
        (a chunk appears once per sentence of it found), nearest first."""
        res = self.sentences.query(query_embeddings=vectors, n_results=n, include=["distances"])
        return [[chunk_of(sid) for sid in row] for row in res["ids"]], res["distances"]  # type: ignore[return-value]

    def sentence_embeddings(self, ids: list[str]) -> dict[str, list[float]]:
        """The stored vectors of these sentence ids (`sentence_id`), by id; absent ids are
        left out."""
        if not ids:
            return {}
        got = self.sentences.get(ids=ids, include=["embeddings"])
        return dict(zip(got["ids"], got["embeddings"]))  # type: ignore[arg-type]

    def chunk_texts(self, ids: list[str]) -> dict[str, tuple[str, dict]]:
        """(text, metadata) of these chunk ids, by id; absent ids are left out."""
        got = self.chunks.get(ids=ids, include=["documents", "metadatas"])
        return dict(zip(got["ids"], zip(got["documents"], got["metadatas"])))  # type: ignore[arg-type]

    def key_holding(self, doc_hash: str) -> str | None:
        """The `doc_key` of a stored document with this content hash, if any."""
        hit = self.chunks.get(where={"doc_hash": doc_hash}, include=["metadatas"], limit=1)
        return str(hit["metadatas"][0]["doc_key"]) if hit["ids"] and hit["metadatas"] else None

    def dump_chunks(self) -> tuple[list[str], list[str], list[dict], list]:
        """Every chunk's id, text, metadata and vector (a benchmark copies a store with it)."""
        got = self.chunks.get(include=["documents", "metadatas", "embeddings"])
        return got["ids"], got["documents"], got["metadatas"], got["embeddings"]  # type: ignore[return-value]

    def dump_sentences(self, page: int = 5000) -> Iterator[tuple[str, list[float]]]:
        """Every sentence record's id and vector, page by page."""
        total = self.counts()[1]
        for offset in range(0, total, page):
            got = self.sentences.get(include=["embeddings"], limit=page, offset=offset)
            yield from zip(got["ids"], got["embeddings"])  # type: ignore[arg-type]

    # -- replacing, for a rebuild ----------------------------------------------------------
    def discard_collections(self, names: tuple[str, ...]) -> None:
        """Delete these collections where they exist (what an interrupted rebuild left)."""
        existing = {getattr(c, "name", c) for c in self.client.list_collections()}
        for name in names:
            if name in existing:
                self.client.delete_collection(name)

    def replace_with(self, new: Store) -> None:
        """Put `new`'s collections in the place of this store's (the end of a rebuild)."""
        self.client.delete_collection(self.chunks.name)
        self.client.delete_collection(self.sentences.name)
        new.chunks.modify(name=self.chunks.name)
        new.sentences.modify(name=self.sentences.name)

    def close(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _lock_path(settings: Settings, path: Path) -> Path:
    return path / "partnerbot-writer.lock"


def chroma_settings(persist_directory: str | None = None):
    """Chroma's client settings as every client here uses them: no telemetry, no reset (and
    the directory, for a client LangChain builds, like the benchmark's tutorial pipeline)."""
    from chromadb.config import Settings as ChromaSettings

    if persist_directory is None:
        return ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    return ChromaSettings(
        anonymized_telemetry=False,
        allow_reset=False,
        is_persistent=True,
        persist_directory=persist_directory,
    )


def _client(settings: Settings, path: Path | None):
    import chromadb

    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings())
    url = urlparse(settings.chroma_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise StoreUnavailableError(
            f"PARTNERBOT_CHROMA_URL must look like http://host:port, not {settings.chroma_url!r}"
        )
    try:
        client = chromadb.HttpClient(
            host=url.hostname,
            port=url.port or (443 if url.scheme == "https" else 80),
            ssl=url.scheme == "https",
            settings=chroma_settings(),
        )
        client.heartbeat()
    except Exception as exc:  # noqa: BLE001 - connection errors come in many types
        raise StoreUnavailableError(
            f"cannot reach the Chroma server at {settings.chroma_url}: {exc}"
        ) from exc
    return client


def open_store(
    store: str | Path | None = None,
    settings: Settings | None = None,
    *,
    write: bool = False,
    check: bool = True,
    names: tuple[str, str] | None = None,
) -> Store:
    """The store (created if missing): the directory `store`, else the Chroma server of
    `settings.chroma_url`, else the directory `settings.store`.

    `write=True` takes the writer lock first (StoreBusyError if another process holds it).
    `check=False` skips the stamp comparison (for `--rebuild`).
    """
    settings = settings or get_settings()
    path = None
    if store is not None or not settings.chroma_url:
        path = Path(store) if store is not None else settings.store
    location = str(path) if path is not None else str(settings.chroma_url)
    lock_path = _lock_path(settings, path) if path is not None else None
    lock: WriterLock | ServerLock | None = (
        WriterLock(lock_path).acquire() if write and lock_path is not None else None
    )
    try:
        client = _client(settings, path)
        stamp = _stamp(settings)
        chunk_name, sentence_name = names or (
            settings.collection,
            f"{settings.collection}-sentences",
        )
        if write and lock is None:  # a Chroma server: the lock must be seen by every machine
            lock = ServerLock(client, chunk_name + LOCK_SUFFIX).acquire()
        if write:  # a reader changes nothing: that needs the lock
            _finish_rebuild(client, chunk_name, sentence_name)
        # embedding_function=None: Chroma must never embed for us (its default model downloads).
        chunks = client.get_or_create_collection(
            chunk_name, embedding_function=None, metadata=stamp, configuration={"hnsw": HNSW}
        )
        found = {k: (chunks.metadata or {}).get(k) for k in stamp}
        if check and found != stamp:
            raise StoreMismatchError(
                f"the store at {location} was built with {found}, but the settings ask for "
                f"{stamp}; run `partnerbot ingest --rebuild` to re-embed what it holds with "
                f"the current settings (or use another --store)"
            )
        sentences = client.get_or_create_collection(
            sentence_name, embedding_function=None, configuration={"hnsw": HNSW}
        )
        for collection in (chunks, sentences) if write else ():
            hnsw = (getattr(collection, "configuration", None) or {}).get("hnsw") or {}
            if hnsw.get("ef_search") != EF_SEARCH:
                collection.modify(configuration={"hnsw": {"ef_search": EF_SEARCH}})
        try:
            max_batch = min(PAGE, int(client.get_max_batch_size()))
        except Exception:  # noqa: BLE001 - older servers do not report it
            max_batch = 1000
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    return Store(
        location=location,
        client=client,
        chunks=chunks,
        sentences=sentences,
        stamp=stamp,
        lock=lock,
        max_batch=max_batch,
        path=path,
        lock_path=lock_path,
    )


LOCK_SUFFIX = "-writer-lock"  # the marker collection of ServerLock
NEXT = "-next"  # suffix of the collections a rebuild fills before they replace the old ones


def _finish_rebuild(client, chunk_name: str, sentence_name: str) -> None:
    """A rebuild that died after dropping the old collections left only the new ones: name them."""
    names = {getattr(c, "name", c) for c in client.list_collections()}
    if chunk_name not in names and chunk_name + NEXT in names:
        if sentence_name in names:
            client.delete_collection(sentence_name)
        for name in (chunk_name, sentence_name):
            if name + NEXT in names:
                client.get_collection(name + NEXT, embedding_function=None).modify(name=name)


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
