"""Sentences of retrieved passages, and which of them support a question or a claim.

Every quote Partnerbot shows is one of these sentences: `passage.text[start:end]`, found in
the chunk retrieved for this turn, never assembled across chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.text import sentence_spans

from .retrieval import Passage
from .terms import content_terms, numbers_in

@dataclass(frozen=True)
class Sentence:
    passage: int  # index into the passage list of this turn
    start: int    # offsets within the passage's chunk text
    end: int
    text: str

    @property
    def terms(self) -> set[str]:
        return content_terms(self.text)


def passage_sentences(passages: list[Passage]) -> list[Sentence]:
    out = []
    for i, p in enumerate(passages):
        for s, e in sentence_spans(p.text):
            out.append(Sentence(i, s, e, p.text[s:e]))
    return out


def support(claim: str, question: str, sentence: Sentence) -> float:
    """How well `sentence` backs `claim` (an answer sentence) given `question`.

    Shared content words with the claim count double, numbers triple; words shared only with
    the question count once. Zero means the sentence says nothing the claim says.
    """
    s_terms = sentence.terms
    claim_terms = content_terms(claim)
    shared = claim_terms & s_terms
    if not shared:
        return 0.0
    nums = numbers_in(claim) & numbers_in(sentence.text)
    return 2.0 * len(shared) + 1.0 * len(nums) + 1.0 * len(content_terms(question) & s_terms)
