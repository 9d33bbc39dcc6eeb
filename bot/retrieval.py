"""Find the chunks that may answer a question: dense search over the Chroma store."""

from __future__ import annotations

from dataclasses import dataclass


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


class Retriever:
    def __init__(self, collection, embedder):
        self.collection = collection
        self.embedder = embedder

    def count(self) -> int:
        return self.collection.count()

    def search(self, queries: list[str], k: int) -> list[Passage]:
        """Top `k` chunks for any of `queries` (a chunk scores its best similarity)."""
        if not queries or self.collection.count() == 0:
            return []
        vectors = self.embedder.embed_documents(queries)
        res = self.collection.query(query_embeddings=vectors, n_results=k,
                                    include=["documents", "metadatas", "distances"])
        best: dict[str, Passage] = {}
        for ids, docs, metas, dists in zip(res["ids"], res["documents"], res["metadatas"],
                                           res["distances"]):
            for cid, doc, meta, dist in zip(ids, docs, metas, dists):
                score = 1.0 - float(dist)
                if cid in best and best[cid].score >= score:
                    continue
                best[cid] = Passage(id=cid, text=doc, title=meta.get("title", ""),
                                    date=meta.get("date"), url=meta.get("url"),
                                    source=meta.get("source", ""), start=int(meta.get("start", 0)),
                                    end=int(meta.get("end", len(doc))), score=score)
        return sorted(best.values(), key=lambda p: p.score, reverse=True)[:k]
