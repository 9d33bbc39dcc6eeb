"""Which countries (and the few unions that act like one) a text names.

A small model asked "How much has New Zealand contributed to X?" happily answers with the
sentence saying the ROK contributed $12 million to X: the topic matches, the subject does not.
`substituted_subject` catches that: the question names a country, the sentence backing the
answer names another one, and neither it nor its chunk or article title names the question's.

Names are matched as written (capitalised), with their usual short forms and adjectives
("ROK", "South Korea", "Korean"); a text naming "North Korea" is not about the ROK.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .evidence import Sentence
from .questions import parts
from .retrieval import Passage
from .terms import content_terms, roots

# canonical name: "|"-separated other names and adjectives it goes by. Countries without
# entries of their own are matched by name only.
_ALIASES = {
    "Afghanistan": "Afghan",
    "Albania": "Albanian",
    "Algeria": "Algerian",
    "Argentina": "Argentine|Argentinian",
    "Armenia": "Armenian",
    "Australia": "Australian",
    "Austria": "Austrian",
    "Azerbaijan": "Azerbaijani",
    "Bahrain": "Bahraini",
    "Belarus": "Belarusian",
    "Belgium": "Belgian",
    "Bosnia and Herzegovina": "Bosnia|Bosnian",
    "Brazil": "Brazilian",
    "Bulgaria": "Bulgarian",
    "Canada": "Canadian",
    "Chile": "Chilean",
    "China": "Chinese|PRC|People's Republic of China|People’s Republic of China",
    "Colombia": "Colombian",
    "Croatia": "Croatian",
    "Cyprus": "Cypriot",
    "Czechia": "Czech Republic|Czech",
    "Denmark": "Danish|Danes",
    "Egypt": "Egyptian",
    "Estonia": "Estonian",
    "Finland": "Finnish|Finns",
    "France": "French",
    "Georgia": "Georgian",
    "Germany": "German",
    "Greece": "Greek",
    "Hungary": "Hungarian",
    "Iceland": "Icelandic",
    "India": "Indian",
    "Iran": "Iranian",
    "Iraq": "Iraqi",
    "Ireland": "Irish",
    "Israel": "Israeli",
    "Italy": "Italian",
    "Japan": "Japanese",
    "Jordan": "Jordanian",
    "Kazakhstan": "Kazakh",
    "Kosovo": "Kosovar",
    "Kuwait": "Kuwaiti",
    "Kyrgyzstan": "Kyrgyz",
    "Latvia": "Latvian",
    "Lebanon": "Lebanese",
    "Libya": "Libyan",
    "Lithuania": "Lithuanian",
    "Luxembourg": "Luxembourgish",
    "Malta": "Maltese",
    "Mauritania": "Mauritanian",
    "Mexico": "Mexican",
    "Moldova": "Moldovan",
    "Mongolia": "Mongolian",
    "Montenegro": "Montenegrin",
    "Morocco": "Moroccan",
    "Netherlands": "Dutch|Holland",
    "New Zealand": "New Zealander|Kiwi",
    "North Korea": (
        "DPRK|North Korean|Democratic People's Republic of Korea|"
        "Democratic People’s Republic of Korea"
    ),
    "North Macedonia": "Macedonia|Macedonian",
    "Norway": "Norwegian|Norwegians",
    "Pakistan": "Pakistani",
    "Poland": "Polish|Poles",
    "Portugal": "Portuguese",
    "Qatar": "Qatari",
    "Romania": "Romanian",
    "Russia": "Russian|Russian Federation",
    "Saudi Arabia": "Saudi",
    "Serbia": "Serbian",
    "Slovakia": "Slovak|Slovakian",
    "Slovenia": "Slovenian|Slovene",
    "South Africa": "South African",
    "South Korea": "ROK|Republic of Korea|Korea|Korean|South Korean",
    "Spain": "Spanish",
    "Sweden": "Swedish|Swedes",
    "Switzerland": "Swiss",
    "Syria": "Syrian",
    "Taiwan": "Taiwanese",
    "Tajikistan": "Tajik",
    "Tunisia": "Tunisian",
    "Turkey": "Türkiye|Turkiye|Turkish|Turks",
    "Turkmenistan": "Turkmen",
    "Ukraine": "Ukrainian|Ukrainians",
    "United Arab Emirates": "UAE|Emirati",
    "United Kingdom": "UK|U.K.|Britain|British|Great Britain",
    "United States": "US|U.S.|USA|U.S.A.|America|American|United States of America",
    "Uzbekistan": "Uzbek",
    "Vietnam": "Vietnamese|Viet Nam",
    "European Union": "EU|E.U.",
    "United Nations": "UN|U.N.",
}
_OTHERS = """Andorra Angola Bangladesh Benin Bhutan Bolivia Botswana Brunei Burkina Burundi
Cambodia Cameroon Chad Comoros Congo Cuba Djibouti Dominica Ecuador Eritrea Eswatini
Ethiopia Fiji Gabon Gambia Ghana Grenada Guatemala Guinea Guyana Haiti Honduras Indonesia
Jamaica Kenya Kiribati Laos Lesotho Liberia Liechtenstein Madagascar Malawi Malaysia Maldives
Mali Mauritius Micronesia Monaco Mozambique Myanmar Namibia Nauru Nepal Nicaragua Niger
Nigeria Oman Palau Palestine Panama Paraguay Peru Philippines Rwanda Samoa Senegal Seychelles
Singapore Somalia Sudan Suriname Tanzania Thailand Togo Tonga Uganda Uruguay Vanuatu Venezuela
Yemen Zambia Zimbabwe""".split()
_MORE = [
    "Costa Rica",
    "Dominican Republic",
    "El Salvador",
    "Equatorial Guinea",
    "Holy See",
    "Ivory Coast",
    "Côte d'Ivoire",
    "Marshall Islands",
    "Papua New Guinea",
    "San Marino",
    "Sierra Leone",
    "Solomon Islands",
    "South Sudan",
    "Sri Lanka",
    "Timor-Leste",
    "Trinidad and Tobago",
    "Cabo Verde",
    "Antigua and Barbuda",
    "Saint Lucia",
]


@lru_cache(maxsize=1)
def _table() -> tuple[re.Pattern, dict[str, str]]:
    canonical: dict[str, str] = {}
    for name, others in _ALIASES.items():
        canonical[name] = name
        for alias in others.split("|"):
            canonical[alias] = name
    for name in _OTHERS + _MORE:
        canonical.setdefault(name, name)
    # longest first, so "North Korea" wins over "Korea" and "New Zealander" over "New Zealand"
    names = sorted(canonical, key=len, reverse=True)
    pattern = re.compile(
        r"(?<![\w.])(?:" + "|".join(re.escape(n) for n in names) + r")(?:['’]s)?(?![\w])"
    )
    return pattern, canonical


# "the Libya campaign", "the Kosovo war": where something happened, not who did it
_THEATRE = re.compile(
    r"\s+(?:air\s+|military\s+)?(?:campaign|war|operation|intervention|conflict|crisis)s?\b",
    re.IGNORECASE,
)


def asked_countries(question: str) -> set[str]:
    """The countries a question asks about: those it names (but not as the theatre of a
    campaign or war: "Allies' contributions to the Libya campaign" asks about the Allies)
    and those its capitals stand for as agents ("How much did Canberra give?")."""
    pattern, canonical = _table()
    named = set()
    for m in pattern.finditer(question):
        name = re.sub(r"['’]s$", "", m.group())
        if name != m.group() or not _THEATRE.match(question, m.end()):  # a possessive owns
            named.add(canonical[name])
    return named | set(meant_countries(question, agents_only=True))


def countries_in(text: str) -> set[str]:
    """Canonical names of the countries (and the EU, the UN) `text` names."""
    return set(_countries_in_order(text))


def _countries_in_order(text: str) -> list[str]:
    """The countries `text` names, in the order it names them (repeats included)."""
    pattern, canonical = _table()
    return [canonical[re.sub(r"['’]s$", "", m.group())] for m in pattern.finditer(text)]


# Capitals and regions a question may name instead of a country: any of the countries
# covers the name.
PLACES = {
    "Ankara": "Turkey",
    "Stockholm": "Sweden",
    "Helsinki": "Finland",
    "Washington": "United States",
    "Bogotá": "Colombia",
    "Bogota": "Colombia",
    "Seoul": "South Korea",
    "Tokyo": "Japan",
    "Kyiv": "Ukraine",
    "Kiev": "Ukraine",
    "Canberra": "Australia",
    "Wellington": "New Zealand",
    "Budapest": "Hungary",
    "Dublin": "Ireland",
    "London": "United Kingdom",
    "Tirana": "Albania",
    "Moscow": "Russia",
    "Kremlin": "Russia",
    "Beijing": "China",
    "Berlin": "Germany",
    "Paris": "France",
    "Oslo": "Norway",
    "Copenhagen": "Denmark",
    "Vilnius": "Lithuania",
    "Riga": "Latvia",
    "Tallinn": "Estonia",
    "Warsaw": "Poland",
    "Bucharest": "Romania",
    "Sofia": "Bulgaria",
    "Bratislava": "Slovakia",
    "Skopje": "North Macedonia",
    "Madrid": "Spain",
    "Rome": "Italy",
    "Ottawa": "Canada",
    "Brussels": "Belgium",
    "Athens": "Greece",
    "Lisbon": "Portugal",
    "Prague": "Czechia",
    "Reykjavik": "Iceland",
    "Tbilisi": "Georgia",
    "Chisinau": "Moldova",
    "Nordic": "Finland|Sweden|Norway|Denmark|Iceland",
    "Nordics": "Finland|Sweden|Norway|Denmark|Iceland",
    "Scandinavian": "Sweden|Norway|Denmark",
    "Scandinavia": "Sweden|Norway|Denmark",
    "Baltic states": "Estonia|Latvia|Lithuania",
    "Baltics": "Estonia|Latvia|Lithuania",
    "Indo-Pacific": "Japan|Australia|New Zealand|South Korea",
    "IP4": "Japan|Australia|New Zealand|South Korea",
}
PLACE_NAME = re.compile(
    r"(?<![\w.])(?:"
    + "|".join(sorted(map(re.escape, PLACES), key=len, reverse=True))
    + r")(?:['’]s)?(?!\w)"
)
CAPITAL_OF = {
    name: (country,)
    for name, country in PLACES.items()
    if "|" not in country and name[0].isupper() and name not in ("Washington", "Brussels")
}
NOT_METONYMS = {"Madrid", "Brussels", "Vilnius", "Bucharest"}  # summit and HQ cities
NAMED_AFTER = r"\s*(?:summit|treaty|declaration|memorandum|process|charter)"


def places_in(question: str) -> list[tuple[str, frozenset[str]]]:
    """The places a question names, each as (how it is written, the countries that cover it)."""
    found: list[tuple[str, frozenset[str]]] = []
    for m in PLACE_NAME.finditer(question):
        name = re.sub(r"['’]s$", "", m.group())
        found.append((name, frozenset(PLACES[name].split("|"))))
    for country in sorted(countries_in(PLACE_NAME.sub(" ", question))):
        found.append((country, frozenset([country])))
    return found


def meant_countries(question: str, agents_only: bool = False) -> list[str]:
    """The countries the capitals and regions of `question` stand for, as a reader names
    them ("Kyiv" -> "Ukraine", "Nordic" -> its five countries). A summit or treaty named
    after its city is not one; with `agents_only`, neither is a place one goes to or is in
    ("the meeting in Washington") nor a region ("the Indo-Pacific partners")."""
    out: list[str] = []
    for m in PLACE_NAME.finditer(question):
        place = re.sub(r"['’]s$", "", m.group())
        after = question[m.end() : m.end() + 12].lower()
        if (
            place in NOT_METONYMS
            or re.match(NAMED_AFTER, after)
            or (
                agents_only
                and (
                    "|" in PLACES[place]
                    or re.search(
                        r"\b(?:in|at|to|from|near|into)\s+(?:the\s+)?$",
                        question[: m.start()],
                        re.IGNORECASE,
                    )
                )
            )
        ):
            continue
        out += [c for c in PLACES[place].split("|") if c not in out]
    return out


# "Which Ally vetoed ...?", "What partner countries ...?": the answer is itself a country.
_ASKS_FOR_A_COUNTRY = re.compile(
    r"\b(?:which|what|whose)\s+(?:\w+\s+){0,2}?(?:all(?:y|ies)|countr(?:y|ies)|nations?|"
    r"partners?|members?|states?|governments?)\b",
    re.IGNORECASE,
)


def asks_for_a_country(question: str) -> bool:
    """ "Which Ally vetoed ...?": the answer is itself a country, so another one is no
    substitute for the asked."""
    return bool(_ASKS_FOR_A_COUNTRY.search(question))


@dataclass(frozen=True)
class Substitution:
    asked: tuple[str, ...]  # the question's countries the backing is silent about
    found: tuple[str, ...]  # the countries the backing names instead

    def describe(self) -> str:
        return (
            f"the passages found say this of {_names(self.found, 'and')}, not of "
            f"{_names(self.asked, 'or')}"
        )


def _names(countries: tuple[str, ...], joint: str) -> str:
    return f" {joint} ".join(SHORT_NAMES.get(c, c) for c in countries)


SHORT_NAMES = {
    "South Korea": "the Republic of Korea",
    "United States": "the United States",
    "United Kingdom": "the United Kingdom",
    "Netherlands": "the Netherlands",
    "European Union": "the European Union",
    "United Nations": "the United Nations",
    "United Arab Emirates": "the United Arab Emirates",
    "Philippines": "the Philippines",
}


def substituted_subject(
    question: str, backing: list[Sentence], passages: list[Passage], claim: str = ""
) -> Substitution | None:
    """The countries the question names that an answer's backing is silent about, when the
    backing sentences name another country instead; None when the subject is not in doubt.

    Silent means: not in the backing sentences, nor in their paragraphs, the headings just
    before them or their articles' titles, which often say who "the Government" is; the
    countries that paragraph or heading ("*Australia*") names count as the sentence's. A question
    asking which country did something is never in doubt: its answer is another country.
    Where a backing sentence does name the question's country, a name in `claim` that the
    sentence ties to another country ("Prime Minister Kishida Fumio of Japan") is still
    about that other country.
    """
    if claim:  # of a question in several parts, the part the claim answers
        question = _part_answered(question, claim)
    # a capital counts: "How much did Canberra give?" asks about Australia
    asked = asked_countries(question)
    if not asked or not backing or asks_for_a_country(question):
        return None
    tied = _tied_to_another(claim, backing, asked) if claim else set()
    if tied:
        return Substitution(tuple(sorted(asked)), tuple(sorted(tied)))
    owner = _owned_by_another(question, backing, asked)
    if owner:
        return Substitution(*owner)
    sections = [_section(passages[s.passage].text, s) for s in backing]
    others = set().union(*(countries_in(s.text) for s in backing)) - asked
    # In a text with a section per country ("*Australia*", "*Japan*"), a sentence's section
    # says whose "the Government" is; elsewhere its whole chunk does.
    around = [f"{passages[s.passage].title} {text}" for s, (text, _) in zip(backing, sections)]
    missing = asked - set().union(*(countries_in(a) for a in around))
    if not missing:
        return None
    if not others:  # the sentences name none: the first country their section names
        headed = " ".join(text for text, has_heading in sections if has_heading)
        others = set([c for c in _countries_in_order(headed) if c not in asked][:1])
    return Substitution(tuple(sorted(missing)), tuple(sorted(others))) if others else None


def _part_answered(question: str, claim: str) -> str:
    """The part of a question in several parts that `claim` answers, when that part names no
    country ("In what year was the Partnership for Peace created, and when did Stockholm
    sign up?": "The programme was established in 1994" answers the first); otherwise the
    whole question."""
    pieces = parts(question)
    if len(pieces) == 1:
        return question
    said = content_terms(claim)
    shared = sorted(((len(content_terms(p) & said), p) for p in pieces), reverse=True)
    best = shared[0][1]
    if shared[0][0] == shared[1][0] or countries_in(best) or meant_countries(best):
        return question
    return best


def _section(text: str, s: Sentence) -> tuple[str, bool]:
    """The part of chunk `text` that sentence `s` stands in, and whether the chunk has
    headings (paragraphs of a few words, "*Australia*"): from the last heading before the
    sentence to the next one, else from the chunk's start or to its end."""
    paragraphs = [(m.start(), m.end()) for m in re.finditer(r"(?:[^\n]|\n(?!\n))+", text)]
    if not paragraphs:
        return text, False
    heads = [i for i, (a, b) in enumerate(paragraphs) if len(text[a:b].split()) <= 4]
    at = max((i for i, (a, _) in enumerate(paragraphs) if a <= s.start), default=0)
    first = max((i for i in heads if i < at), default=None)
    last = min((i for i in heads if i > at), default=len(paragraphs))
    start = paragraphs[first if first is not None else 0][0]
    return text[start : paragraphs[last - 1][1]], bool(heads)


# "Hungarian", "Finnish", "Japanese", "Czech", "Greek", "Israeli": adjectives, where
# "Türkiye", "Korea" or "Britain" are other names of a country
_ADJECTIVE = re.compile(r"(?:an|ese|ish|ic|i|ch|ek)$")


def _owned(text: str) -> list[tuple[str, set[str]]]:
    """What `text` says belongs to a country, as (country, the roots of the one or two
    lower-case words right after it): "Finland's parliament" and "the Hungarian
    parliament's vote" give (Finland, {parliament}) and (Hungary, {parliament, vote}).
    Only a possessive or an adjective owns: "Montenegro in August" owns nothing."""
    pattern, canonical = _table()
    out = []
    for m in pattern.finditer(text):
        name = re.sub(r"['’]s$", "", m.group())
        country = canonical[name]
        adjective = name != country and bool(_ADJECTIVE.search(name))
        if name == m.group() and not adjective:
            continue
        words: list[str] = []
        for w in re.findall(r"[\w’'-]+|[^\w\s]", text[m.end() : m.end() + 80])[:4]:
            if not w[0].isalpha():
                break  # punctuation or a figure ends it
            if w.isupper() and len(w) > 1:
                continue  # "Sweden's NATO accession": the accession
            if not w[0].islower() or len(words) == 2:
                break
            words.append(w)
        if found := roots(" ".join(words)):
            out.append((country, found))
    return out


def _owned_by_another(
    question: str, backing: list[Sentence], asked: set[str]
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(the asked countries, the others) when the question asks about a country's thing
    ("Finland's parliament") and a backing sentence gives the same thing to another country
    ("the Hungarian parliament's vote") and never to the asked one."""
    wanted = [(c, r) for c, r in _owned(question) if c in asked]
    if not wanted:
        return None
    given = [pair for s in backing for pair in _owned(s.text)]
    named = set().union(*(countries_in(s.text) for s in backing))
    missing, others = set(), set()
    for country, what in wanted:
        if country in named:  # "Hungary approved ..., after the Turkish parliament had"
            continue
        found = {c for c, r in given if c != country and c not in asked and r & what}
        if found:
            missing.add(country)
            others |= found
    return (tuple(sorted(missing)), tuple(sorted(others))) if others else None


# "Prime Minister Kishida Fumio of Japan", "Japan's Prime Minister Kishida Fumio": a name
# and the country a sentence gives it.
_NAME = r"(?<![\w’'.-])[A-Z][\w’'.-]+(?:\s+[A-Z][\w’'.-]+){0,3}"
_OF_COUNTRY = re.compile(rf"({_NAME})\s+of\s+(?:the\s+)?({_NAME}(?:\s+of\s+{_NAME})?)")
_COUNTRYS_NAME = re.compile(rf"({_NAME})['’]s\s+(?:[a-z]+\s+){{0,3}}?({_NAME})")


def _tied_to_another(claim: str, backing: list[Sentence], asked: set[str]) -> set[str]:
    """The other countries a backing sentence that names the question's country ties to a
    name the claim gives (and the claim then gives none of the question's countries)."""
    if countries_in(claim) & asked:
        return set()
    claim_words = set(re.findall(r"[A-Z][\w’'-]+", claim))
    found = set()
    for s in backing:
        if not countries_in(s.text) & asked:
            continue
        pairs = [(m[1], m[2]) for m in _OF_COUNTRY.finditer(s.text)]
        pairs += [(m[2], m[1]) for m in _COUNTRYS_NAME.finditer(s.text)]
        for name, place in pairs:
            countries = countries_in(place)
            if len(countries) != 1 or countries & asked:
                continue
            # a person with a title ("Prime Minister Kishida Fumio"), matched by the name's own
            # words, not by the title's; "Ukraine's Armed Forces" is no one
            words = name.split()
            own = set(words[-2:]) - _TITLE_WORDS
            if set(words) & _TITLE_WORDS and own & claim_words:
                found |= countries
    return found


_TITLE_WORDS = {
    "President",
    "Minister",
    "Prime",
    "Deputy",
    "Secretary",
    "General",
    "Defense",
    "Defence",
    "Foreign",
    "Chancellor",
    "King",
    "Queen",
    "Ambassador",
    "Mr",
    "Ms",
}
