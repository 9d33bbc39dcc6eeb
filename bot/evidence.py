"""Sentences of retrieved passages, and which of them support a question or a claim.

Every quote Partnerbot shows is one of these sentences: `passage.text[start:end]`, found in
the chunk retrieved for this turn, never assembled across chunks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.text import sentence_spans

from .dates import MONTH_NAMES
from .retrieval import Passage
from .terms import STOP_WORDS, WORD, stem, content_terms, numbers_in, term_list

@dataclass(frozen=True)
class Sentence:
    passage: int  # index into the passage list of this turn
    start: int    # offsets within the passage's chunk text
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
    r"\b(?:ignore|disregard|forget|override)\b[^.!?\n]{0,40}\b(?:instructions?|prompts?|rules|"
    r"guidelines|directions|context)\b|\b(?:new|updated) instructions\b|\bsystem prompt\b|"
    r"\byou are (?:now )?(?:an? )?(?:ai|assistant|chatbot|language model)\b|"
    r"\b(?:assistant|chatbot|AI|language model)s?\s*[,:]\s*(?:please )?(?:reply|respond|answer|say|"
    r"output|print|write)\b", re.IGNORECASE)
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


def prompt_text(passage: Passage) -> str:
    """The passage as the model sees it: without instruction-like sentences or images."""
    return without_images(" ".join(s.text for s in passage_sentences([passage])))


def support(claim: str, question: str, sentence: Sentence,
            dated: frozenset[str] = frozenset()) -> float:
    """How well `sentence` backs `claim` (an answer sentence) given `question`; `dated` are
    the numbers of its article's date ("26 February 2024" backs "2024-02-26").

    Shared content words with the claim count double, numbers triple; words shared only with
    the question count once. Zero means the sentence says nothing the claim says.
    """
    s_terms = sentence.terms | dated
    claim_terms = content_terms(claim)
    shared = claim_terms & s_terms
    if not shared:
        return 0.0
    nums = numbers_in(claim) & numbers_in(sentence.text)
    return 2.0 * len(shared) + 1.0 * len(nums) + 1.0 * len(content_terms(question) & s_terms)


def key_terms(question: str) -> list[str]:
    """What a question is about and a passage must mention: its numbers and capitalised words
    (names, places, programmes), the first word excepted."""
    out: list[str] = []
    for i, word in enumerate(WORD.findall(question)):
        lw = word.lower()
        if lw in STOP_WORDS or lw in (o.lower() for o in out):
            continue
        if word[0].isdigit() or (i > 0 and word[0].isupper() and len(word) > 1):  # not "U.S."
            out.append(word)
    return out


def uncovered_terms(question: str, passages: list[Passage]) -> list[str]:
    """Key terms of the question that no retrieved passage (text, title or date) mentions.

    A word matches a passage word that shares its stem or a prefix of all but its last three
    letters (at least four: "Swedish" matches "Sweden"); numbers must match exactly. A question
    about Kuwait cannot be answered from passages that never name Kuwait.
    """
    have: set[str] = set()
    for p in passages:
        have.update(term_list(f"{p.title} {p.text}"))
        if p.date:
            year, month, _ = p.date.split("-")
            have.update((year, MONTH_NAMES[int(month) - 1]))
    prefixes = {w[:n] for w in have for n in range(4, len(w) + 1)}
    missing = []
    for term in key_terms(question):
        root = stem(term.lower())
        if term[0].isdigit():
            found = root in have
        else:
            found = root in have or root[: max(4, len(root) - 3)] in prefixes
        if not found:
            if missing and f"{missing[-1]} {term}" in question:  # "New Zealand" as one name
                missing[-1] = f"{missing[-1]} {term}"
            else:
                missing.append(term)
    return missing
