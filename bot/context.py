"""What the model reads: the retrieved passages cut down to their best sentences, within a
token budget.

On 2 CPU cores the model reads a prompt at 40-70 tokens/s, so every retrieved sentence it
reads costs the user about half a second before the first word. The passages are therefore
not pasted whole: their sentences are ranked by how well they match the question (cosine of
the sentence's stored vector to the question, plus half the share of the question's content
words it holds, each word weighted by its rarity among the candidate sentences — the same
score the extractive answer uses), duplicates dropped, and the best
ones kept, in article order, until `Settings.context_tokens` is spent. A passage keeps its
number, title and date; left-out text shows as "…".
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .evidence import Sentence, passage_sentences, prompt_text, without_images
from .retrieval import Passage
from .terms import content_terms

CHARS_PER_TOKEN = 4.0  # English news text in the Qwen and Llama tokenizers: 4.2-4.6


def estimate_tokens(text: str) -> int:
    return int(len(text) / CHARS_PER_TOKEN) + 1


@dataclass(frozen=True)
class Context:
    passages: list[Passage]  # the passages the model sees, numbered [1]..[n] in this order
    text: str                # the numbered passage block of the prompt


def rank_sentences(queries: list[str], passages: list[Passage], q_vecs,
                   vectors) -> list[tuple[float, Sentence]]:
    """Every citable sentence of `passages` (three words or more) with its score, best
    first: its best score over `queries` (the question, and for a follow-up the question
    joined with the earlier one), with `q_vecs` their vectors. `vectors(sentences)` returns
    one unit vector per sentence."""
    sentences = [s for s in passage_sentences(passages) if len(s.text.split()) >= 3]
    if not sentences:
        return []
    cosines = np.asarray(vectors(sentences), dtype=np.float32) @ np.asarray(
        q_vecs, dtype=np.float32).T  # sentences x queries
    # Word overlap weighted by how rare a word is among these sentences: "vetoed" says more
    # than "NATO" or "Ukraine", which half the candidates share.
    terms_of = [s.terms for s in sentences]
    df = Counter(t for terms in terms_of for t in terms)
    idf = lambda t: math.log(1 + len(sentences) / df.get(t, 1))  # noqa: E731
    q_terms = [content_terms(q) for q in queries]
    q_weight = [sum(idf(t) for t in terms) or 1.0 for terms in q_terms]
    scored = []
    for row, s, terms in zip(cosines, sentences, terms_of):
        scored.append((max(float(c) + 0.5 * sum(idf(t) for t in qt & terms) / w
                           for c, qt, w in zip(row, q_terms, q_weight)), s))
    scored.sort(key=lambda x: -x[0])
    return scored


def _header(n: int, p: Passage) -> str:
    return f"[{n}] {p.title}" + (f" ({p.date})" if p.date else "")


def build_context(ranked: list[tuple[float, Sentence]], passages: list[Passage],
                  budget: int) -> Context:
    """The best sentences within `budget` tokens (headers included), grouped by passage in
    retrieval order; a passage none of whose sentences made it is left out."""
    chosen: dict[int, list[Sentence]] = {}
    seen: set[str] = set()
    spent = 0
    for _, s in ranked:
        key = " ".join(s.text.lower().split())
        if key in seen:
            continue
        cost = estimate_tokens(without_images(s.text)) + (
            0 if s.passage in chosen else estimate_tokens(_header(0, passages[s.passage])) + 2)
        if spent + cost > budget:
            if spent:
                continue  # a shorter sentence further down may still fit
            # Even the best sentence alone is over budget: it is still given.
        seen.add(key)
        chosen.setdefault(s.passage, []).append(s)
        spent += cost
    kept = [i for i in range(len(passages)) if i in chosen]
    blocks = []
    for n, i in enumerate(kept, 1):
        parts, last_end = [], None
        for s in sorted(chosen[i], key=lambda s: s.start):
            if (last_end is None and s.start > 0) or (last_end is not None and
                                                       passages[i].text[last_end:s.start].strip()):
                parts.append("…")
            parts.append(without_images(s.text))
            last_end = s.end
        if passages[i].text[last_end:].strip():
            parts.append("…")
        blocks.append(f"{_header(n, passages[i])}\n" + " ".join(parts))
    return Context([passages[i] for i in kept], "\n\n".join(blocks))


def whole_passages(passages: list[Passage]) -> Context:
    """Every passage in full (`PARTNERBOT_CONTEXT_TOKENS=0`)."""
    return Context(passages, "\n\n".join(f"{_header(n, p)}\n{prompt_text(p)}"
                                         for n, p in enumerate(passages, 1)))
