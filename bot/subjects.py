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
    "Afghanistan": "Afghan", "Albania": "Albanian", "Algeria": "Algerian",
    "Argentina": "Argentine|Argentinian", "Armenia": "Armenian", "Australia": "Australian",
    "Austria": "Austrian", "Azerbaijan": "Azerbaijani", "Bahrain": "Bahraini",
    "Belarus": "Belarusian", "Belgium": "Belgian",
    "Bosnia and Herzegovina": "Bosnia|Bosnian", "Brazil": "Brazilian", "Bulgaria": "Bulgarian",
    "Canada": "Canadian", "Chile": "Chilean", "China": "Chinese|PRC|People's Republic of China",
    "Colombia": "Colombian", "Croatia": "Croatian", "Cyprus": "Cypriot",
    "Czechia": "Czech Republic|Czech", "Denmark": "Danish|Danes", "Egypt": "Egyptian",
    "Estonia": "Estonian", "Finland": "Finnish|Finns", "France": "French", "Georgia": "Georgian",
    "Germany": "German", "Greece": "Greek", "Hungary": "Hungarian", "Iceland": "Icelandic",
    "India": "Indian", "Iran": "Iranian", "Iraq": "Iraqi", "Ireland": "Irish",
    "Israel": "Israeli", "Italy": "Italian", "Japan": "Japanese", "Jordan": "Jordanian",
    "Kazakhstan": "Kazakh", "Kosovo": "Kosovar", "Kuwait": "Kuwaiti",
    "Kyrgyzstan": "Kyrgyz", "Latvia": "Latvian", "Lebanon": "Lebanese", "Libya": "Libyan",
    "Lithuania": "Lithuanian", "Luxembourg": "Luxembourgish", "Malta": "Maltese",
    "Mauritania": "Mauritanian", "Mexico": "Mexican", "Moldova": "Moldovan",
    "Mongolia": "Mongolian", "Montenegro": "Montenegrin", "Morocco": "Moroccan",
    "Netherlands": "Dutch|Holland", "New Zealand": "New Zealander|Kiwi",
    "North Korea": "DPRK|North Korean|Democratic People's Republic of Korea",
    "North Macedonia": "Macedonia|Macedonian", "Norway": "Norwegian|Norwegians", "Pakistan": "Pakistani",
    "Poland": "Polish|Poles", "Portugal": "Portuguese", "Qatar": "Qatari", "Romania": "Romanian",
    "Russia": "Russian|Russian Federation", "Saudi Arabia": "Saudi",
    "Serbia": "Serbian", "Slovakia": "Slovak|Slovakian", "Slovenia": "Slovenian|Slovene",
    "South Africa": "South African",
    "South Korea": "ROK|Republic of Korea|Korea|Korean|South Korean",
    "Spain": "Spanish", "Sweden": "Swedish|Swedes", "Switzerland": "Swiss", "Syria": "Syrian",
    "Taiwan": "Taiwanese", "Tajikistan": "Tajik", "Tunisia": "Tunisian",
    "Turkey": "Türkiye|Turkish|Turks", "Turkmenistan": "Turkmen", "Ukraine": "Ukrainian|Ukrainians",
    "United Arab Emirates": "UAE|Emirati", "United Kingdom": "UK|U.K.|Britain|British|Great Britain",
    "United States": "US|U.S.|USA|U.S.A.|America|American|United States of America",
    "Uzbekistan": "Uzbek", "Vietnam": "Vietnamese|Viet Nam",
    "European Union": "EU|E.U.", "United Nations": "UN|U.N.",
}
_OTHERS = """Andorra Angola Bangladesh Benin Bhutan Bolivia Botswana Brunei Burkina Burundi
Cambodia Cameroon Chad Comoros Congo Cuba Djibouti Dominica Ecuador Eritrea Eswatini
Ethiopia Fiji Gabon Gambia Ghana Grenada Guatemala Guinea Guyana Haiti Honduras Indonesia
Jamaica Kenya Kiribati Laos Lesotho Liberia Liechtenstein Madagascar Malawi Malaysia Maldives
Mali Mauritius Micronesia Monaco Mozambique Myanmar Namibia Nauru Nepal Nicaragua Niger
Nigeria Oman Palau Palestine Panama Paraguay Peru Philippines Rwanda Samoa Senegal Seychelles
Singapore Somalia Sudan Suriname Tanzania Thailand Togo Tonga Uganda Uruguay Vanuatu Venezuela
Yemen Zambia Zimbabwe""".split()
_MORE = ["Costa Rica", "Dominican Republic", "El Salvador", "Equatorial Guinea", "Holy See",
         "Ivory Coast", "Côte d'Ivoire", "Marshall Islands", "Papua New Guinea", "San Marino",
         "Sierra Leone", "Solomon Islands", "South Sudan", "Sri Lanka", "Timor-Leste",
         "Trinidad and Tobago", "Cabo Verde", "Antigua and Barbuda", "Saint Lucia"]


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
    pattern = re.compile(r"(?<![\w.])(?:" + "|".join(re.escape(n) for n in names)
                         + r")(?:['’]s)?(?![\w])")
    return pattern, canonical


def countries_in(text: str) -> set[str]:
    """Canonical names of the countries (and the EU, the UN) `text` names."""
    pattern, canonical = _table()
    found = set()
    for m in pattern.finditer(text):
        name = re.sub(r"['’]s$", "", m.group())
        found.add(canonical[name])
    return found


# "Which Ally vetoed ...?", "What partner countries ...?": the answer is itself a country.
_ASKS_FOR_A_COUNTRY = re.compile(
    r"\b(?:which|what|whose)\s+(?:\w+\s+){0,2}?(?:all(?:y|ies)|countr(?:y|ies)|nations?|"
    r"partners?|members?|states?|governments?)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Substitution:
    asked: tuple[str, ...]  # the question's countries the backing is silent about
    found: tuple[str, ...]  # the countries the backing names instead

    def describe(self) -> str:
        return (f"the passages found say this of {_names(self.found, 'and')}, not of "
                f"{_names(self.asked, 'or')}")


def _names(countries: tuple[str, ...], joint: str) -> str:
    return f" {joint} ".join(_SHORT.get(c, c) for c in countries)


_SHORT = {"South Korea": "the Republic of Korea", "United States": "the United States",
          "United Kingdom": "the United Kingdom", "Netherlands": "the Netherlands",
          "European Union": "the European Union", "United Nations": "the United Nations",
          "United Arab Emirates": "the United Arab Emirates", "Philippines": "the Philippines"}


def substituted_subject(question: str, backing: list[Sentence],
                        passages: list[Passage]) -> Substitution | None:
    """The countries the question names that an answer's backing is silent about, when the
    backing sentences name another country instead; None when the subject is not in doubt.

    Silent means: not in the backing sentences, nor anywhere in their chunks or articles'
    titles (which often say who "the country" is). A question asking which country did
    something is never in doubt: its answer is another country.
    """
    asked = countries_in(question)
    if not asked or not backing or _ASKS_FOR_A_COUNTRY.search(question):
        return None
    others = set().union(*(countries_in(s.text) for s in backing)) - asked
    if not others:
        return None
    around = " ".join(f"{passages[i].title} {passages[i].text}"
                      for i in {s.passage for s in backing})
    missing = asked - countries_in(around)
    return Substitution(tuple(sorted(missing)), tuple(sorted(others))) if missing else None
