"""Turn a model's reply into verified, sentence-precise citations.

The model reads numbered sentences (`[1]`..`[n]`, see `bot.context`) and ends each sentence
of its answer with the numbers of the sentences it comes from. Nothing it says is trusted as
is:

* a quote is always one of the numbered sentences, never text the model wrote;
* each answer sentence (a claim) must be backed by the sentences it cites: every number it
  states is in them (in digits or words, or in their article's date, or in the question), at
  least half of its own words (those the question does not give) are in them or their
  passage, and they are not about another country than the question's (`bot.subjects`);
* when the cited sentences do not back a claim, the next shown sentences that do are cited
  instead: a number the model took from another sentence it was shown, a near-identical
  sentence about the right country, a wrong or missing marker; a claim nothing backs is
  dropped, and the reason is kept for the reader;
* markers are renumbered to the quotes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.text import sentence_spans

from .context import Context
from .coverage import Coverage, Source
from .dates import MONTH_NAMES, YEAR, spoken_date, spoken_or_empty
from .evidence import Sentence, passage_sentences, support, without_images
from .retrieval import Passage
from .subjects import (
    Substitution,
    asked_countries,
    asks_for_a_country,
    countries_in,
    meant_countries,
    places_in,
    substituted_subject,
)
from .terms import WORD as WORD_RE
from .terms import content_terms, numbers_in, roots, term_list

MARKER = re.compile(
    r"\s*\[(?:passages?\s*)?(\d+(?:\s*[,;]\s*(?:passages?\s*)?\d+)*)\]", re.IGNORECASE
)
# A shown sentence the model did not cite backs a claim only if it shares at least two of
# its words and one of the question's.
_MIN_ALTERNATIVE_SUPPORT = 5.0
REFUSAL = re.compile(
    r"NOT IN SOURCES|\b(?:passages?|sources?|sentences?|context|text|articles?)s? (?:do|does) not "
    r"(?:state|mention|contain|provide|say|specify|include|give|answer)|\bno information\b|"
    r"\bI (?:do not|don't) know\b|\bcannot (?:be )?(?:determine|answer|find)|\bnot (?:stated|"
    r"mentioned|specified) in\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Resolved:
    text: str
    quotes: list[Sentence]  # quotes[i] backs citation number i + 1
    wrong_subject: Substitution | None = None  # why a claim was dropped, for the reader
    unsupported: int = 0  # claims dropped because nothing shown backs them
    declined: int = 0  # sentences in which the model said the sources do not answer


def _markers(sentence: str) -> list[int]:
    found: list[int] = []
    for group in MARKER.findall(sentence):
        found.extend(int(n) for n in re.findall(r"\d+", group))
    return found


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


def resolve(reply: str, question: str, context: Context) -> Resolved:
    """The answer with renumbered markers, and the quote behind each number."""
    shown, passages = context.sentences, context.passages
    # "It ended in April 2024. [3]": markers after the full stop belong to the sentence.
    reply = _TRAILING_MARKERS.sub(r"\2\1", plain_text(reply))
    if reply.strip() and not WORD_RE.search(MARKER.sub("", reply)):
        return _pointed(reply, question, shown, passages)
    kept: list[tuple[str, list[Sentence]]] = []
    wrong_subject, unsupported, declined = None, 0, 0
    for s, e in sentence_spans(reply):
        claim_with_markers = reply[s:e]
        claim = MARKER.sub("", claim_with_markers).strip()
        if not WORD_RE.search(claim):
            continue
        if repeats(claim, question) or _DANGLING.search(claim):
            # the model named nothing the question did not, or left the answer's slot
            # empty ("Japan hosted the conference in [3].")
            unsupported += 1
            continue
        if REFUSAL.search(claim):
            declined += 1  # "The sentences do not say when it ended."
            continue
        cited = [
            shown[n - 1]
            for n in dict.fromkeys(_markers(claim_with_markers))
            if 1 <= n <= len(shown)
        ]
        backing, substitution = _backing(claim, question, cited, shown, passages)
        if backing:
            kept.append((claim, backing))
        elif substitution is not None:
            wrong_subject = wrong_subject or substitution
        else:
            unsupported += 1

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
            parts.append(
                " ".join(f"“{plain_text(quotes[n - 1].text).strip()}” [{n}]" for n in numbers)
            )
        else:
            parts.append(_with_markers(_ISO_DATE.sub(_spoken, claim), numbers))
    return Resolved(
        text=" ".join(parts),
        quotes=quotes,
        wrong_subject=wrong_subject,
        unsupported=unsupported,
        declined=declined,
    )


_ISO_DATE = re.compile(r"\b((?:19|20)\d\d)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\b")


def _spoken(m: re.Match) -> str:
    """ "2024-02-26" (a model copying an article's date) -> "26 February 2024"."""
    return spoken_date(m.group())


_TRAILING_MARKERS = re.compile(r"([.!?])((?:\s*\[[\d,;\s]+\])+)")


def _pointed(reply: str, question: str, shown: list[Sentence], passages: list[Passage]) -> Resolved:
    """A reply that is only markers ("[1]"): the model pointed at the sentences that answer;
    they are the answer, quoted, unless they are about another country than the question's."""
    quotes = [shown[n - 1] for n in dict.fromkeys(_markers(reply)) if 1 <= n <= len(shown)]
    substitution = substituted_subject(question, quotes, passages) if quotes else None
    if not quotes or substitution:
        return Resolved(text="", quotes=[], wrong_subject=substitution, unsupported=1)
    text = " ".join(f"“{plain_text(q.text).strip()}” [{n}]" for n, q in enumerate(quotes, 1))
    return Resolved(text=text, quotes=quotes)


MAX_ALTERNATIVES = 5  # shown sentences tried, best first, when the cited ones fail


def _backing(
    claim: str, question: str, cited: list[Sentence], shown: list[Sentence], passages: list[Passage]
) -> tuple[list[Sentence], Substitution | None]:
    """The sentences that back `claim`: the cited ones if they do, else the best shown
    sentences that do; and, when none does, the wrong-country finding that stopped one."""

    as_dates = _date_parts(claim)

    def score(c: Sentence) -> float:
        return support(claim, question, c, _date_numbers(passages[c.passage]) & as_dates)

    substitution = None
    tries = []  # (backing, whether the model pointed at it)
    if cited:
        backing = _covering(claim, question, cited, score)
        if backing and (better := _better_quote(claim, question, backing, shown)):
            # The model cited one sentence and answered from another it was shown ("the
            # so-called Israeli model" is not in the cited one): cite the one that says it.
            backing = _covering(claim, question, backing + [better], score)
        tries.append((backing, True))
        if len(cited) > 1:
            # each cited sentence alone too, when it says much of the claim itself (not only
            # through its article's date): the one from the article the question names may
            # say it without the other's help
            tries += [
                ([c], True)
                for c in cited
                if support(claim, question, c) >= _MIN_ALTERNATIVE_SUPPORT
            ]
    ranked = sorted((c for c in shown if c not in cited), key=score, reverse=True)
    tries += [
        ([c], False) for c in ranked[:MAX_ALTERNATIVES] if score(c) >= _MIN_ALTERNATIVE_SUPPORT
    ]
    valid = []
    for backing, pointed in tries:
        backing = _with_its_numbers(claim, question, backing, shown, passages)
        # A sentence the model did not point at must say the claim itself; one it cited may
        # leave some of the claim's words to the rest of its passage.
        if not backing or not _says_it(claim, question, backing, passages if pointed else []):
            continue
        if _outranked_figure(claim, question, backing, shown, passages):
            continue
        if _figure_of_another_year(claim, backing, question):
            continue
        found = substituted_subject(question, backing, passages, claim) or (
            _figure_of_another_country(claim, question, backing)
        )
        if found is None:
            valid.append(backing)
        else:
            substitution = substitution or found
    if not valid:
        return [], substitution
    # Among sentences that back the claim, those from the article the question names win
    # ("according to the statement on NATO's 75th anniversary ...").
    return min(
        valid,
        key=lambda b: len(
            Coverage(
                [
                    Source(passages[i].text, passages[i].title, passages[i].date, passages[i].url)
                    for i in {s.passage for s in b}
                ]
            ).missing(question)
        ),
    ), None


def _date_numbers(passage: Passage) -> frozenset[str]:
    return frozenset(numbers_in(passage.date or "")) | frozenset(
        str(int(x)) for x in (passage.date or "").split("-") if x.isdigit()
    )


def _date_parts(claim: str) -> frozenset[str]:
    """The numbers `claim` writes as part of a date: a day with its month ("7 March",
    "March 7th"), a date as the article's header writes it ("2022-07-11"), a year. Only these
    may be backed by an article's date: a bare "11" is not the 11th the article is dated."""
    days = " ".join(m.group(0) for m in _DAY_OF_MONTH.finditer(claim))
    iso = " ".join(_ISO_DATE.findall(claim))  # "2022-07-11" as the model may copy it
    return (
        frozenset(numbers_in(f"{days} {iso}"))
        | frozenset(str(int(x)) for x in re.findall(r"\d+", iso))
        | frozenset(_years(claim))
    )


_ISO_DATE = re.compile(rf"\b{YEAR}-\d{{1,2}}-\d{{1,2}}\b")
_YEAR_RE = re.compile(rf"\b{YEAR}\b")


def _years(text: str) -> set[str]:
    """The years `text` names ("2024")."""
    return set(_YEAR_RE.findall(text))


def _better_quote(
    claim: str, question: str, backing: list[Sentence], sentences: list[Sentence]
) -> Sentence | None:
    """A shown sentence holding at least two, and most, of the claim's own words (those the
    question does not already give) that `backing` lacks, or None."""
    covered = set().union(*(b.terms for b in backing))
    lacking = content_terms(claim) - content_terms(question) - covered
    if len(lacking) < 2:
        return None
    best = max(
        (s for s in sentences if s not in backing),
        key=lambda s: len(lacking & s.terms),
        default=None,
    )
    if best is None:
        return None
    found = len(lacking & best.terms)
    return best if found >= 2 and 2 * found >= len(lacking) else None


def _says_it(claim: str, question: str, backing: list[Sentence], passages: list[Passage]) -> bool:
    """Whether at least half of the claim's own words (not the question's, not numbers) are
    in its backing sentences or in their passages and titles."""
    own = roots(claim) - roots(question) - numbers_in(claim)
    if not own:
        return True
    near = roots(" ".join(b.text for b in backing))
    for i in {b.passage for b in backing} if passages else ():
        near |= roots(f"{passages[i].title} {passages[i].text} {spoken_or_empty(passages[i].date)}")
    return 2 * len(own & near) >= len(own)


# Words that say nothing of what a question is about.
_GENERIC = roots(
    "how much many what which who when where why did does do give gave given put "
    "make made get got take took say said roughly about exactly total so far now "
    "ever current currently latest"
)


def _about_question(question: str, sentence: Sentence, passages: list[Passage]) -> int:
    """How many of the question's words (a capital or demonym counting as its country) the
    sentence holds."""
    asked = roots(question) - _GENERIC
    for name, countries in places_in(question):
        asked.discard(next(iter(roots(name)), ""))
        asked |= {f"<{c}>" for c in countries}
    have = roots(sentence.text) | {f"<{c}>" for c in countries_in(sentence.text)}
    return len(asked & have)


def _outranked_figure(
    claim: str,
    question: str,
    backing: list[Sentence],
    shown: list[Sentence],
    passages: list[Passage],
) -> bool:
    """True when the claim is little more than a figure ("$4.5 billion") taken from a sentence
    less about the question than another shown sentence with a figure of its own: asked what
    Japan gave to NATO's assistance package, a small model quotes Japan's total aid to Ukraine
    while the sentence on the package is right there. Such an answer is declined."""
    # The question's own numbers are not the claim's figure: "Russia and Belarus were left
    # off the list for the July 2021 meeting" states no figure of its own.
    figures = numbers_in(claim) - numbers_in(question)
    if not figures or len(roots(claim) - roots(question) - figures) > 3:
        return False
    best_backing = max(_about_question(question, b, passages) for b in backing)
    return any(
        _about_question(question, s, passages) > best_backing + 1
        for s in shown
        if s not in backing and numbers_in(s.text) - figures
    )


# A claim whose last word is a preposition or an article has lost its answer ("Plan A." has
# not: the words are matched in lower case only).
_DANGLING = re.compile(r"\b(?:in|on|at|of|by|to|from|with|for|since|until|the|a|an)\s*[.!?]?\s*$")
# Where a sentence listing figures turns from one item to the next.
_CLAUSE = re.compile(r"[,;:]\s+|\s+(?:while|whereas)\s+|\s+[–—]\s+")


def _figure_of_another_year(claim: str, backing: list[Sentence], question: str = "") -> bool:
    """True when the claim gives a figure with a year (its own, or else the one the question
    asks about), and the backing sentence gives that figure in a clause of another year while
    its clause of that year holds another figure: "67 percent of Poles surveyed in a 2017
    report" from "65 percent of Poles surveyed in a 2017 Pew Research Center report ..., and
    67 percent of Poles surveyed in 2018 favour ..."; "$2 billion" for the aid pledged for
    2024 from "$300 million in short-term aid for 2024; and $2 billion in long-term,
    low-interest loans ... beginning in 2025". A figure whose clause names no year, or the
    claim's, is not in doubt."""

    years = _years
    asked = years(question)
    other = asked if not asked & years(claim) else set()  # the claim may not say its year
    for part in _CLAUSE.split(claim):
        for said in (years(part), other):
            if not said:
                continue
            for figure in _undated_numbers(part) - said - numbers_in(question):
                for s in backing:
                    clauses = _clauses(s.text)
                    holding = [c for c in clauses if figure in numbers_in(c)]
                    if not holding or any(said & years(c) or not years(c) for c in holding):
                        continue
                    # the asked year's clause holds a figure of its own
                    if any(
                        said & years(c) and _undated_numbers(c) - said
                        for c in clauses
                        if c not in holding
                    ):
                        return True
    return False


def _figure_of_another_country(
    claim: str, question: str, backing: list[Sentence]
) -> Substitution | None:
    """The countries whose clause of a backing sentence holds the claim's figure or month,
    when another clause of that sentence names the asked country: "Skopje signed in October
    2024" from "North Macedonia started negotiations in June 2024, Montenegro in August 2024,
    and Bulgaria in October 2024" is Bulgaria's month."""
    asked = asked_countries(question)
    if not asked or asks_for_a_country(question):
        return None
    figures = _figures(claim) - _figures(question)
    for s in backing:
        clauses = _clauses(s.text)
        named = [countries_in(c) for c in clauses]
        # the asked country's clause gives a figure of its own ("North Macedonia ... in June
        # 2024"): the sentence lists each country's; one naming the asked country once with
        # the figure elsewhere ("Japan, through the fund, has given $37 million to Ukraine")
        # does not
        own = [
            c
            for c, n in zip(clauses, named)
            if n & asked and _figures(c) - _figures(question) - figures
        ]
        if not own:
            continue
        for figure in figures:
            owners = set().union(*(n for c, n in zip(clauses, named) if figure in _figures(c)))
            if owners and not owners & asked:
                listed = asked & set().union(*(countries_in(c) for c in own))
                return Substitution(tuple(sorted(listed)), tuple(sorted(owners)))
    return None


_MONTH_WORD = re.compile(rf"\b(?:{'|'.join(m.capitalize() for m in MONTH_NAMES)})\b")


def _figures(text: str) -> set[str]:
    """The numbers of `text` and the months it names ("October")."""
    return numbers_in(text) | {m.lower() for m in _MONTH_WORD.findall(text)}


def _clauses(sentence: str) -> list[str]:
    """The items of a sentence listing several: split at semicolons when it has them (its
    items hold commas of their own: "$2 billion in long-term, low-interest loans"), else at
    commas, colons and dashes."""
    return sentence.split(";") if ";" in sentence else _CLAUSE.split(sentence)


def _with_its_numbers(
    claim: str,
    question: str,
    backing: list[Sentence],
    sentences: list[Sentence],
    passages: list[Passage],
) -> list[Sentence]:
    """`backing`, once every number the claim states is in it (or in a backing sentence's
    article date, or in the question); empty when a number is from nowhere.

    A number the model took from another sentence it was shown is repaired by citing that
    sentence too, if it says the same about the number: at least two words around the
    number there are words around it in the claim ("32 partner military representatives
    attended"). "2 large Japanese-made demining machines" from "two large autotransformers"
    is not repaired. Then only the sentences still needed are kept."""

    as_dates = _date_parts(claim)

    def dated(sentence: Sentence) -> set[str]:
        # "7 March 2024" is backed by an article dated 2024-03-07 (its "07" is "7"); a bare
        # "11" is not backed by an article dated the 11th
        return numbers_in(sentence.text) | (_date_numbers(passages[sentence.passage]) & as_dates)

    counts = _counts(claim)

    def unbacked(sources: list[Sentence]) -> set[str]:
        # A count ("4 years") is not backed by the day of a date ("4 April 2023").
        missing = numbers_in(claim) - set().union(numbers_in(question), *map(dated, sources))
        return missing | (
            counts - set().union(numbers_in(question), *(_undated_numbers(s.text) for s in sources))
        )

    missing = unbacked(backing) if backing else set()
    if not missing:
        return backing
    backing = list(backing)
    for number in sorted(missing):
        around = _around(claim, number)
        holders = [
            c
            for c in sentences
            if number in dated(c)
            and c not in backing
            and len(around & _around(c.text, number)) >= 2
        ]
        if holders:
            backing.append(max(holders, key=lambda c: support(claim, question, c)))
    if unbacked(backing):
        return []
    covering = _covering(claim, question, backing)
    return covering if not unbacked(covering) else backing


# A month as written in English (capitalised: "may" is a verb), or its short form, with or
# without its period ("Sept. 4", "Sept 4", "4 Dec").
_MONTH = "|".join(
    [m.capitalize() for m in MONTH_NAMES]
    + [r"(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\b\.?"]
)
_DAY_OF_MONTH = re.compile(
    rf"\b(?:\d{{1,2}}(?:st|nd|rd|th)?(?:\s*[-–]\s*\d{{1,2}})?\s+(?:of\s+)?(?:{_MONTH})"
    rf"|(?:{_MONTH})\s+\d{{1,2}}(?:st|nd|rd|th)?)"
)
_COUNT = re.compile(
    r"(\b[\w,.-]+)\s+(?:[a-z]+\s+)?(?:years|months|weeks|days|members|countries|[Aa]llies)\b"
)


def _counts(claim: str) -> set[str]:
    """The numbers `claim` gives as counts ("4 years", "16 new members"), in digits; not a
    date's day or a year ("On April 4 Allies ...", "In 2023 Allies ...")."""
    plain = re.sub(rf"\b{YEAR}\b", " ", _DAY_OF_MONTH.sub(" ", claim))
    return set().union(*(numbers_in(m.group(1)) for m in _COUNT.finditer(plain)))


def _undated_numbers(text: str) -> set[str]:
    """The numbers of `text` that are not the day of a date ("4 April 2023" gives 2023)."""
    return numbers_in(_DAY_OF_MONTH.sub(" ", text))


def _acronyms(text: str) -> set[str]:
    """Initials of the capitalised names in `text` ("International Military Staff" -> "ims"),
    small words inside a name skipped."""
    out = set()
    for name in re.findall(r"[A-Z][\w’'-]*(?:\s+(?:(?:of|and|for|the)\s+)*[A-Z][\w’'-]*)+", text):
        out.add("".join(w[0] for w in name.split() if w[0].isupper()).lower())
    return out


_SCALE = {"hundred", "thousand", "million", "billion", "trillion", "percent", "per", "cent"}


def _around(text: str, number: str, reach: int = 4) -> set[str]:
    """The words (as `roots`) within `reach` words of where `text` states `number`."""
    words = WORD_RE.findall(text.lower())
    out: set[str] = set()
    for i, word in enumerate(words):
        if number in numbers_in(word):
            near = " ".join(words[max(0, i - reach) : i] + words[i + 1 : i + 1 + reach])
            out |= {r for r in roots(near) if not numbers_in(r) and r not in _SCALE}
    return out


def _question_words(question: str) -> set[str]:
    """What the question itself says: its words, its numbers (digits or words) and the
    countries its capitals stand for ("Canberra" says "Australia")."""
    meant = content_terms(" ".join(meant_countries(question, agents_only=True)))
    return content_terms(question) | numbers_in(question) | meant


def repeats(claim: str, question: str) -> bool:
    """True when the claim only repeats the question's own words ("Brussels" for "Which Ally
    hosted the dinner at the summit in Brussels?"), or is a question: not an answer."""
    said = content_terms(claim) | numbers_in(claim)
    return bool(said) and (claim.rstrip().endswith("?") or not (said - _question_words(question)))


# "Who ...?", "Which country ...?", "What status ...?": a name is the answer, and one common
# word more than the question's ("sent" for "send") says nothing.
_ASKS_FOR_A_NAME = re.compile(r"\s*(?:and\s+)?(?:who|whom|which|what)\b", re.IGNORECASE)


def echoes(claim: str, question: str) -> bool:
    """True when the claim says nothing the question does not: each of its words and numbers
    is one of the question's, or the initials of a name in it, but for at most one common
    word ("Australia sent to the meeting in Canberra" for "Who did Canberra send to the
    meeting?")."""
    said = content_terms(claim) | numbers_in(claim)
    new = said - _question_words(question) - _acronyms(question)
    if not said or len(new) > (1 if _ASKS_FOR_A_NAME.match(question) else 0):
        return False
    named = {w.lower() for w in re.findall(r"\b[A-Z][\w’'-]*", claim)}
    return not (new & (named | numbers_in(claim)))


def _covering(claim: str, question: str, candidates: list[Sentence], score=None) -> list[Sentence]:
    """The candidate that backs the claim best, then each other that adds a word or number
    of the claim the ones before it lack (an answer combining two articles cites both)."""
    score = score or (lambda c: support(claim, question, c))
    ranked = sorted(candidates, key=score, reverse=True)
    if not ranked or score(ranked[0]) <= 0:
        return []
    claim_terms = content_terms(claim) | numbers_in(claim)
    backing, covered = [ranked[0]], ranked[0].terms | numbers_in(ranked[0].text)
    for other in ranked[1:]:
        adds = (claim_terms & (other.terms | numbers_in(other.text))) - covered
        if adds:
            backing.append(other)
            covered |= other.terms | numbers_in(other.text)
    return backing


def _with_markers(claim: str, numbers: list[int]) -> str:
    """`claim` with `[n]` markers placed before its closing punctuation."""
    if not numbers:
        return claim
    markers = " " + "".join(f"[{n}]" for n in numbers)
    tail = re.search(r"[.!?…]*[\"'”’)]*$", claim)  # always matches, at worst empty
    end = tail.start() if tail else len(claim)
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
    text = plain_text(
        MARKER.sub(
            "", sentence.split("[")[0] if sentence.count("[") > sentence.count("]") else sentence
        )
    )
    text = text.lstrip()
    end = 0
    for m in WORD_RE.finditer(text):
        if m.end() == len(text):
            break  # the word may still be growing
        if term_list(m.group()) and term_list(m.group())[0] not in vocabulary:
            break
        end = m.end()
    return text[:end].rstrip(" ,;:–—-(")
