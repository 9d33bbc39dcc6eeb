"""`ingest_paths`: files, folders, URLs and feeds in; chunks in Chroma out, each document once.

A document's identity (`doc_key`) is its source: the resolved file path, `path#record` for a
JSON Lines record, the URL of a page, the link of a feed item. Its content hash decides what
happens: unchanged -> skipped before any embedding; changed -> its old chunks are replaced;
the same content already stored under another identity -> reported as a duplicate.

Crash safety: chunk ids derive from the content hash, so rewriting is idempotent. For each batch
the sentences are written first, then the chunks (each carries `n_chunks`), then the replaced
versions are deleted. A document counts as stored only when all `n_chunks` of its chunks are
there, so a run killed at any point is completed by running it again: partial versions are
rewritten, leftover old versions removed.
A bad input is reported and skipped; the rest of the batch goes on.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable

from .article import Article
from .discovery import iter_documents
from .fetch import is_url
from .records import page_breaks
from .report import Failure, IngestReport
from .sandbox import too_long
from .settings import Settings, get_settings
from .store import NEXT, open_store
from .writer import Writer, detect_language


@dataclass(frozen=True)
class Overrides:
    """Metadata given on the command line for a single document."""

    title: str | None = None
    date: str | None = None
    url: str | None = None


Progress = Callable[[str, str, "IngestReport"], None]


LOOKUP_BATCH = 64  # documents whose stored versions are read with one query


def _versions(store, doc_keys: list[str]) -> dict[str, dict[str, bool]]:
    """Each document's stored versions: doc key -> {doc hash: whether all its chunks are
    there}. One query for the lot: a per-document query made an unchanged re-run slow."""
    counts: dict[str, dict[str, list[int]]] = {k: {} for k in doc_keys}
    keys = sorted(set(doc_keys))
    where = {"doc_key": keys[0]} if len(keys) == 1 else {"doc_key": {"$in": keys}}
    for _, meta, _ in store.chunk_records(where):
        entry = counts[meta["doc_key"]].setdefault(
            meta["doc_hash"], [0, int(meta.get("n_chunks", 0))]
        )
        entry[0] += 1
    return {k: {h: n >= expected for h, (n, expected) in c.items()} for k, c in counts.items()}


def _stored_elsewhere(store, content_hash: str, doc_key: str) -> bool:
    holder = store.key_holding(content_hash)
    return holder is not None and holder != doc_key


def ingest_paths(
    inputs: Iterable[str | Path],
    store: str | Path | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
    *,
    include: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    overrides: Overrides | None = None,
    prune: bool = False,
    db=None,
) -> IngestReport:
    """Ingest files, folders, URLs and feeds; returns counts of what happened to each document.

    `db` is an already open writable Store (the web app's); otherwise the store is opened with
    the writer lock (StoreBusyError if another process writes to it) and closed at the end.
    `progress(label, outcome, report)` is called once per document, if given.
    """
    settings = settings or get_settings()
    report = IngestReport()
    own = db is None
    db = db or open_store(store, settings, write=True)
    try:
        writer = Writer(db, settings, report)
        seen_hashes: set[str] = set()
        batch: list[tuple[str, Article]] = []

        def run_batch():
            if overrides:
                batch[:] = [
                    (label, replace(a, **{k: v for k, v in vars(overrides).items() if v}))
                    for label, a in batch
                ]
            versions = _versions(db, [a.key for _, a in batch])
            for label, article in batch:
                outcome = _ingest_one(
                    db, writer, article, versions[article.key], settings, seen_hashes, report
                )
                if progress:
                    progress(label, outcome, report)
            batch.clear()

        try:
            for item in iter_documents(inputs, report, settings, include, exclude):
                batch.append(item)
                if len(batch) >= LOOKUP_BATCH:
                    run_batch()
            if batch:
                run_batch()
            writer.flush()
        except Exception as exc:
            if not _disk_full(exc):
                raise
            # Keep the report of what went before; a re-run completes the rest (see above).
            report.failed.append(
                Failure(
                    db.location,
                    "the disk is full; what was written "
                    "before stays. Free space, then run the same ingest "
                    "again to add the rest",
                )
            )
            return report
        if prune:
            report.removed += prune_missing(db)
            db.touch()
    finally:
        if own:
            db.close()
    return report


def _disk_full(exc: BaseException | None) -> bool:
    """ENOSPC, however the store's layers wrap it (SQLite says "database or disk is full")."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return True
        text = str(exc).lower()
        if "disk is full" in text or "no space left" in text:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _ingest_one(
    db,
    writer: Writer,
    article: Article,
    versions: dict[str, bool],
    settings: Settings,
    seen_hashes: set[str],
    report: IngestReport,
) -> str:
    where = article.key or article.source
    if len(article.text) > settings.max_doc_chars:
        report.failed.append(Failure(where, too_long(len(article.text), settings.max_doc_chars)))
        return "failed"
    h = article.content_hash
    others = [v for v in versions if v != h]
    if versions.get(h):
        for old in others:  # left behind by an interrupted update
            db.remove_version(article.key, old)
        report.unchanged += 1
        return "unchanged"
    if h in seen_hashes or _stored_elsewhere(db, h, article.key):
        for old in others:
            db.remove_version(article.key, old)
        report.duplicate += 1
        return "duplicate"
    seen_hashes.add(h)
    if article.language is None:  # only for what gets written: a re-run detects nothing
        article = replace(article, language=detect_language(article.text))
    report.chunks += writer.add(article, stale=others)
    if any(versions.get(v) for v in others):
        report.updated += 1
        return "updated"
    report.added += 1
    return "added"


def prune_missing(db) -> int:
    """Remove documents whose source file is gone; returns how many."""
    removed = 0
    for doc in db.documents():
        if not doc.key.startswith("/"):
            continue  # URLs and feed items have no file to check
        path = doc.key.split("#", 1)[0] if ".jsonl#" in doc.key else doc.key
        if not Path(path).exists():  # a file may have "#" in its name; only JSONL keys add one
            db.remove_version(doc.key, doc.doc_hash)
            removed += 1
    return removed


def remove_documents(
    keys: Iterable[str], store: str | Path | None = None, settings: Settings | None = None, db=None
) -> tuple[int, list[str]]:
    """Remove documents by identity (path, URL) or by their source name; returns
    (documents removed, keys that matched nothing)."""
    settings = settings or get_settings()
    own = db is None
    db = db or open_store(store, settings, write=True)
    try:
        stored = db.documents()
        removed, missing = 0, []
        for key in keys:
            wanted = {key} if is_url(key) else {key, str(Path(key).resolve())}
            hits = [
                d
                for d in stored
                if d.source == key or d.key in wanted or d.key.split("#", 1)[0] in wanted
            ]
            if not hits:
                missing.append(key)
            for d in hits:
                db.remove_version(d.key, d.doc_hash)
                removed += 1
        if removed:
            db.touch()
    finally:
        if own:
            db.close()
    return removed, missing


def rebuild_store(
    store: str | Path | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Re-chunk and re-embed every stored document with the current settings.

    The documents are rebuilt from the stored chunk texts (sources may be gone or offline),
    into new collections that replace the old ones only when complete.
    """
    settings = settings or get_settings()
    report = IngestReport()
    old = open_store(store, settings, write=True, check=False)
    try:
        articles = _stored_articles(old)
        names = (old.chunks.name + NEXT, old.sentences.name + NEXT)
        old.discard_collections(names)
        new = open_store(store, settings, names=names)
        writer = Writer(new, settings, report)
        for article, doc_hash in articles:
            report.chunks += writer.add(article, stale=[], doc_hash=doc_hash)
            report.added += 1
            if progress:
                progress(article.key, "rebuilt", report)
        writer.flush()
        for name, value in old.marks().items():  # e.g. which library version it holds
            new.set_mark(name, value)
        old.replace_with(new)
    finally:
        old.close()
    return report


def _stored_articles(db) -> list[tuple[Article, str]]:
    """Each stored document version's text, put back together from its chunks."""
    grouped: dict[tuple[str, str], list] = {}
    for _, meta, text in db.chunk_records(documents=True):
        grouped.setdefault((meta["doc_key"], meta["doc_hash"]), []).append((meta, text))
    out = []
    for (key, doc_hash), parts in grouped.items():
        parts.sort(key=lambda p: p[0].get("chunk_index", 0))
        text = ""
        page_starts: dict[int, int] = {}
        for meta, chunk_text in parts:
            start = int(meta.get("start", len(text)))
            if start > len(text):
                text += "\n" * (start - len(text))  # the gaps between chunks are whitespace
            if meta.get("page"):
                page_starts.setdefault(int(meta["page"]), start)
                for i, b in enumerate(page_breaks(meta)):
                    page_starts.setdefault(int(meta["page"]) + i + 1, start + b)
            text = text[:start] + chunk_text
        pages: list[int] = []
        for number in range(1, max(page_starts, default=0) + 1):
            pages.append(page_starts.get(number, pages[-1] if pages else 0))
        meta = parts[0][0]
        out.append(
            (
                Article(
                    text=text,
                    source=meta.get("source", ""),
                    title=meta.get("title", ""),
                    date=meta.get("date"),
                    url=meta.get("url"),
                    key=key,
                    language=meta.get("language"),
                    pages=tuple(pages),
                ),
                doc_hash,
            )
        )
    return out
