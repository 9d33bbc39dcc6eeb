"""The rules of a question, the same for every interface: normalised whitespace, a length
limit, and the parts of a question that asks two things at once.

"When did Finland apply, and when did it join?" is two questions: each part is searched for
on its own (with the names the other parts give it: "when did it join" needs "Finland"), so
the evidence of both reaches the answer.
"""

from __future__ import annotations

import re
import unicodedata

from .dates import MONTH_NAMES, YEAR
from .terms import STOP_WORDS, numbers_in
from .terms import WORD as WORD_RE

# "..., and when did it join?", "... and which ..." — a second question joined by "and".
_WH = (
    r"(?:when|what|who|whom|whose|which|where|how|why|(?:in|on|at|for|from|to|by)\s+"
    r"(?:which|what|whom|how|when)|since\s+when)"
)
_JOINED = re.compile(
    rf"(?:,\s*(?:and\s+)?|\s+and\s+|\s*;\s*|\s+[—–-]\s+(?:and\s+)?)(?={_WH}\b)", re.IGNORECASE
)
# A part is a question of its own only when it asks: a question word in its first words.
_ASKING = re.compile(rf"^(?:\S+\s+){{0,2}}?{_WH}\b", re.IGNORECASE)
_NAME = re.compile(r"\b[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*")


_LEAD = r"^\W*(?:\w+\s+){0,2}?"
_ASKS_FOR_A_COUNT = re.compile(
    _LEAD + r"(?:how\s+(?:many|much)|what\s+(?:share|percentage|proportion|number|"
    r"amount|sum)|by\s+(?:how\s+much|what\s+percentage))\b",
    re.IGNORECASE,
)
_ASKS_FOR_A_DATE = re.compile(
    _LEAD + r"(?:when|since\s+when|(?:on|in|by)\s+(?:what|which)\s+(?:date|day|year|month)|"
    r"what\s+(?:date|day|year|month)|which\s+(?:date|day|year|month))\b",
    re.IGNORECASE,
)
_ASKS_FOR_A_SPAN = re.compile(_LEAD + r"how\s+(?:long|old)\b", re.IGNORECASE)
# "How much money did Washington commit?", "How much did Tokyo pledge to the fund?": an
# amount of money (or a share of GDP), not "two million vaccine doses".
_ASKS_FOR_MONEY = re.compile(
    _LEAD
    + r"how\s+(?:much\s+(?:[a-z]+\s+){0,2}?(?:money|funding|financing|financial|aid|assistance|military\s+"
    r"aid)|many\s+(?:dollars|euros|pounds)|much\s+did\s+(?:\S+\s+){1,6}?(?:commit|pledge|"
    r"donate|contribute|allocate|give|provide|announce)\b)",
    re.IGNORECASE,
)
_MONEY = re.compile(
    r"[$€£¥₩]|\b(?:dollars?|euros?|pounds?|kronor|kroner|krona|yen|won|USD|EUR|GBP|NOK|SEK|"
    r"DKK|AUD|CAD|NZD|JPY|KRW|percent|per\s+cent)\b|%",
    re.IGNORECASE,
)
# "Which number Ally was Sweden?": an ordinal ("32nd", "thirty-second"), not a date.
_ASKS_FOR_AN_ORDINAL = re.compile(
    _LEAD + r"(?:what|which)\s+number\s+(?:NATO\s+)?(?:ally|member|country|state|nation)\b",
    re.IGNORECASE,
)
_ORDINAL = re.compile(
    r"\b(?:\d+(?:st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|"
    r"tenth|eleventh|twelfth|\w+teenth|\w+tieth|(?:twenty|thirty|forty|fifty)-(?:first|"
    r"second|third|\w+th))\b",
    re.IGNORECASE,
)
# "7th March 2024", "March 7th": a day, not a place in a row
_DAY = re.compile(
    rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{'|'.join(MONTH_NAMES)})\b|"
    rf"\b(?:{'|'.join(MONTH_NAMES)})\s+\d{{1,2}}(?:st|nd|rd|th)?\b",
    re.IGNORECASE,
)
_YEAR = re.compile(rf"\b{YEAR}\b")
# "Who was named commander?", "And who was there for Japan?", "Which UN Secretary-General
# called ...?": someone, by name. Only a name or a few role words may stand between "which"
# and the role ("What happened to President Yanukovych?" asks no one's name).
_OFFICES = (
    r"secretary[- ]general|president|prime\s+minister|minister|secretary|chancellor|commander|"
    r"ambassador|envoy|spokes(?:person|man|woman)"
)
_ASKS_FOR_SOMEONE = re.compile(
    _LEAD + r"(?:(?i:who|whom)\b|(?i:which|what)\s+(?:(?:[A-Z][\w-]*|(?i:defen[cs]e|foreign|"
    rf"prime|deputy|then|former|current|new|first|last))\s+){{0,2}}?(?i:{_OFFICES}|experts?|"
    r"officials?|leaders?|king|queen)\b)"
)
# a question about an office's holder ("Who was named commander?")
_ROLE = re.compile(rf"\b(?:{_OFFICES}|head|chief|chair(?:man|woman)?)\b", re.IGNORECASE)
# A body, not someone: "the World Food Programme", "the United Nations Secretary-General",
# "NATO Secretary-General Jens Stoltenberg" (the name after it stays).
_BODY = re.compile(
    r"(?:[A-Z][\w’'-]*\s+(?:(?:of|for|and)\s+(?:the\s+)?)?){0,4}(?:Programme|Program|"
    r"Organi[sz]ation|Nations|Office|Fund|Council|Commission|Committee|Assembly|Parliament|"
    r"Ministry|Department|Agency|Forces?|Command|Cent(?:er|re)|Alliance|Summit|Government|"
    r"Compact|Coalition|Group|Secretary-General|Secretariat|Headquarters|Staff)\b"
)
# "how many drones": things, not an amount of money ("how many Finns" may be a share)
_ASKS_FOR_THINGS = re.compile(
    _LEAD + r"how\s+many\s+(?!(?:dollars|euros|pounds|times|percent|per|thousand|million|"
    r"billion|trillion)\b)[a-z]",
    re.IGNORECASE,
)
_SUM = re.compile(
    r"[$€£¥₩]\s?\d[\d.,]*(?:\s*(?:thousand|million|billion|trillion)\b)?|"
    r"\b\d[\d.,]*(?:\s*(?:thousand|million|billion|trillion)\b)?\s*(?:dollars|euros|pounds)\b",
    re.IGNORECASE,
)
_CURRENCY = re.compile(r"[$€£¥₩]|\b(?:dollars?|euros?|pounds?)\b", re.IGNORECASE)
# "G7", "F-16", "32nd": numbers the question names with, not figures it gives
_NOT_A_FIGURE = re.compile(r"\b[A-Za-z]+-?\d+\b|\b\d+(?:st|nd|rd|th)\b")
# "Where ...?", "In which city ...?": a place, by name ("where does NATO stand on ...?" is not)
_ASKS_FOR_A_PLACE = re.compile(
    _LEAD + r"(?:where(?!\s+(?:does|do|did)\s+(?:\S+\s+){1,3}?stand\b|\s+can\b)|"
    r"(?:in|at|to)\s+(?:which|what)\s+(?:\w+\s+)?(?:city|town|country|capital|place|venue|"
    r"location|room|building|base|port|region))\b",
    re.IGNORECASE,
)
_CAPITALISED = re.compile(r"(?<![\w’'.-])[A-Z][\w’'.-]*")
# "in Wiesbaden, Germany", "at the White House": where something is, not who did it
_IN_PLACE = re.compile(
    r"\b(?:in|at|near)\s+(?:the\s+)?[A-Z][\w’'.-]*(?:(?:\s+|,\s*)[A-Z][\w’'.-]*)*"
)
_LOCATIVE = re.compile(r"\b(?:in|at|near|to)\s+(?:the\s+)?$", re.IGNORECASE)
_DATED = re.compile(
    rf"\b(?:{YEAR}|{'|'.join(MONTH_NAMES)}|today|yesterday|this (?:week|evening|"
    r"morning|year|month)|last (?:week|month|year))\b",
    re.IGNORECASE,
)


def fits(question: str, answer: str, quoted: str | None = None) -> bool:
    """Whether `answer` is of the kind `question` asks for: a figure for "how many", "how
    much" or "what share" (a year alone is not a count), an amount of money for "how much
    money" or "how much did X pledge", an ordinal for "which number Ally", a date for "when"
    or "in what year", a name for "who" and a place's name for "where" or "in which city".
    A figure must be one the question does not give ("How many shells will the $10 billion
    of contracts produce?" is not answered by "$10 billion"), "how many dollars" wants a
    currency and "how many drones" a count, not a sum. With `quoted` (the cited sentences),
    the name a "who" or "where" answer gives must be in them, not only in an article's title.
    A question of several parts is not judged."""
    if len(parts(question)) > 1:
        return True
    given = numbers_in(_ORDINAL.sub(" ", _NOT_A_FIGURE.sub(" ", question)))

    def figures(text: str) -> set[str]:  # neither a year nor a day ("13 June 2021")
        return numbers_in(_YEAR.sub(" ", _DAY.sub(" ", text))) - given

    if _ASKS_FOR_MONEY.search(question):
        money = _CURRENCY if re.search(r"how\s+many\s+\w+", question, re.I) else _MONEY
        return bool(money.search(answer) and figures(answer))
    if _ASKS_FOR_AN_ORDINAL.search(question):
        return bool(_ORDINAL.search(_DAY.sub(" ", answer)))
    if _ASKS_FOR_THINGS.search(question):
        return bool(figures(_SUM.sub(" ", answer)))
    if _ASKS_FOR_A_COUNT.search(question):
        return bool(figures(answer))
    if _ASKS_FOR_A_DATE.search(question):
        return bool(_DATED.search(answer))
    if _ASKS_FOR_A_SPAN.search(question):  # "for 25 years", "since 1994"
        return bool(numbers_in(answer))
    if _ASKS_FOR_SOMEONE.search(question):  # not where something is
        named = _IN_PLACE.sub(" ", answer)
        if _ROLE.search(question):  # a holder of an office is someone, not a body
            named = _BODY.sub(" ", named)
        return _names_more(question, named, quoted)
    if _ASKS_FOR_A_PLACE.search(question):
        return _names_more(question, answer, quoted, place=True)
    return True


def _folded(word: str) -> str:
    """A name as compared: lower case, no accents, no possessive or final full stop."""
    plain = unicodedata.normalize("NFKD", word.replace("’", "'")).encode("ascii", "ignore")
    return re.sub(r"'s$", "", plain.decode().rstrip(".").lower())


def _names_more(question: str, answer: str, quoted: str | None = None, place: bool = False) -> bool:
    """Whether `answer` gives a name the question does not, and, with `quoted`, one the
    quoted sentences say (a country by any of its names: "Turkey" for "Türkiye"): "The
    command was established in Wiesbaden, Germany" names no one (once its places are taken
    out), "Japan hosted the conference on Ukraine mine action" no city the question did not,
    "Madrid [1]" from a sentence that never says Madrid no place. A `place` is not NATO nor
    a country's adjective ("Ukrainian interoperability"), nor the country of the question's
    "Polish city"; a place the question names is one where the answer puts something there
    ("Where was the Washington Treaty signed?" "In Washington")."""
    from .subjects import countries_in  # subjects reads the parts of questions

    asked = {_folded(w) for w in _CAPITALISED.findall(question)}
    asked_countries = countries_in(question)
    months = {m.lower() for m in MONTH_NAMES}
    said = {_folded(w) for w in WORD_RE.findall(quoted)} if quoted is not None else set()
    said_countries = countries_in(quoted) if quoted else set()
    bare = len(_CAPITALISED.findall(answer)) == 1 and len(answer.split()) <= 3
    for m in _CAPITALISED.finditer(answer):
        w = _folded(m.group())
        if w in STOP_WORDS or w in months:
            continue
        country = countries_in(re.sub(r"['’]s$", "", m.group().rstrip(".")))
        if place and (w == "nato" or (country and re.match(r"\s+[a-z]", answer[m.end() :]))):
            continue
        if w in asked:
            if not (place and (bare or _LOCATIVE.search(answer[: m.start()]))):
                continue
        elif country and country <= asked_countries:
            continue
        if quoted is None or w in said or (country and country <= said_countries):
            return True
        if set(WORD_RE.findall(w)) and {_folded(x) for x in WORD_RE.findall(w)} <= said:
            return True
    return False


def normalize(question: str | None) -> str:
    """The question with its whitespace collapsed; ValueError when nothing is left."""
    question = " ".join((question or "").split())
    if not question:
        raise ValueError("question is empty")
    return question


MAX_HISTORY_TURNS = 20  # earlier turns kept (the answer reads the last two)


def check_length(question: str, limit: int) -> None:
    """ValueError naming the length and the limit (`PARTNERBOT_MAX_QUESTION_CHARS`); every
    interface applies it, and so does `ChatBot` itself."""
    if len(question) > limit:
        raise ValueError(f"the question is {len(question)} characters long; the limit is {limit}")


def bounded_history(history, limit: int) -> list[tuple[str, str]]:
    """The last MAX_HISTORY_TURNS turns, each question and answer cut to a bounded length."""
    return [
        (str(q)[:limit], str(a)[: 4 * limit]) for q, a in list(history or [])[-MAX_HISTORY_TURNS:]
    ]


def parts(question: str) -> list[str]:
    """The questions `question` asks, in order; one item when it asks one thing."""
    out: list[str] = []
    for piece in re.split(r"\?\s+(?=\S)", question.strip()):
        lead = ""
        for p in _JOINED.split(piece.strip(" ?")):
            p = p.strip(" ?,;—–-")
            if p and not _ASKING.match(p):
                lead = f"{lead}, {p}" if lead else p  # "According to X, what ...?": one part
            elif p:
                out.append(f"{lead}, {p}" if lead else p)
                lead = ""
        if lead:
            out.append(lead)
    return out if len(out) > 1 else [question]


def _names(text: str) -> list[str]:
    """Capitalised runs of `text`, without a leading question or stop word ("When did",
    "In which")."""
    out = []
    for name in _NAME.findall(text):
        words = name.split()
        while words and (
            words[0].lower() in STOP_WORDS or re.fullmatch(_WH, words[0], re.IGNORECASE)
        ):
            words = words[1:]
        if words:
            out.append(" ".join(words))
    return out


def part_queries(question: str) -> list[str]:
    """A search query for each part of a multi-part question (none for a single question):
    the part, followed by the names the other parts give it."""
    found = parts(question)
    if len(found) < 2:
        return []
    queries = []
    for i, part in enumerate(found):
        names = [
            n for j, other in enumerate(found) if j != i for n in _names(other) if n not in part
        ]
        queries.append(" ".join([part, *dict.fromkeys(names)]))
    return queries


_AS_OF = re.compile(r"\s*\((?:as of|As of) [^)]*\)")
_MARKERS = re.compile(r"\s*\[[\d,;\s]+\]")


def follow_up_query(question: str, history: list[tuple[str, str]]) -> str:
    """The search query for a follow-up ("And since when?"): the earlier question, what the
    earlier answer said (its names and facts, when it answered), then the new question."""
    earlier_q, earlier_a = history[-1]
    said = _AS_OF.sub("", _MARKERS.sub("", earlier_a or ""))
    if said.startswith(("The corpus does not answer", "No document in the corpus")):
        said = ""
    return " ".join(x for x in (earlier_q, said[:300], question) if x)


_ATTRIBUTION = re.compile(
    r"^\s*(?:according to|as reported by)\s+[^,?]+,\s*|"
    r",?\s*\b(?:according to|as reported by)\s+[^,?]+(?=[,?]|$)|"
    r",?\s*\bper\s+(?=(?-i:[A-Z])|the\b)[^,?]+(?=[,?]|$)",
    re.IGNORECASE,
)


def plain_query(question: str, countries: list[str]) -> str | None:
    """The question as a search query without who said it ("According to Hanna Shelest,
    ..."; the author's name draws the search to the author's biography) and with the
    countries its capitals stand for ("Kyiv" -> "Ukraine"); None when that is the question."""
    plain = re.sub(r"\s+([?,])", r"\1", _ATTRIBUTION.sub(" ", question)).strip(" ,")
    plain = " ".join([plain, *countries])
    return plain if plain != question else None
