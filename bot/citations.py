"""Turn a model's `[n]`-marked reply into verified, sentence-precise citations.

The model only says which passage a sentence came from. Which sentence of that passage is
quoted is decided here, deterministically: the passage sentence that shares the most with
the claim. A marker that points nowhere, or at a passage that says nothing the claim says, is
dropped; a claim without a marker gets the passage sentence that best supports it, if any does;
a claim nothing backs is dropped from the answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.text import sentence_spans

from .evidence import Sentence, passage_sentences, support
from .terms import numbers_in
from .retrieval import Passage

MARKER = re.compile(r"\s*\[(?:passages?\s*)?(\d+(?:\s*[,;]\s*(?:passages?\s*)?\d+)*)\]", re.IGNORECASE)
_MIN_UNMARKED_SUPPORT = 5.0  # at least two shared content words plus a question word


@dataclass(frozen=True)
class Resolved:
    text: str
    quotes: list[Sentence]  # quotes[i] backs citation number i + 1


def _markers(sentence: str) -> list[int]:
    found = []
    for group in MARKER.findall(sentence):
        found.extend(int(n) for n in re.findall(r"\d+", group))
    return found


def resolve(reply: str, question: str, passages: list[Passage]) -> Resolved:
    """The reply with renumbered markers, and the quote behind each number."""
    sentences = passage_sentences(passages)
    by_passage: dict[int, list[Sentence]] = {}
    for s in sentences:
        by_passage.setdefault(s.passage, []).append(s)
    known_numbers = set().union(*(numbers_in(p.text) for p in passages), numbers_in(question)) \
        if passages else numbers_in(question)

    kept: list[tuple[str, list[Sentence]]] = []
    for s, e in sentence_spans(reply):
        claim_with_markers = reply[s:e]
        claim = MARKER.sub("", claim_with_markers).strip()
        if not claim:
            continue
        # A sentence stating a number no retrieved passage contains is not from the corpus.
        if numbers_in(claim) - known_numbers:
            continue
        backing: list[Sentence] = []
        for n in _markers(claim_with_markers):
            candidates = by_passage.get(n - 1, [])
            best = max(candidates, key=lambda c: support(claim, question, c), default=None)
            if best is not None and support(claim, question, best) > 0 and best not in backing:
                backing.append(best)
        if not backing and sentences:
            best = max(sentences, key=lambda c: support(claim, question, c))
            if support(claim, question, best) >= _MIN_UNMARKED_SUPPORT:
                backing.append(best)
        if backing:  # a claim no retrieved sentence backs is not shown
            kept.append((claim, backing))

    quotes: list[Sentence] = []
    parts: list[str] = []
    for claim, backing in kept:
        numbers = []
        for q in backing:
            if q not in quotes:
                quotes.append(q)
            numbers.append(quotes.index(q) + 1)
        parts.append(_with_markers(claim, numbers))
    return Resolved(text=" ".join(parts), quotes=quotes)


def _with_markers(claim: str, numbers: list[int]) -> str:
    """`claim` with `[n]` markers placed before its closing punctuation."""
    if not numbers:
        return claim
    markers = " " + "".join(f"[{n}]" for n in numbers)
    end = re.search(r"[.!?…]*[\"'”’)]*$", claim).start()
    return claim[:end].rstrip() + markers + claim[end:]


def renumber_partial(reply: str, n_passages: int) -> str:
    """Streaming view of a reply: markers renumbered by first appearance, bad ones hidden,
    and a marker still being typed held back."""
    order: dict[int, int] = {}

    def sub(m: re.Match) -> str:
        out = []
        for n in (int(x) for x in re.findall(r"\d+", m.group(1))):
            if 1 <= n <= n_passages:
                order.setdefault(n, len(order) + 1)
                out.append(f"[{order[n]}]")
        return (" " + "".join(out)) if out else ""

    cut = reply.rfind("[")
    if cut >= 0 and "]" not in reply[cut:]:
        reply = reply[:cut]
    return MARKER.sub(sub, reply).rstrip()
