"""Sentences of retrieved passages, and which of them support a question or a claim.

Every quote Partnerbot shows is one of these sentences: `passage.text[start:end]`, found in
the chunk retrieved for this turn, never assembled across chunks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.text import sentence_spans

from .retrieval import Passage

_STOP = set("""
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for from
further had has have having he her here hers herself him himself his how i if in into is it its
itself just me more most my myself no nor not now of off on once only or other our ours
ourselves out over own same she should so some such than that the their theirs them themselves
then there these they this those through to too under until up very was we were what when
where which while who whom why will with would you your yours yourself yourselves according
said say says did does many much what's whose within per via upon among
""".split())

_WORD = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+(?:['’-][^\W\d_]+)*")


def _stem(word: str) -> str:
    word = word.replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    for suffix in ("ies", "es", "s"):
        if len(word) > 4 and word.endswith(suffix) and not word.endswith("ss"):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def content_terms(text: str) -> set[str]:
    """Lower-cased, lightly stemmed words of `text`, without stop words."""
    return {_stem(w) for w in (m.lower() for m in _WORD.findall(text)) if w not in _STOP}


def numbers_in(text: str) -> set[str]:
    return {m.replace(",", "") for m in re.findall(r"\d+(?:[.,]\d+)*", text)}


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
