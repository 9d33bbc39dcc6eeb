"""Whether articles speak of the places and numbers a question names.

A question about Kuwait is not answered by articles that never name Kuwait, and a question
about 2022 not by an article about 2021 that never mentions 2022. Only places (countries,
their capitals, demonyms and short forms, regions) and numbers written in digits are
checked, and they are compared the way a reader compares them:

* a capital stands for its government ("Ankara" for Türkiye, "Bogotá" for Colombia), a
  demonym or short form for its country ("Swedish", "ROK"), a region for its members
  ("Nordic" for Finland, Sweden, Norway, Denmark or Iceland);
* an article's metadata counts as its text: its title, its date (a year, a day) and its
  publisher (a whitehouse.gov release speaks for the United States).

Other names (people, programmes, publishers, authors) are left to the evidence: a question
"according to" an author or "the White House fact sheet" is answered from what the text
says, however the question words it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

from .dates import MONTH_NAMES
from .subjects import (
    CAPITAL_OF,
    NAMED_AFTER,
    NOT_METONYMS,
    PLACE_NAME,
    PLACES,
    SHORT_NAMES,
    countries_in,
    places_in,
)
from .terms import STOP_WORDS

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_PUBLISHERS = {
    "whitehouse": "United States",
    "state.gov": "United States",
    "defense.gov": "United States",
    "gov.uk": "United Kingdom",
    "regeringen.se": "Sweden",
    "valtioneuvosto.fi": "Finland",
}


def _digits(text: str) -> set[str]:
    return {m.replace(",", "") for m in _NUMBER.findall(text)}


@dataclass(frozen=True)
class Source:
    """An article (or part of one) with the metadata a reader would count as its text."""

    text: str
    title: str = ""
    date: str | None = None
    url: str | None = None


class Coverage:
    """The places and numbers some articles speak of."""

    def __init__(self, sources: list[Source]):
        text = "\n".join(f"{s.title}\n{s.text}" for s in sources)
        self.text = text
        # "the Lithuanian capital" is covered by "Vilnius"
        self.countries = countries_in(text) | {
            c for m in PLACE_NAME.finditer(text) for c in CAPITAL_OF.get(m.group(), ())
        }
        self.numbers = _digits(text)
        for s in sources:
            host = (urlparse(s.url or "").hostname or "").lower()
            self.countries |= {c for site, c in _PUBLISHERS.items() if site in host}
            if s.date:
                self.numbers |= {
                    str(int(x)) if i == 2 else x
                    for i, x in enumerate(s.date.split("-"))
                    if x.isdigit()
                }

    def missing(self, question: str) -> list[str]:
        """The places and numbers `question` names that these articles never speak of."""
        out = [n for n in sorted(_digits(question)) if n not in self.numbers]
        for name, countries in places_in(question):
            if not (
                countries & self.countries or re.search(rf"(?<!\w){re.escape(name)}", self.text)
            ):
                if name not in out:
                    out.append(name)
        return out


# Names that stand for another: any alternative covers the name.
_STANDS_FOR = {
    "alliance": "NATO|Allies|Ally|Allied",
    "allies": "NATO|Alliance|Ally|Allied",
    "ally": "NATO|Alliance|Allies|Allied",
    "allied": "NATO|Alliance|Allies|Ally",
    "hq": "headquarters",
    "headquarters": "HQ",
    "white house": "whitehouse",
    "wikipedia": "wikipedia.org",
    "covid": "COVID-19|pandemic",
    "covid-19": "COVID|pandemic",
    "us": "United States|U.S.|America",
    "u.s.": "United States|US|America",
    "nato": "North Atlantic|Alliance|Allies|Allied",
}
_SMALL = r"(?:(?:of|for|the|and|on|de)\s+)?"  # words an acronym skips: "Chiefs of Staff"
_ASKING = {
    "how",
    "what",
    "when",
    "where",
    "which",
    "who",
    "why",
    "whom",
    "whose",
    "and",
    "or",
    "but",
    "did",
    "does",
    "do",
    "is",
    "was",
    "were",
    "are",
    "has",
    "have",
    "had",
    "in",
    "on",
    "at",
    "after",
    "before",
    "since",
    "roughly",
    "about",
    "around",
    "exactly",
}
_WEEKDAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
_NAME_RUN = re.compile(r"[A-Z][\w'’.-]*(?:\s+(?:(?:of|for|the|de)\s+)?[A-Z][\w'’.-]*)*")
_ROLES = (
    "historian|analyst|professor|researcher|scholar|expert|economist|commentator|journalist|"
    "correspondent|reporter|editor|author|writer|columnist|spokesman|spokeswoman|spokesperson|"
    "chief|minister|ambassador|envoy|diplomat|official|adviser|advisor|director|fellow"
)
# "UCD historian Edward Burke", "the EU foreign policy chief Kaja Kallas": a role word (after
# at most three other lower-case words) between the source and a person who ends the phrase
_ROLE = re.compile(rf"\s+(?:[a-z][\w-]*\s+){{0,3}}(?:{_ROLES})\s+")
_SOURCE_LEAD = re.compile(
    r"\b(?:according to|per|says|said|writes|wrote)\s+(?:the\s+)?$", re.IGNORECASE
)


def question_names(question: str) -> list[tuple[str, bool]]:
    """The names a question asks about, each with whether it is the question's source
    ("according to Mykola Bielieskov"): runs of capitalised words, not the question's first
    word, without months and weekdays; places are left to `Coverage.missing`."""
    names: list[tuple[str, bool]] = []
    first = len(question) - len(question.lstrip())
    last_end = 0
    for m in _NAME_RUN.finditer(question):
        words = [
            re.sub(r"['’]s?$", "", w).rstrip(".") if not w.endswith("S.") else w
            for w in m.group().split()
        ]
        if m.start() == first:
            words = words[1:]
        words = [
            w
            for w in words
            if w.lower() not in _WEEKDAYS and w.lower() not in MONTH_NAMES and len(w) > 1
        ]
        # "according to Matti Pesu and Tomas Wallenius": both are the source, and so is the
        # person after a role ("according to UCD historian Edward Burke")
        between = question[last_end : m.start()]
        is_source = bool(_SOURCE_LEAD.search(question[: m.start()])) or bool(
            names
            and names[-1][1]
            and (
                re.fullmatch(r"\s*(?:,|and|&)\s*", between)
                or (_ROLE.fullmatch(between) and re.match(r"\s*(?:[,?]|$)", question[m.end() :]))
            )
        )
        last_end = m.end()
        run: list[str] = []
        for w in [*words, ""]:  # place words split a run: "White House's Madrid"
            if w and not (places_in(w) or PLACE_NAME.fullmatch(w)):
                run.append(w)
                continue
            while run and (run[0].lower() in STOP_WORDS or run[0].lower() in _ASKING):
                run = run[1:]  # "... meetings. What role did ..."
            while run and run[-1].lower() in ("of", "for", "the", "de"):
                run = run[:-1]
            if run and (" ".join(run), is_source) not in names:
                names.append((" ".join(run), is_source))
            run = []
    return names


def _mentions(text: str, name: str) -> bool:
    """Whether lower-cased `text` mentions `name`, or a name that stands for it, or (for a
    name of several words) each of its words."""
    if re.search(rf"(?<![^\W_]){re.escape(name.lower())}", text):  # "__Mykola Bielieskov__"
        return True
    if any(alt and alt.lower() in text for alt in _STANDS_FOR.get(name.lower(), "").split("|")):
        return True
    if re.fullmatch(r"[A-Z]{2,6}", name):  # "IMS" for "International Military Staff"
        spelled = (r"\s+" + _SMALL).join(rf"{c.lower()}[\w-]*" for c in name)
        if re.search(rf"(?<![\w-]){spelled}(?![\w-])", text):
            return True
    words = name.split()
    return len(words) > 1 and all(_mentions(text, w) for w in words if len(w) > 1)


def unnamed(question: str, near: list[Source], articles: list[str]) -> list[str]:
    """The names of `question` that the `near` text (the chunks an answer cites, with their
    titles and publishers) never mentions; a name the question gives as its source may be
    anywhere in the cited `articles` (an author is named at the end)."""
    text = " ".join(f"{s.title} {s.text} {s.url or ''}" for s in near).lower()
    whole = " ".join(articles).lower()
    return [
        name
        for name, is_source in question_names(question)
        if not _mentions(text, name) and not (is_source and _mentions(whole, name))
    ]


def spelled_out(question: str) -> str:
    """A note on the capitals the question uses for governments, for a model that does not
    know them ("Bogotá means Colombia."), or "" when there are none; a summit or treaty named
    after its city is not one."""
    meant = {}
    for m in PLACE_NAME.finditer(question):
        place = re.sub(r"['’]s$", "", m.group())
        country = PLACES.get(place, "")
        after = question[m.end() : m.end() + 12].lower()
        if "|" in country or place in NOT_METONYMS or re.match(NAMED_AFTER, after):
            continue
        meant[place] = SHORT_NAMES.get(country, country)
    return " ".join(f"{place} means {country}." for place, country in meant.items())
