"""Turn a model's reply into verified, sentence-precise citations.

The model is asked to copy its evidence first (`Evidence [n]: <sentence>`), then answer
(`Answer: ... [n]`). Nothing it says is trusted as is:

* each copied evidence sentence must be found among the sentences of the passages retrieved
  for this turn, with no word replaced or added that the question or answer is about (a small
  model "copies" a sentence and swaps the country in it); the real sentence, not the copy,
  becomes the quote;
* evidence was given but none of it is real -> no quotes at all (the caller abstains);
* each answer sentence is backed by the verified evidence sentence that shares most with it
  (or, when the model gave no evidence lines, by the best sentence of the passage its `[n]`
  names; failing both, by the retrieved sentence that best supports it, above a threshold);
  when another sentence the model was shown says more of what the claim says, that one is
  cited; a sentence stating a number its backing does not contain, whose backing is about another
  country than the question's, or that nothing backs, is dropped; markers are renumbered to
  the quotes.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from difflib import SequenceMatcher

from ingest.text import sentence_spans

from .evidence import Sentence, passage_sentences, support, without_images
from .terms import WORD as WORD_RE, content_terms, numbers_in, term_list
from .retrieval import Passage
from .subjects import Substitution, substituted_subject

MARKER = re.compile(r"\s*\[(?:passages?\s*)?(\d+(?:\s*[,;]\s*(?:passages?\s*)?\d+)*)\]", re.IGNORECASE)
_MIN_UNMARKED_SUPPORT = 5.0  # at least two shared content words plus a question word


@dataclass(frozen=True)
class Resolved:
    text: str
    quotes: list[Sentence]  # quotes[i] backs citation number i + 1
    wrong_subject: Substitution | None = None  # why a claim was dropped, for the reader


def _markers(sentence: str) -> list[int]:
    found = []
    for group in MARKER.findall(sentence):
        found.extend(int(n) for n in re.findall(r"\d+", group))
    return found


_EVIDENCE = re.compile(r"^\s*evidence\s*(?:\[(?:passages?\s*)?(\d+)\])?\s*:", re.IGNORECASE | re.MULTILINE)
_ANSWER = re.compile(r"^\s*answer\s*:\s*", re.IGNORECASE | re.MULTILINE)


def split_reply(reply: str) -> tuple[list[tuple[int | None, str]], str | None]:
    """(evidence blocks, answer text) of an evidence-first reply. An evidence block runs to the
    next `Evidence`/`Answer` line and may span lines (models copy a passage's header and
    text). The answer is None while it has not started; a reply that does not follow the
    format is all answer."""
    head = reply.lstrip()[:8].lower()
    if not ("evidence".startswith(head) or head.startswith("evidence")):
        return [], reply
    m = _ANSWER.search(reply)
    evidence_part = reply[:m.start()] if m else reply
    marks = list(_EVIDENCE.finditer(evidence_part))
    evidence = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(evidence_part)
        text = evidence_part[mark.end():end].strip().strip('"“”')
        evidence.append((int(mark[1]) if mark[1] else None, text))
    return evidence, (reply[m.end():] if m else None)


MAX_INSERTED_WORDS = 2


def verify_quote(quote: str, hint: int | None, sentences: list[Sentence],
                 claimed: set[str] = frozenset()) -> Sentence | None:
    """The retrieved sentence `quote` was copied from, or None if the copy is not faithful.

    The copy is aligned word by word (content words) with the retrieved sentence that holds
    most of its words. Left-out words are fine (a partial copy is still a copy), and so are up
    to two words slipped inside the copied span ("President Biden and [Swedish] Prime
    Minister"). Words the copy puts in place of the source's, or adds around it ("A survey
    found that ..."), are tolerated only while they say nothing the question or the answer
    (`claimed`) is about: "[New Zealand] contributed $12 million" copied from "the ROK
    contributed $12 million", for a question about New Zealand, is rejected.
    Words moved within the sentence (a clause put first or last) count as copied.
    Among equally close sentences, the one in passage `hint` (1-based) wins.
    """
    q_terms = term_list(quote)
    if len(q_terms) < 2:
        return None
    q_set = set(q_terms)
    best, best_key = None, None
    for s in sentences:
        terms = s.terms
        shared = len(q_set & terms)
        key = (shared / len(q_set), shared / len(terms | q_set), s.passage + 1 == hint)
        if best_key is None or key > best_key:
            best, best_key = s, key
    if best is None:
        return None
    source = term_list(best.text)
    ops = SequenceMatcher(None, source, q_terms, autojunk=False).get_opcodes()
    equal = [k for k, op in enumerate(ops) if op[0] == "equal"]
    if not equal:
        return None
    # Words the copy moved ("... to NATO in November 2022" from "In November 2022, ...") are
    # not additions: each may be used as often as the source sentence has it.
    spare = Counter(source)
    for op, i1, i2, _, _ in ops:
        if op == "equal":
            spare.subtract(source[i1:i2])
    inside, added = 0, set()
    for k, (op, _, _, j1, j2) in enumerate(ops):
        if op not in ("insert", "replace"):
            continue
        new = []
        for term in q_terms[j1:j2]:
            if spare[term] > 0:
                spare[term] -= 1
            else:
                new.append(term)
        if op == "insert" and equal[0] < k < equal[-1]:
            inside += len(new)
        else:
            added.update(new)
    if inside > MAX_INSERTED_WORDS or added & claimed:
        return None
    return best


_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_TAG = re.compile(r"</?[A-Za-z!][^>]*>")
_URL = re.compile(r"(?:\b(?:https?|ftp|file|javascript|data|vbscript):|\bwww\.)\S*", re.IGNORECASE)


def plain_text(text: str) -> str:
    """Answer text with no images, links, HTML or URLs: a model's reply never makes the
    reader's browser fetch or open anything (a source's link is in its citation)."""
    text = without_images(text)
    text = _LINK.sub(r"\1", text)
    text = _TAG.sub("", text)
    text = _URL.sub("", text)
    return re.sub(r"[ \t]{2,}", " ", text)


def resolve(reply: str, question: str, passages: list[Passage]) -> Resolved:
    """The answer with renumbered markers, and the quote behind each number."""
    sentences = passage_sentences(passages)
    evidence_lines, answer = split_reply(reply)
    if answer is not None:
        answer = plain_text(answer)
    claimed = content_terms(question) | content_terms(answer or "")
    evidence: list[Sentence] = []
    for n, line in evidence_lines:
        # Models often copy several sentences on one line, with the prompt's "…" between.
        for piece in re.split(r"\s*(?:…|\.\.\.)\s*", line):
            for a, b in sentence_spans(piece):
                found = verify_quote(piece[a:b], n, sentences, claimed)
                if found is not None and found not in evidence:
                    evidence.append(found)
    if evidence_lines and not evidence:
        return Resolved(text="", quotes=[])
    reply = answer or ""
    by_passage: dict[int, list[Sentence]] = {}
    for s in sentences:
        by_passage.setdefault(s.passage, []).append(s)
    kept: list[tuple[str, list[Sentence]]] = []
    wrong_subject = None
    for s, e in sentence_spans(reply):
        claim_with_markers = reply[s:e]
        claim = MARKER.sub("", claim_with_markers).strip()
        if not claim:
            continue
        backing = _covering(claim, question, evidence) if evidence else \
            _backing_from_markers(claim, question, _markers(claim_with_markers), by_passage)
        if not backing:
            backing = _best_backing(claim, question, sentences)
        elif better := _better_quote(claim, question, backing, sentences):
            # The model copied one sentence and answered from another it was shown ("the
            # so-called Israeli model" is not in its evidence line): cite the one that says it.
            backing = _covering(claim, question, backing + [better])
        backing = _with_its_numbers(claim, question, backing, sentences, passages)
        if not backing:
            continue
        # The right topic about the wrong country ("the ROK contributed $12 million" for a
        # question about New Zealand) is not an answer.
        substitution = substituted_subject(question, backing, passages)
        if substitution is None:
            kept.append((claim, backing))
        else:
            wrong_subject = wrong_subject or substitution

    quotes: list[Sentence] = []
    parts: list[str] = []
    for claim, backing in kept:
        numbers = []
        for q in backing:
            if q not in quotes:
                quotes.append(q)
            numbers.append(quotes.index(q) + 1)
        if echoes(claim, question):
            # "Which part of the IMS ...?" answered "The IMS": the claim only repeats the
            # question; its backing sentence says what the model failed to pick out.
            parts.append(" ".join(f"“{without_images(quotes[n - 1].text).strip()}” [{n}]"
                                  for n in numbers))
        else:
            parts.append(_with_markers(claim, numbers))
    return Resolved(text=" ".join(parts), quotes=quotes, wrong_subject=wrong_subject)


def _with_its_numbers(claim: str, question: str, backing: list[Sentence],
                      sentences: list[Sentence], passages: list[Passage]) -> list[Sentence]:
    """`backing`, once every number the claim states is in it (or in a backing sentence's
    article date, or in the question); empty when a number is from nowhere.

    A number the model took from another sentence it was shown ("... and joined in 2023"
    while quoting only the sentence about applying) is repaired by citing that sentence too,
    if it shares a word with the claim besides the number; then only the sentences still
    needed are kept."""
    def dated(sentence: Sentence) -> set[str]:
        return numbers_in(sentence.text) | numbers_in(passages[sentence.passage].date or "")

    def unbacked(sources: list[Sentence]) -> set[str]:
        return numbers_in(claim) - set().union(numbers_in(question), *map(dated, sources))

    missing = unbacked(backing) if backing else set()
    if not missing:
        return backing
    words = content_terms(claim) - numbers_in(claim)
    backing = list(backing)
    for number in sorted(missing):
        holders = [c for c in sentences if number in dated(c) and c not in backing
                   and words & c.terms]
        if holders:
            backing.append(max(holders, key=lambda c: support(claim, question, c)))
    if unbacked(backing):
        return []
    covering = _covering(claim, question, backing)
    return covering if not unbacked(covering) else backing


def _acronyms(text: str) -> set[str]:
    """Initials of the capitalised names in `text` ("International Military Staff" -> "ims"),
    small words inside a name skipped."""
    out = set()
    for name in re.findall(r"[A-Z][\w’'-]*(?:\s+(?:(?:of|and|for|the)\s+)*[A-Z][\w’'-]*)+", text):
        out.add("".join(w[0] for w in name.split() if w[0].isupper()).lower())
    return out


def echoes(claim: str, question: str) -> bool:
    """True when the claim says nothing the question does not: each of its words and numbers
    is one of the question's, or the initials of a name in it."""
    said = content_terms(claim) | numbers_in(claim)
    return bool(said) and not (said - content_terms(question) - _acronyms(question))


def _covering(claim: str, question: str, candidates: list[Sentence]) -> list[Sentence]:
    """The candidate that backs the claim best, then each other that adds a word or number
    of the claim the ones before it lack (an answer combining two articles cites both)."""
    ranked = sorted(candidates, key=lambda c: support(claim, question, c), reverse=True)
    if not ranked or support(claim, question, ranked[0]) <= 0:
        return []
    claim_terms = content_terms(claim) | numbers_in(claim)
    backing, covered = [ranked[0]], ranked[0].terms | numbers_in(ranked[0].text)
    for other in ranked[1:]:
        adds = (claim_terms & (other.terms | numbers_in(other.text))) - covered
        if adds:
            backing.append(other)
            covered |= other.terms | numbers_in(other.text)
    return backing


def _better_quote(claim: str, question: str, backing: list[Sentence],
                  sentences: list[Sentence]) -> Sentence | None:
    """A shown sentence holding at least two, and most, of the claim's own words (those the
    question does not already give) that `backing` lacks, or None."""
    covered = set().union(*(b.terms for b in backing))
    lacking = content_terms(claim) - content_terms(question) - covered
    if len(lacking) < 2:
        return None
    best = max((s for s in sentences if s not in backing),
               key=lambda s: len(lacking & s.terms), default=None)
    if best is None:
        return None
    found = len(lacking & best.terms)
    return best if found >= 2 and 2 * found >= len(lacking) else None


def _backing_from_markers(claim: str, question: str, markers: list[int],
                          by_passage: dict[int, list[Sentence]]) -> list[Sentence]:
    """For a reply without evidence lines: the best sentence of each passage its `[n]` names."""
    backing: list[Sentence] = []
    for n in markers:
        best = max(by_passage.get(n - 1, []), key=lambda c: support(claim, question, c),
                   default=None)
        if best is not None and support(claim, question, best) > 0 and best not in backing:
            backing.append(best)
    return backing


def _best_backing(claim: str, question: str, sentences: list[Sentence]) -> list[Sentence]:
    """Last resort for a claim whose evidence or marker did not back it: the retrieved
    sentence that supports it best, if it shares enough with the claim and the question."""
    best = max(sentences, key=lambda c: support(claim, question, c), default=None)
    if best is not None and support(claim, question, best) >= _MIN_UNMARKED_SUPPORT:
        return [best]
    return []


def _with_markers(claim: str, numbers: list[int]) -> str:
    """`claim` with `[n]` markers placed before its closing punctuation."""
    if not numbers:
        return claim
    markers = " " + "".join(f"[{n}]" for n in numbers)
    end = re.search(r"[.!?…]*[\"'”’)]*$", claim).start()
    return claim[:end].rstrip() + markers + claim[end:]


def grounding_vocabulary(question: str, passages: list[Passage]) -> set[str]:
    """Words an answer being streamed may show before its sentence is checked: those of the
    question and of the passages' citable sentences (lower-cased, stemmed)."""
    words = content_terms(question)
    for s in passage_sentences(passages):
        words |= s.terms
    return words


def grounded_prefix(sentence: str, vocabulary: set[str]) -> str:
    """The start of an unfinished answer sentence up to its first word that is not in
    `vocabulary` (stop words pass), without markers, links or a half-typed last word."""
    text = plain_text(MARKER.sub("", sentence.split("[")[0] if sentence.count("[") >
                                 sentence.count("]") else sentence))
    text = text.lstrip()
    end = 0
    for m in WORD_RE.finditer(text):
        if m.end() == len(text):
            break  # the word may still be growing
        if term_list(m.group()) and term_list(m.group())[0] not in vocabulary:
            break
        end = m.end()
    return text[:end].rstrip(" ,;:–—-(")
