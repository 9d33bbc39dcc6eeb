"""Open the Chroma store: one collection of chunks and one of their sentences, stamped with how
they were built.

* `chunks`: one record per chunk (title + text embedded), with article metadata and offsets;
* `sentences`: one record per sentence of every chunk (the sentence alone embedded), pointing
  at its chunk: a question usually matches one sentence far better than a whole chunk.

The chunk collection records the embedding model and chunking that built the store; opening it
with different settings refuses instead of mixing incompatible vectors. Its `generation`
changes on every write, so readers can tell when a cached index (BM25) is stale.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .chunking import CHUNKER_VERSION
from .errors import StoreMismatchError
from .settings import Settings, get_settings

INDEX_VERSION = "chunks+sentences-v1"


def _stamp(settings: Settings) -> dict[str, str | int]:
    return {
        "embedding_model": settings.embedding_model,
        "chunker": CHUNKER_VERSION,
        "chunk_tokens": settings.chunk_tokens,
        "index": INDEX_VERSION,
    }


@dataclass
class Store:
    path: Path
    client: object
    chunks: object     # chromadb Collection
    sentences: object  # chromadb Collection
    stamp: dict

    def generation(self) -> int:
        """Changes whenever a writer has touched the store (cheap: one metadata read)."""
        fresh = self.client.get_collection(self.chunks.name, embedding_function=None)
        return int((fresh.metadata or {}).get("generation", 0))

    def touch(self) -> None:
        self.chunks.modify(metadata={**self.stamp, "generation": time.time_ns()})


def open_store(store: str | Path | None = None, settings: Settings | None = None) -> Store:
    """The persistent store at `store` (default: settings.store), created if missing."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = settings or get_settings()
    path = Path(store) if store is not None else settings.store
    path.mkdir(parents=True, exist_ok=True)
    client = chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False))
    stamp = _stamp(settings)
    # embedding_function=None: Chroma must never embed for us (its default model downloads).
    chunks = client.get_or_create_collection(
        settings.collection, embedding_function=None, metadata=stamp,
        configuration={"hnsw": {"space": "cosine"}})
    found = {k: (chunks.metadata or {}).get(k) for k in stamp}
    if found != stamp:
        raise StoreMismatchError(
            f"the store at {path} was built with {found}, but the settings ask for {stamp}; "
            f"ingest into a new --store directory (or delete {path}) to rebuild it")
    sentences = client.get_or_create_collection(
        f"{settings.collection}-sentences", embedding_function=None,
        configuration={"hnsw": {"space": "cosine"}})
    return Store(path=path, client=client, chunks=chunks, sentences=sentences, stamp=stamp)
