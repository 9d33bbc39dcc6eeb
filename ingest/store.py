"""Open the Chroma collection that holds the chunks, stamped with how it was built.

The collection records the embedding model and the chunking that built it; opening it with
different settings refuses instead of mixing incompatible vectors.
"""

from __future__ import annotations

from pathlib import Path

from .chunking import CHUNKER_VERSION
from .errors import StoreMismatchError
from .settings import Settings, get_settings


def _stamp(settings: Settings) -> dict[str, str | int]:
    return {
        "embedding_model": settings.embedding_model,
        "chunker": CHUNKER_VERSION,
        "chunk_tokens": settings.chunk_tokens,
    }


def open_collection(store: str | Path | None = None, settings: Settings | None = None,
                    create: bool = True):
    """The chunk collection of the persistent store at `store` (default: settings.store)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = settings or get_settings()
    path = Path(store) if store is not None else settings.store
    path.mkdir(parents=True, exist_ok=True)
    client = chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False))
    stamp = _stamp(settings)
    if create:
        collection = client.get_or_create_collection(
            settings.collection, embedding_function=None, metadata=stamp,
            configuration={"hnsw": {"space": "cosine"}})
    else:
        collection = client.get_collection(settings.collection, embedding_function=None)
    found = {k: (collection.metadata or {}).get(k) for k in stamp}
    if found != stamp:
        raise StoreMismatchError(
            f"the store at {path} was built with {found}, but the settings ask for {stamp}; "
            f"re-ingest into a new --store directory (or delete {path}) to rebuild it")
    return collection
