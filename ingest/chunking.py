"""Split an article into chunks of whole sentences that fit the embedding model's window.

Each chunk is a contiguous span `text[start:end]` of the article, so a quote found in a chunk
can always be located in its article. The title is embedded with every chunk (it carries the
who/when that a chunk's sentences often leave implicit), so it counts against the budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .text import sentence_spans

CHUNKER_VERSION = "sentences-v1"


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int
    end: int
    text: str


def embedding_text(title: str, chunk_text: str) -> str:
    return f"{title}\n{chunk_text}" if title else chunk_text


def chunk_article(
    text: str, title: str, budget: int, count_tokens: Callable[[list[str]], list[int]]
) -> list[Chunk]:
    """Greedy packing of sentences into chunks of at most `budget` word pieces (title included).

    A sentence longer than the whole budget is cut at word boundaries; nothing is dropped.
    """
    title_cost = count_tokens([title])[0] + 1 if title else 0
    room = max(16, budget - title_cost)
    units = _units_within(text, sentence_spans(text), room, count_tokens)
    costs = count_tokens([text[s:e] for s, e in units])

    chunks: list[Chunk] = []
    cur_start: int | None = None
    cur_end = 0
    used = 0
    for (s, e), cost in zip(units, costs):
        if cur_start is not None and used + cost > room:
            chunks.append(Chunk(len(chunks), cur_start, cur_end, text[cur_start:cur_end]))
            cur_start = None
            used = 0
        if cur_start is None:
            cur_start = s
        cur_end = e
        used += cost + 1
    if cur_start is not None:
        chunks.append(Chunk(len(chunks), cur_start, cur_end, text[cur_start:cur_end]))
    return chunks


def _units_within(
    text: str,
    spans: list[tuple[int, int]],
    room: int,
    count_tokens: Callable[[list[str]], list[int]],
) -> list[tuple[int, int]]:
    """Sentences, with any sentence longer than `room` cut into word-boundary pieces."""
    costs = count_tokens([text[s:e] for s, e in spans])
    units: list[tuple[int, int]] = []
    for (s, e), cost in zip(spans, costs):
        if cost <= room:
            units.append((s, e))
            continue
        units.extend(_cut_long(text, s, e, room, count_tokens))
    return units


def _cut_long(
    text: str, start: int, end: int, room: int, count_tokens: Callable[[list[str]], list[int]]
) -> list[tuple[int, int]]:
    # Word boundaries of the span, then pieces grown word by word (costs counted per word).
    words: list[tuple[int, int]] = []
    i = start
    while i < end:
        while i < end and text[i].isspace():
            i += 1
        j = i
        while j < end and not text[j].isspace():
            j += 1
        if j > i:
            words.append((i, j))
        i = j
    costs = count_tokens([text[s:e] for s, e in words])
    pieces: list[tuple[int, int]] = []
    piece_start, used = None, 0
    last_end = start
    for (s, e), cost in zip(words, costs):
        cost = min(cost, room)  # a single absurd "word" still becomes its own piece
        if piece_start is not None and used + cost > room:
            pieces.append((piece_start, last_end))
            piece_start, used = None, 0
        if piece_start is None:
            piece_start = s
        last_end = e
        used += cost
    if piece_start is not None:
        pieces.append((piece_start, last_end))
    return pieces
