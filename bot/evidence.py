"""Sentences of retrieved passages, and which of them support a question or a claim.

Every quote Partnerbot shows is one of these sentences: `passage.text[start:end]`, found in
the chunk retrieved for this turn, never assembled across chunks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.text import sentence_spans

from .retrieval import Passage
from .terms import content_terms, numbers_in


@dataclass(frozen=True)
class Sentence:
    passage: int  # index into the passage list of this turn
    start: int  # offsets within the passage's chunk text
    end: int
    text: str

    @property
    def terms(self) -> set[str]:
        return content_terms(self.text)


# Text in an article that addresses the assistant rather than the reader ("ignore previous
# instructions and ...") is an injection attempt, not evidence: it is neither shown to the
# model nor citable. A heuristic first line of defence; the second is that nothing the model
# writes is shown unless a real sentence backs it, with links and images removed.
_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.!?\n]{0,40}\b(?:instructions?|prompts?|rules(?!-based)|"
    r"guidelines|directions|context)\b|"
    r"\b(?:ignore|disregard|forget)\s+(?:all|everything)\s+(?:of\s+)?(?:the\s+)?(?:above|"
    r"said above|you were told|(?:previous|prior|earlier)\s+\w+)|\bfrom now on,? (?:you|reply|answer|respond)\b|"
    # the same in French, German, Spanish, Italian, Portuguese
    r"\b(?:ignore[zr]?|ignoriere|ignora[rn]?|vergiss|olvida|oublie[zr]?)\b[^.!?\n]{0,40}"
    r"\b(?:instructions?|consignes|anweisungen|instrucciones|istruzioni|instru[cç][õo]es)\b|\b(?:new|updated) instructions\b|\bsystem prompt\b|"
    r"\byou are (?:now )?(?:an? )?(?:ai|assistant|chatbot|language model)\b|"
    r"\b(?:assistant|chatbot|AI|language model)s?\s*[,:]\s*(?:please )?(?:reply|respond|answer|say|"
    r"output|print|write)\b",
    re.IGNORECASE,
)
_MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")


def addresses_the_assistant(text: str) -> bool:
    return _INSTRUCTION.search(text) is not None


def passage_sentences(passages: list[Passage]) -> list[Sentence]:
    """The citable sentences of this turn's passages (instruction-like ones left out)."""
    out = []
    for i, p in enumerate(passages):
        for s, e in sentence_spans(p.text):
            if not addresses_the_assistant(p.text[s:e]):
                out.append(Sentence(i, s, e, p.text[s:e]))
    return out


def without_images(text: str) -> str:
    return _MARKDOWN_IMAGE.sub("", text)


def support(
    claim: str, question: str, sentence: Sentence, dated: frozenset[str] = frozenset()
) -> float:
    """How well `sentence` backs `claim` (an answer sentence) given `question`; `dated` are
    the numbers of its article's date ("26 February 2024" backs "2024-02-26").

    Shared content words with the claim count double, numbers triple; words shared only with
    the question count once. Zero means the sentence says nothing the claim says.
    """
    s_terms = sentence.terms | dated
    claim_terms = content_terms(claim)
    shared = claim_terms & s_terms
    # numbers compared as numbers: "6 [5]" is backed by "six national party leaders"
    nums = numbers_in(claim) & numbers_in(sentence.text)
    if not shared and not nums:
        return 0.0
    return 2.0 * len(shared) + 1.0 * len(nums) + 1.0 * len(content_terms(question) & s_terms)
