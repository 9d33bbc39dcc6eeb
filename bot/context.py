"""What the model reads: the retrieved passages cut down to their best sentences, within a
token budget.

On 2 CPU cores the model reads a prompt at 40-70 tokens/s, so every retrieved sentence it
reads costs the user about half a second before the first word. The passages are therefore
not pasted whole: their sentences are ranked by how well they match the question (cosine of
the sentence's stored vector to the question, plus half the share of the question's content
words it holds, each word weighted by its rarity among the candidate sentences — the same
score the extractive answer uses), duplicates dropped, and the best
ones kept until `Settings.context_tokens` is spent. Each is shown numbered, `[n]`, under its
article's title, date and site: the model cites those numbers, and a quote is always the
numbered sentence itself.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from itertools import zip_longest
from typing import TypeVar

import numpy as np

from .dates import spoken_or_empty
from .evidence import Sentence, addresses_the_assistant, passage_sentences, without_images
from .retrieval import Passage, site_of
from .terms import content_terms

T = TypeVar("T")
CHARS_PER_TOKEN = 4.0  # English news text in the Qwen and Llama tokenizers: 4.2-4.6


def estimate_tokens(text: str) -> int:
    return int(len(text) / CHARS_PER_TOKEN) + 1


@dataclass(frozen=True)
class Context:
    """What the model reads: numbered sentences under their article's header.

    `sentences[n - 1]` is the sentence the model sees as `[n]`; its `passage` indexes
    `passages`."""

    passages: list[Passage]
    sentences: list[Sentence]
    text: str


def rank_sentences(
    queries: list[str], passages: list[Passage], q_vecs, vectors
) -> list[tuple[float, Sentence]]:
    """Every citable sentence of `passages` (three words or more) with its score, best
    first: its best score over `queries` (the question, and for a follow-up the question
    joined with the earlier one), with `q_vecs` their vectors. `vectors(sentences)` returns
    one unit vector per sentence."""
    sentences = [s for s in passage_sentences(passages) if len(s.text.split()) >= 3]
    if not sentences:
        return []
    cosines = (
        np.asarray(vectors(sentences), dtype=np.float32) @ np.asarray(q_vecs, dtype=np.float32).T
    )  # sentences x queries
    # Word overlap weighted by how rare a word is among these sentences: "vetoed" says more
    # than "NATO" or "Ukraine", which half the candidates share.
    terms_of = [s.terms for s in sentences]
    df = Counter(t for terms in terms_of for t in terms)
    idf = lambda t: math.log(1 + len(sentences) / df.get(t, 1))  # noqa: E731
    q_terms = [content_terms(q) for q in queries]
    q_weight = [sum(idf(t) for t in terms) or 1.0 for terms in q_terms]
    scored = []
    for row, s, terms in zip(cosines, sentences, terms_of):
        scored.append(
            (
                max(
                    float(c) + 0.5 * sum(idf(t) for t in qt & terms) / w
                    for c, qt, w in zip(row, q_terms, q_weight)
                ),
                s,
            )
        )
    scored.sort(key=lambda x: -x[0])
    return scored


def interleave(rankings: list[list[tuple[float, T]]]) -> list[tuple[float, T]]:
    """Several rankings merged by taking turns (each item once, where it first comes): the
    parts of a multi-part question each get their best."""
    out, seen = [], set()
    for row in zip_longest(*rankings):
        for entry in row:
            if entry is not None and entry[1] not in seen:
                seen.add(entry[1])
                out.append(entry)
    return out


def _header(p: Passage) -> str:
    """An article's header: title, date and site (the publisher a question may name)."""
    about = ", ".join(x for x in (p.date, site_of(p.url) if p.url else None) if x)
    title = "(title withheld)" if addresses_the_assistant(p.title) else p.title
    return f"Article: {title}" + (f" ({about})" if about else "")


# "Today, I am honored to welcome Sweden as NATO's 32nd Ally": the day is the article's. A
# small model answers "when" with the nearest written date instead ("in May 2022, Sweden
# applied"), so the date is written beside the word in what the model reads (never in the
# quote, which stays the article's sentence).
_DAY_WORDS = r"(?:today|tonight)(?:['’]s)?|this (?:morning|afternoon|evening)"
_SAME_DAY = re.compile(rf"\b({_DAY_WORDS})\b", re.IGNORECASE)


def dated(sentence: str, iso: str | None) -> str:
    """`sentence` with its first "today" (tonight, this morning...) followed by the article's
    date in parentheses: "Today (7 March 2024), I am honored...", "Today's (13 July 2021)
    meeting"."""
    day = spoken_or_empty(iso)
    if not day:
        return sentence
    return _SAME_DAY.sub(lambda m: f"{m.group(1)} ({day})", sentence, count=1)


_DATED = re.compile(rf"\b({_DAY_WORDS}) \(\d{{1,2}} [A-Za-z]+ \d{{4}}\)", re.IGNORECASE)


def undated(text: str) -> str:
    """`text` without the dates `dated` wrote in: the sentences as their articles say them."""
    return _DATED.sub(r"\1", text)


def _render(passages: list[Passage], chosen: dict[int, list[Sentence]]) -> Context:
    """The chosen sentences numbered [1]..[n] under their article's header: articles in
    retrieval order, sentences in article order (chunks of one article share a header);
    passages with none chosen are left out."""
    kept = [i for i in range(len(passages)) if chosen.get(i)]
    renumber = {i: new for new, i in enumerate(kept)}
    articles: dict[str, list[int]] = {}
    for i in kept:
        articles.setdefault(passages[i].source or passages[i].id, []).append(i)
    blocks, numbered = [], []
    for members in articles.values():
        lines = [_header(passages[members[0]])]
        in_article = sorted(
            ((passages[i].start + s.start, i, s) for i in members for s in chosen[i]),
            key=lambda x: x[:2],
        )
        for _, i, s in in_article:
            numbered.append(Sentence(renumber[i], s.start, s.end, s.text))
            lines.append(f"[{len(numbered)}] {dated(without_images(s.text), passages[i].date)}")
        blocks.append("\n".join(lines))
    return Context([passages[i] for i in kept], numbered, "\n\n".join(blocks))


def build_context(
    ranked: list[tuple[float, Sentence]], passages: list[Passage], budget: int
) -> Context:
    """The best sentences within `budget` tokens (headers included)."""
    chosen: dict[int, list[Sentence]] = {}
    seen: set[str] = set()
    spent = 0
    for _, s in ranked:
        key = " ".join(s.text.lower().split())
        if key in seen:
            continue
        cost = (
            estimate_tokens(without_images(s.text))
            + 2
            + (0 if s.passage in chosen else estimate_tokens(_header(passages[s.passage])) + 2)
        )
        if spent + cost > budget:
            if spent:
                continue  # a shorter sentence further down may still fit
            # Even the best sentence alone is over budget: it is still given.
        seen.add(key)
        chosen.setdefault(s.passage, []).append(s)
        spent += cost
    return _render(passages, chosen)


def whole_passages(passages: list[Passage]) -> Context:
    """Every citable sentence of every passage (`PARTNERBOT_CONTEXT_TOKENS=0`)."""
    chosen: dict[int, list[Sentence]] = {}
    for s in passage_sentences(passages):
        chosen.setdefault(s.passage, []).append(s)
    return _render(passages, chosen)
