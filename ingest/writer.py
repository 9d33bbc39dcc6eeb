"""The writer: chunks prepared documents, embeds them in batches (chunk vectors and one
vector per sentence, by the configured strategy) and writes them to the store: sentences,
then chunks, then the versions they replace (see `ingest.pipeline` on crash safety)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .article import Article
from .chunking import chunk_article, embedding_text
from .records import (
    MIN_SENTENCE_WORDS,
    chunk_id,
    date_number,
    indexed_sentences,
    page_fields,
    sentence_id,
)
from .report import IngestReport
from .settings import Settings
from .text import sentence_spans


@lru_cache(maxsize=1)
def _language_identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> str | None:
    """ISO 639-1 code when py3langid is confident (its model ships inside the package)."""
    try:
        lang, prob = _language_identifier().classify(text[:3000])
    except Exception:  # noqa: BLE001 - detection is best effort, never a failure
        return None
    return lang if prob >= 0.7 else None


@dataclass
class _Pending:
    article: Article
    chunks: list
    stale: list[str]  # doc hashes of this document's other versions, deleted after the write
    doc_hash: str


class Writer:
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
