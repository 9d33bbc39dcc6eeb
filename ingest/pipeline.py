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
import fnmatch
import os
import stat
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .chunking import chunk_article, embedding_text
from .errors import IngestError
from .fetch import is_url
from .loaders import SUPPORTED_SUFFIXES, Article
from .records import (
    MIN_SENTENCE_WORDS,
    chunk_id,
    date_number,
    indexed_sentences,
    page_breaks,
    page_fields,
    sentence_id,
)
from .sandbox import shared_sandbox, too_long
from .settings import Settings, get_settings
from .store import NEXT, open_store
from .text import sentence_spans


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
    removed: int = 0
    chunks: int = 0
    failed: list[Failure] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "duplicate": self.duplicate,
            "removed": self.removed,
            "chunks": self.chunks,
            "failed": [{"source": f.source, "reason": f.reason} for f in self.failed],
        }


@dataclass(frozen=True)
class Overrides:
    """Metadata given on the command line for a single document."""

    title: str | None = None
    date: str | None = None
    url: str | None = None


Progress = Callable[[str, str, "IngestReport"], None]


def _matches(rel: str, patterns: Iterable[str]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(name, p) for p in patterns)


IGNORE_FILE = ".partnerbotignore"


IGNORE_MAX_BYTES = 64_000


def ignored_patterns(root: Path) -> tuple[str, ...]:
    """The globs of `root/.partnerbotignore` (none when it is missing, not a regular file, or
    over 64 KB). `dir/` means everything under it; a leading `/` is the folder's root."""
    path = root / IGNORE_FILE
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > IGNORE_MAX_BYTES:
            return ()
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ()
    patterns = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = line.lstrip("/")
        patterns.append(line + "*" if line.endswith("/") else line)
    return tuple(patterns)


def iter_files(
    root: Path, include: tuple[str, ...] = (), exclude: tuple[str, ...] = ()
) -> list[Path]:
    """Supported files under `root`, recursive and sorted; hidden entries skipped; symlinked
    folders are not followed (no loops). Globs match the path relative to `root` or the name;
    a `.partnerbotignore` in `root` adds its lines (globs; `#` comments) to `exclude`."""
    exclude = (*exclude, *ignored_patterns(root))
    found = []
    for dirpath, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.startswith("."):
                continue
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            if include:
                if not _matches(rel, include):
                    continue
            elif not name.lower().endswith(SUPPORTED_SUFFIXES):
                continue
            if exclude and _matches(rel, exclude):
                continue
            found.append(full)
    return sorted(found)


def iter_documents(
    inputs: Iterable[str | Path],
    report: IngestReport,
    settings: Settings,
    include: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
) -> Iterator[tuple[str, Article]]:
    """(label, article) for every document behind `inputs`; failures go to `report`."""
    limit = int(settings.max_file_mb * 1e6)
    sandbox = shared_sandbox(settings.parse_memory_mb, settings.parse_seconds)

    def expand(label: str, load: Callable[[], list]) -> Iterator[tuple[str, Article]]:
        try:
            docs = load()
        except IngestError as exc:
            report.failed.append(Failure(exc.source, exc.reason))
            return
        for doc in docs:
            if isinstance(doc, IngestError):
                report.failed.append(Failure(doc.source, doc.reason))
            else:
                yield label, doc

    for raw in inputs:
        value = str(raw)
        if is_url(value):
            yield from expand(
                value,
                partial(
                    sandbox.load_url,
                    value,
                    settings.fetch_timeout,
                    limit,
                    settings.fetch_private,
                    settings.max_doc_chars,
                ),
            )
            continue
        path = Path(value)
        if path.is_dir():
            files = iter_files(path, include, exclude)
            if not files:
                report.failed.append(
                    Failure(
                        value, f"folder has no supported files ({', '.join(SUPPORTED_SUFFIXES)})"
                    )
                )
            for f in files:
                yield from expand(
                    str(f), partial(sandbox.load_file, f, limit, settings.max_doc_chars)
                )
        elif path.exists() or path.is_symlink():
            yield from expand(
                value, partial(sandbox.load_file, path, limit, settings.max_doc_chars)
            )
        else:
            report.failed.append(Failure(value, "no such file, folder or URL"))


_identifier = None


def detect_language(text: str) -> str | None:
    """ISO 639-1 code when py3langid is confident (its model ships inside the package)."""
    global _identifier
    try:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        lang, prob = _identifier.classify(text[:3000])
    except Exception:  # noqa: BLE001 - detection is best effort, never a failure
        return None
    return lang if prob >= 0.7 else None


@dataclass
class _Pending:
    article: Article
    chunks: list
    stale: list[str]  # doc hashes of this document's other versions, deleted after the write
    doc_hash: str


class _Writer:
    """Buffers prepared documents and writes them in embedding-sized batches."""

    def __init__(self, store, settings: Settings, report: IngestReport):
        self.store = store
        self.settings = settings
        self.report = report
        self.pending: list[_Pending] = []
        self.pending_chunks = 0
        self._embedder = None

    @property
    def embedder(self):
        if self._embedder is None:  # an unchanged re-run never loads the model
            from .embedder import get_embedder

            self._embedder = get_embedder(self.settings)
        return self._embedder

    def add(self, article: Article, stale: list[str], doc_hash: str | None = None) -> int:
        chunks = chunk_article(
            article.text, article.title, self.settings.chunk_tokens, self.embedder.count_tokens
        )
        self.pending.append(_Pending(article, chunks, stale, doc_hash or article.content_hash))
        self.pending_chunks += len(chunks)
        if self.pending_chunks >= self.settings.ingest_batch:
            self.flush()
        return len(chunks)

    def _pooled(self):
        """Encode every sentence (and each title) once, alone; a chunk's vector is the
        token-weighted mean of its title's and its sentences' token states."""
        import numpy as np

        segments: list[str] = []
        plan = []  # per chunk: (title row or None, sentence rows, indexed sentence rows)
        for p in self.pending:
            title_row = None
            if p.article.title:
                title_row = len(segments)
                segments.append(p.article.title)
            for c in p.chunks:
                rows, indexed = [], []
                for s, e in sentence_spans(c.text):
                    rows.append(len(segments))
                    if len(c.text[s:e].split()) >= MIN_SENTENCE_WORDS:
                        indexed.append(len(segments))
                    segments.append(c.text[s:e])
                plan.append((title_row, rows, indexed))
        vecs, sums = self.embedder.embed_with_sums(segments)
        chunk_vecs, sentence_vecs = [], []
        for title_row, rows, indexed in plan:
            total = sums[rows].sum(0) + (sums[title_row] if title_row is not None else 0)
            chunk_vecs.append((total / max(np.linalg.norm(total), 1e-9)).tolist())
            sentence_vecs.append(vecs[indexed].tolist())
        return chunk_vecs, sentence_vecs

    def _chunk_passes(self):
        """Encode each chunk (title first); its sentences are pooled from that pass (`late`)
        or encoded again alone (`separate`)."""
        texts: list[str] = []
        spans: list[list[tuple[int, int]]] = []
        for p in self.pending:
            for c in p.chunks:
                text = embedding_text(p.article.title, c.text)
                shift = len(text) - len(c.text)
                texts.append(text)
                spans.append([(shift + s, shift + e) for s, e in indexed_sentences(c.text)])
        if self.settings.sentence_vectors == "late":
            return self.embedder.embed_with_spans(texts, spans)
        chunk_vecs = self.embedder.embed_documents(texts)
        flat = iter(
            self.embedder.embed_documents([t[s:e] for t, sp in zip(texts, spans) for s, e in sp])
        )
        return chunk_vecs, [[next(flat) for _ in sp] for sp in spans]

    def flush(self) -> None:
        if not self.pending:
            return
        if self.settings.sentence_vectors == "pooled":
            chunk_vecs, sentence_vecs = self._pooled()
        else:
            chunk_vecs, sentence_vecs = self._chunk_passes()

        c_ids: list[str] = []
        c_docs: list[str] = []
        c_metas: list[dict] = []
        s_ids: list[str] = []
        s_vecs: list = []
        i = 0
        for p in self.pending:
            a = p.article
            base = {
                "doc_key": a.key,
                "doc_hash": p.doc_hash,
                "source": a.source,
                "title": a.title,
                "date_num": date_number(a.date),
                "n_chunks": len(p.chunks),
            }
            base.update(
                {k: v for k, v in (("date", a.date), ("url", a.url), ("language", a.language)) if v}
            )
            for c in p.chunks:
                cid = chunk_id(p.doc_hash, c.index)
                meta = {
                    **base,
                    "chunk_index": c.index,
                    "start": c.start,
                    "end": c.end,
                    "n_sentences": len(sentence_vecs[i]),
                }
                meta.update(page_fields(a.pages, c.start, c.end))
                c_ids.append(cid)
                c_docs.append(c.text)
                c_metas.append(meta)
                s_ids.extend(sentence_id(cid, j) for j in range(len(sentence_vecs[i])))
                s_vecs.extend(sentence_vecs[i])
                i += 1
        # Sentences, then chunks (a document is stored once all its chunks are), then the
        # versions they replace: a crash anywhere leaves something a re-run completes.
        self.store.upsert(self.store.sentences, s_ids, s_vecs)
        self.store.upsert(self.store.chunks, c_ids, chunk_vecs, documents=c_docs, metadatas=c_metas)
        for p in self.pending:
            for old in p.stale:
                self.store.remove_version(p.article.key, old)
        self.store.touch()
        self.pending.clear()
        self.pending_chunks = 0


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
        writer = _Writer(db, settings, report)
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
    writer: _Writer,
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
        writer = _Writer(new, settings, report)
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
