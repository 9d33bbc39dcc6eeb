"""Find the chunks that may answer a question: three searches fused, then time-aware reranking.

1. dense search over chunk vectors (title + chunk text),
2. dense search over sentence vectors, each chunk scored by its best sentence (a one-sentence
   answer is not diluted by the rest of its chunk),
3. BM25 over chunk text and title (names and acronyms such as ITPP or ICI, where dense
   vectors are weakest), built in memory from the store and rebuilt when the store changes.

The rankings are fused by reciprocal rank (k=10: a chunk at the top of one or two rankings
beats one that is middling in all of them; measured better than the usual 60 on the dev
questions and on 130 generated ones); when the question names a time, a fourth ranking of the
candidates by date fit joins the fusion (see `dates.py`), and a question naming a year also
runs the searches again among the chunks dated in that year (`_year_rankings`). Follow-ups
pass several queries; each search keeps a chunk's best score over them.
"""

from __future__ import annotations

import calendar
import re
import threading
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlparse

import numpy as np

from ingest.records import date_number, indexed_sentences, page_breaks, sentence_id

from .dates import TimeHint, time_ranking, years_in
from .terms import term_list

RRF_K = 10


@dataclass(frozen=True)
class Passage:
    """One retrieved chunk with its article's metadata and where it sits in the article."""

    id: str
    text: str
    title: str
    date: str | None
    url: str | None
    source: str
    start: int
    end: int
    score: float
    page: int | None = None  # PDF page the chunk starts on
    page_breaks: tuple[int, ...] = ()  # offsets in `text` where later pages begin

    def page_at(self, offset: int) -> int | None:
        """The PDF page of a character offset within this passage's text."""
        if self.page is None:
            return None
        return self.page + sum(1 for b in self.page_breaks if b <= offset)


def site_of(url: str | None) -> str:
    """The site a document comes from (`nato.int`), or "local files" for one without a URL."""
    host = urlparse(url or "").hostname or ""
    return host.removeprefix("www.") or "local files"


@dataclass(frozen=True)
class Filters:
    """Limits a search to documents dated within [`since`, `until`] (ISO dates, either may
    be None; an undated document never matches a date limit) and from `sites` (see `site_of`;
    empty: any site)."""

    since: str | None = None
    until: str | None = None
    sites: tuple[str, ...] = ()

    @classmethod
    def parse(cls, since: str | None = None, until: str | None = None, sites=()) -> "Filters":
        """From what a user types: `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (a year or month
        means its first day as `since`, its last day as `until`). ValueError names the field."""
        return cls(
            _bound("since", since, first=True),
            _bound("until", until, first=False),
            tuple(sorted(set(sites or ()))),
        )

    def __bool__(self) -> bool:
        return bool(self.since or self.until or self.sites)

    def describe(self) -> str:
        parts = [
            f"from {self.since}" if self.since else "",
            f"to {self.until}" if self.until else "",
            "sources: " + ", ".join(self.sites) if self.sites else "",
        ]
        return ", ".join(p for p in parts if p)

    def where(self) -> dict | None:
        """The date part as a Chroma metadata filter (dates are stored as yyyymmdd numbers)."""
        if not (self.since or self.until):
            return None
        # undated documents are stored as 0: "until" alone must not let them through
        parts = [{"date_num": {"$gte": date_number(self.since) if self.since else 1}}]
        if self.until:
            parts.append({"date_num": {"$lte": date_number(self.until)}})
        return parts[0] if len(parts) == 1 else {"$and": parts}


def _bound(field: str, value: str | None, first: bool) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", value)
    try:
        if not m:
            raise ValueError
        year, month, day = int(m[1]), m[2] and int(m[2]), m[3] and int(m[3])
        month = month or (1 if first else 12)
        day = day or (1 if first else calendar.monthrange(year, month)[1])
        return date(year, month, day).isoformat()
    except ValueError:
        raise ValueError(
            f"{field}: {value!r} is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)"
        ) from None


class _Lexical:
    """BM25 (bm25s) over every chunk of the store, for one store generation."""

    def __init__(self, ids: list[str], texts: list[str]):
        import bm25s

        vocab: dict[str, int] = {}
        corpus = [[vocab.setdefault(t, len(vocab)) for t in term_list(text)] for text in texts]
        self.ids = ids
        self.vocab = vocab
        self.index = bm25s.BM25()
        if ids:
            self.index.index(
                bm25s.tokenization.Tokenized(ids=corpus, vocab=vocab), show_progress=False
            )

    def mask(self, allowed: frozenset[str]) -> np.ndarray:
        """1 for the chunks in `allowed`, 0 for the others, in index order."""
        return np.fromiter((i in allowed for i in self.ids), dtype=np.float32, count=len(self.ids))

    def search(self, queries: list[str], n: int, mask: np.ndarray | None = None) -> list[str]:
        """Top `n` chunk ids for any of `queries` (only where `mask`, if given, is 1)."""
        if not self.ids:
            return []
        best = np.zeros(len(self.ids), dtype=np.float32)
        for q in queries:
            tokens = [t for t in term_list(q) if t in self.vocab]
            if tokens:
                best = np.maximum(best, self.index.get_scores(tokens))
        if mask is not None:
            best *= mask
        n = min(n, len(self.ids))
        top = np.argpartition(-best, n - 1)[:n]
        return [self.ids[i] for i in sorted(top, key=lambda i: -best[i]) if best[i] > 0]


_HEADING = re.compile(r"^#{1,6} [^\n]{1,200}$", re.MULTILINE)
MAX_CACHED_FILTERS = 8  # id sets kept per store generation, one per filter


class Retriever:
    def __init__(self, store, embedder, candidates: int = 20):
        self.store = store
        self.embedder = embedder
        self.candidates = candidates
        # What is cached per store generation (see `_refresh`).
        self._generation: int | None = None
        self._counts = (0, 0)  # chunks, sentences
        self._lexical: _Lexical | None = None
        self._allowed: dict[Filters, frozenset[str]] = {}
        self._derived: dict[tuple[str, Filters], object] = {}  # sorted ids, BM25 masks
        self._articles: dict[str, str] = {}  # source -> whole text
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        """Drop what was cached for an older store generation. Chroma counts a collection by
        scanning it (17 ms per query at 20,000 chunks, ten times that at 200,000), so the
        counts are read once per generation, like the BM25 index and the filters' id sets."""
        generation = self.store.generation()
        with self._lock:
            if generation != self._generation:
                self._counts = self.store.counts()
                self._lexical = None
                self._allowed = {}
                self._derived = {}
                self._articles = {}
                self._generation = generation

    def count(self) -> int:
        self._refresh()
        return self._counts[0]

    def lexical(self) -> _Lexical:
        self._refresh()
        return self._lexical_index()

    def _lexical_index(self) -> _Lexical:
        with self._lock:
            if self._lexical is None:
                ids, texts = [], []
                for cid, meta, doc in self.store.chunk_records(documents=True):
                    ids.append(cid)
                    texts.append(f"{meta.get('title', '')}\n{doc}")
                self._lexical = _Lexical(ids, texts)
            return self._lexical

    def article_text(self, source: str) -> str:
        """The whole stored text of the article `source` (its chunks in order), cached per
        store generation."""
        self._refresh()
        with self._lock:
            if source not in self._articles:
                if len(self._articles) >= 256:
                    self._articles.clear()
                records = sorted(
                    self.store.chunk_records({"source": source}, documents=True),
                    key=lambda r: int(r[1].get("start", 0)),
                )
                self._articles[source] = "\n".join(doc for _, _, doc in records)
            return self._articles[source]

    def heading_of(self, passage: Passage) -> str:
        """The heading of the article section `passage` starts in ("### Libya intervention"),
        or "": a chunk from inside a section is about what its heading names."""
        own = _HEADING.match(passage.text.lstrip())
        if own:  # the chunk opens its section
            return own.group().strip("# ").strip()
        text = self.article_text(passage.source) if passage.source else ""
        at = text.find(passage.text[:200])
        if at <= 0:
            return ""
        headings = _HEADING.findall(text, 0, at)
        return headings[-1].strip("# ").strip() if headings else ""

    def sites(self) -> list[str]:
        """Every site the stored documents come from (see `site_of`), sorted."""
        return sorted({site_of(d.url) for d in self.store.documents()})

    def allowed(self, filters: Filters) -> frozenset[str]:
        """Ids of the chunks `filters` lets through, cached per store generation."""
        self._refresh()
        return self._allowed_ids(filters)

    def _allowed_ids(self, filters: Filters) -> frozenset[str]:
        with self._lock:
            if filters in self._allowed:  # the most recently used last
                self._allowed[filters] = self._allowed.pop(filters)
            else:
                if len(self._allowed) >= MAX_CACHED_FILTERS:  # the least recently used goes
                    oldest = next(iter(self._allowed))
                    del self._allowed[oldest]
                    for key in [k for k in self._derived if k[1] == oldest]:
                        del self._derived[key]
                sites = set(filters.sites)
                self._allowed[filters] = frozenset(
                    cid
                    for cid, meta, _ in self.store.chunk_records(filters.where())
                    if not sites or site_of(meta.get("url")) in sites
                )
            return self._allowed[filters]

    def _derive(self, kind: str, filters: Filters, make):
        """What a search under `filters` computes from the allowed ids, once per generation."""
        key = (kind, filters)
        with self._lock:
            if key in self._derived:
                return self._derived[key]
            made = make()
            if filters in self._allowed:  # kept only while its filter is (see `_allowed_ids`)
                self._derived[key] = made
            return made

    def _dense(
        self,
        vectors: list[list[float]],
        n: int,
        allowed: frozenset[str] | None = None,
        filters: Filters | None = None,
    ) -> list[str]:
        """Top `n` chunks by vector; with `allowed` (the ids `filters` lets through) among those."""
        if allowed is None:
            return _best_first(*self.store.nearest_chunks(vectors, n))
        # A filter that lets a good share of the chunks through: search deeper without it and
        # keep the allowed. When every query keeps `n`, they are the filtered search's top n;
        # otherwise Chroma is given every allowed id (cost grows with their number).
        total = max(1, self._counts[0])
        depth = min(total, max(2 * n, -(-2 * n * total // max(1, len(allowed)))))
        if depth <= 10 * n:
            found, distances = self.store.nearest_chunks(vectors, depth)
            kept = [
                [(c, d) for c, d in zip(ids, dists) if c in allowed][:n]
                for ids, dists in zip(found, distances)
            ]
            if all(len(row) == n for row in kept):
                return _best_first(
                    [[c for c, _ in row] for row in kept], [[d for _, d in row] for row in kept]
                )
        ids = self._derive("sorted", filters or Filters(), lambda: sorted(allowed))
        return _best_first(*self.store.nearest_chunks(vectors, n, ids=ids))

    def _by_sentence(
        self, vectors: list[list[float]], n: int, allowed: frozenset[str] | None = None
    ) -> list[str]:
        # Sentences carry no metadata: a filtered search looks deeper and keeps the allowed.
        depth = n if allowed is None else min(10 * n, max(1, self._counts[1]))
        chunk_ids, distances = self.store.nearest_sentences(vectors, depth)
        if allowed is not None:
            kept = [
                [(c, d) for c, d in zip(ids, dists) if c in allowed]
                for ids, dists in zip(chunk_ids, distances)
            ]
            chunk_ids = [[c for c, _ in row] for row in kept]
            return _best_first(chunk_ids, [[d for _, d in row] for row in kept])
        return _best_first(chunk_ids, distances)

    def _year_rankings(
        self,
        queries: list[str],
        vectors: list[list[float]],
        n: int,
        n_sentences: int,
        hint: TimeHint | None,
        filters: Filters | None,
        found: list[str],
    ) -> list[list[str]]:
        """The searches again, among the chunks dated in the years the question names, unless
        `found` (the plain search's best chunk ids) already speaks of them.

        The plain rankings can miss every chunk of the asked-about year (a 2026 summit's fact
        sheet behind four years of summit articles), and the time ranking only reorders what
        they found. Only the question as written (`queries[0]`) counts: a year taken over from
        an earlier turn (which the follow-up's other queries repeat) or from another part of
        the question searches nothing, it only votes through the time ranking. Years apart
        ("2014 and 2022") search nothing either: their range would hold the years between."""
        if not (hint and hint.years and queries):
            return []
        years = hint.years & years_in(queries[0])
        if not years or max(years) - min(years) + 1 > len(years):
            return []
        if self._names_a_year(found, years):
            return []
        base = filters or Filters()
        in_years = Filters(
            max(base.since or "", f"{min(years)}-01-01"),
            min(base.until or "9999", f"{max(years)}-12-31"),
            base.sites,
        )
        if in_years == base or (in_years.since or "") > (in_years.until or ""):
            return []  # the user's own limit already, or no day left inside both
        allowed = self._allowed_ids(in_years)
        if not allowed:
            return []
        return self._rankings(queries, vectors, n, n_sentences, allowed, in_years)

    def _names_a_year(self, found: list[str], years: frozenset[int] | set[int]) -> bool:
        """Whether one of the chunks `found` names, or is dated in, one of `years`. An article
        reporting a year may be dated later, or not at all (a commentary on 2008 published in
        2023, the Wikipedia article): searching among the chunks dated in that year would
        push it out."""
        return any(
            str(y) in doc or str(meta.get("date") or "").startswith(str(y))
            for doc, meta in self.store.chunk_texts(found).values()
            for y in years
        )

    def _rankings(
        self,
        queries: list[str],
        vectors: list[list[float]],
        n: int,
        n_sentences: int,
        allowed: frozenset[str] | None,
        filters: Filters | None,
    ) -> list[list[str]]:
        """The three searches (chunk vectors, sentence vectors, BM25), among `allowed` (the
        ids `filters` lets through) when given."""
        lexical = self._lexical_index()
        mask = (
            self._derive("mask", filters, lambda: lexical.mask(allowed))
            if filters and allowed is not None
            else None
        )
        return [
            self._dense(vectors, n, allowed, filters),
            self._by_sentence(vectors, n_sentences, allowed),
            lexical.search(queries, n, mask),
        ]

    def sentence_vectors(self, passages: list[Passage], sentences) -> list[list[float]]:
        """The stored vector of each sentence (`bot.evidence.Sentence`) of `passages`; a
        sentence the store holds no vector for (too short to index) is encoded now."""
        where = {}
        for i, p in enumerate(passages):
            for j, span in enumerate(indexed_sentences(p.text)):
                where[(i, *span)] = sentence_id(p.id, j)
        wanted = [where.get((s.passage, s.start, s.end)) for s in sentences]
        ids = sorted({w for w in wanted if w})
        stored = self.store.sentence_embeddings(ids)
        missing = [s.text for s, w in zip(sentences, wanted) if w not in stored]
        fresh = iter(self.embedder.embed_documents(missing) if missing else [])
        return [stored[w] if w in stored else next(fresh) for w in wanted]

    def search(
        self,
        queries: list[str],
        k: int,
        hint: TimeHint | None = None,
        vectors: list[list[float]] | None = None,
        filters: Filters | None = None,
    ) -> list[Passage]:
        """Top `k` chunks for any of `queries` (`vectors`: their embeddings, if already
        computed) among those `filters` allow, best first."""
        self._refresh()
        allowed = self._allowed_ids(filters) if filters else None
        total = self._counts[0] if allowed is None else len(allowed)
        if not queries or total == 0:
            return []
        n = min(self.candidates, total)
        vectors = vectors if vectors is not None else self.embedder.embed_documents(queries)
        n_sentences = min(3 * n, max(1, self._counts[1]))
        rankings = self._rankings(queries, vectors, n, n_sentences, allowed, filters)
        plain = _fuse(rankings)
        found = sorted(plain, key=lambda c: plain[c], reverse=True)[:k]
        in_year = self._year_rankings(queries, vectors, n, n_sentences, hint, filters, found)
        fused = _fuse(rankings + in_year) if in_year else plain
        order = sorted(fused, key=lambda c: fused[c], reverse=True)
        records = self.store.chunk_texts(order)
        order = [cid for cid in order if cid in records]
        if hint:
            dates = {cid: int(records[cid][1].get("date_num") or 0) for cid in order}
            fused = _fuse(rankings + in_year + [time_ranking(order, dates, hint)])
            order = sorted(order, key=lambda c: fused[c], reverse=True)
        passages = []
        for cid in order[:k]:
            doc, meta = records[cid]
            passages.append(
                Passage(
                    id=cid,
                    text=doc,
                    title=meta.get("title", ""),
                    date=meta.get("date"),
                    url=meta.get("url"),
                    source=meta.get("source", ""),
                    start=int(meta.get("start", 0)),
                    end=int(meta.get("end", len(doc))),
                    score=fused[cid],
                    page=int(meta["page"]) if meta.get("page") else None,
                    page_breaks=page_breaks(meta),
                )
            )
        return passages


def _fuse(rankings: list[list[str]]) -> dict[str, float]:
    """Reciprocal-rank fusion: each ranking gives an id 1 / (RRF_K + its rank)."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, cid in enumerate(ranking):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank)
    return fused


def _best_first(id_lists: list[list[str]], distance_lists: list[list[float]]) -> list[str]:
    """Merge per-query result lists: each id keeps its smallest distance."""
    best: dict[str, float] = {}
    for ids, dists in zip(id_lists, distance_lists):
        for cid, dist in zip(ids, dists):
            if cid not in best or dist < best[cid]:
                best[cid] = dist
    return sorted(best, key=lambda c: best[c])
