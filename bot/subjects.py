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
from .retrieval import Passage

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
    "China": "Chinese|PRC|People's Republic of China",
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
    "North Korea": "DPRK|North Korean|Democratic People's Republic of Korea",
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
    "Turkey": "Türkiye|Turkish|Turks",
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


def countries_in(text: str) -> set[str]:
    """Canonical names of the countries (and the EU, the UN) `text` names."""
    pattern, canonical = _table()
    found = set()
    for m in pattern.finditer(text):
        name = re.sub(r"['’]s$", "", m.group())
        found.add(canonical[name])
    return found


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
    question: str, backing: list[Sentence], passages: list[Passage]
) -> Substitution | None:
    """The countries the question names that an answer's backing is silent about, when the
    backing sentences name another country instead; None when the subject is not in doubt.

    Silent means: not in the backing sentences, nor anywhere in their chunks or articles'
    titles (which often say who "the country" is). A question asking which country did
    something is never in doubt: its answer is another country.
    """
    # a capital counts: "How much did Canberra give?" asks about Australia
    asked = countries_in(question) | set(meant_countries(question, agents_only=True))
    if not asked or not backing or _ASKS_FOR_A_COUNTRY.search(question):
        return None
    others = set().union(*(countries_in(s.text) for s in backing)) - asked
    if not others:
        return None
    around = " ".join(
        f"{passages[i].title} {passages[i].text}" for i in {s.passage for s in backing}
    )
    missing = asked - countries_in(around)
    return Substitution(tuple(sorted(missing)), tuple(sorted(others))) if missing else None
