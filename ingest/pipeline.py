"""`ingest_paths`: files and folders in, chunks in Chroma out, each document stored once.

A document's identity is its resolved path; its content hash decides what happens:
unchanged -> skipped before any embedding; changed -> its old chunks are replaced;
the same content already stored under another path -> reported as a duplicate.
Chunk ids are derived from the content hash, so writing the same chunk twice is a no-op.
A bad file is reported and skipped; the rest of the batch goes on.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .chunking import chunk_article, embedding_text
from .text import sentence_spans
from .errors import IngestError
from .loaders import SUPPORTED_SUFFIXES, Article, load_file
from .settings import Settings, get_settings


@dataclass
class Failure:
    source: str
    reason: str


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicate: int = 0
    chunks: int = 0
    failed: list[Failure] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "duplicate": self.duplicate, "chunks": self.chunks,
                "failed": [{"source": f.source, "reason": f.reason} for f in self.failed]}


def iter_files(paths: Iterable[str | Path], report: IngestReport) -> Iterator[Path]:
    """Files named directly, and supported files under named folders (sorted, recursive)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = []
            for root, dirs, files in os.walk(path, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(Path(root) / f for f in files
                             if not f.startswith(".") and f.lower().endswith(SUPPORTED_SUFFIXES))
            if not found:
                report.failed.append(Failure(str(path), "folder has no .txt or .md files"))
            yield from sorted(found)
        elif path.exists():
            yield path
        else:
            report.failed.append(Failure(str(path), "no such file or folder"))


def _chunk_id(content_hash: str, index: int) -> str:
    return hashlib.sha256(f"{content_hash}:{index}".encode()).hexdigest()[:32]


MIN_SENTENCE_WORDS = 3  # bullets and bylines ("• |", "13 Jul. 2021 -") are not evidence


def indexed_sentences(chunk_text: str) -> list[tuple[int, int]]:
    """Offsets (within the chunk) of the sentences that get their own vector."""
    return [(s, e) for s, e in sentence_spans(chunk_text)
            if len(chunk_text[s:e].split()) >= MIN_SENTENCE_WORDS]


def _date_number(iso: str | None) -> int:
    return int(iso.replace("-", "")) if iso else 0


class _Writer:
    """Buffers prepared documents and writes them in embedding-sized batches."""

    def __init__(self, store, embedder, settings: Settings, report: IngestReport):
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.report = report
        self.pending: list[tuple[str, Article, bool, list]] = []
        self.pending_chunks = 0

    def add(self, doc_key: str, article: Article, replaces: bool) -> None:
        chunks = chunk_article(article.text, article.title, self.settings.chunk_tokens,
                               self.embedder.count_tokens)
        self.pending.append((doc_key, article, replaces, chunks))
        self.pending_chunks += len(chunks)
        if self.pending_chunks >= 64:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        # One embedding call for every chunk and sentence of the batch.
        texts: list[str] = []
        for _, article, _, chunks in self.pending:
            for c in chunks:
                texts.append(embedding_text(article.title, c.text))
                texts.extend(c.text[s:e] for s, e in indexed_sentences(c.text))
        vectors = iter(self.embedder.embed_documents(texts))
        for doc_key, article, replaces, chunks in self.pending:
            self._write(doc_key, article, replaces, chunks, vectors)
        self.store.touch()
        self.pending.clear()
        self.pending_chunks = 0

    def _write(self, doc_key: str, article: Article, replaces: bool, chunks: list, vectors) -> None:
        h = article.content_hash
        base = {"doc_key": doc_key, "doc_hash": h, "source": article.source,
                "title": article.title, "date_num": _date_number(article.date)}
        if article.date:
            base["date"] = article.date
        if article.url:
            base["url"] = article.url
        c_ids, c_docs, c_metas, c_vecs = [], [], [], []
        s_ids, s_metas, s_vecs = [], [], []
        for c in chunks:
            cid = _chunk_id(h, c.index)
            c_ids.append(cid)
            c_docs.append(c.text)
            c_metas.append({**base, "chunk_index": c.index, "n_chunks": len(chunks),
                            "start": c.start, "end": c.end})
            c_vecs.append(next(vectors))
            for j, (s, e) in enumerate(indexed_sentences(c.text)):
                s_ids.append(f"{cid}:{j}")
                s_metas.append({"doc_key": doc_key, "doc_hash": h, "chunk_id": cid,
                                "date_num": base["date_num"], "start": s, "end": e})
                s_vecs.append(next(vectors))
        # New records first, then drop the old version's: a crash in between leaves both
        # versions rather than neither.
        self.store.chunks.upsert(ids=c_ids, embeddings=c_vecs, documents=c_docs, metadatas=c_metas)
        if s_ids:
            self.store.sentences.upsert(ids=s_ids, embeddings=s_vecs, metadatas=s_metas)
        if replaces:
            stale = {"$and": [{"doc_key": doc_key}, {"doc_hash": {"$ne": h}}]}
            self.store.chunks.delete(where=stale)
            self.store.sentences.delete(where=stale)
            self.report.updated += 1
        else:
            self.report.added += 1
        self.report.chunks += len(chunks)


def ingest_paths(paths: Iterable[str | Path], store: str | Path | None = None,
                 settings: Settings | None = None,
                 progress: Callable[[str, str], None] | None = None) -> IngestReport:
    """Ingest files and folders into the store; returns counts of what happened to each.

    `progress(source, outcome)` is called once per document, if given.
    """
    from .embedder import get_embedder
    from .store import open_store

    settings = settings or get_settings()
    report = IngestReport()
    db = open_store(store, settings)
    collection = db.chunks
    embedder = get_embedder()
    writer = _Writer(db, embedder, settings, report)
    seen_hashes: dict[str, str] = {}

    for path in iter_files(paths, report):
        doc_key = str(path.resolve())
        outcome = "failed"
        try:
            article = load_file(path, source=path.name)
            h = article.content_hash
            existing = collection.get(where={"doc_key": doc_key}, include=["metadatas"], limit=1)
            stored_hash = existing["metadatas"][0]["doc_hash"] if existing["ids"] else None
            if stored_hash == h:
                outcome = "unchanged"
                report.unchanged += 1
            elif h in seen_hashes or _stored_elsewhere(collection, h, doc_key):
                outcome = "duplicate"
                report.duplicate += 1
            else:
                outcome = "updated" if stored_hash else "added"
                writer.add(doc_key, article, replaces=stored_hash is not None)
            seen_hashes.setdefault(h, doc_key)
        except IngestError as exc:
            report.failed.append(Failure(exc.source, exc.reason))
        if progress:
            progress(str(path), outcome)
    writer.flush()
    return report


def _stored_elsewhere(collection, content_hash: str, doc_key: str) -> bool:
    hit = collection.get(where={"doc_hash": content_hash}, include=["metadatas"], limit=1)
    return bool(hit["ids"]) and hit["metadatas"][0]["doc_key"] != doc_key
