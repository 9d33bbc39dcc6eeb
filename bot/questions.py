"""The rules of a question, the same for every interface: normalised whitespace, a length
limit, and the parts of a question that asks two things at once.

"When did Finland apply, and when did it join?" is two questions: each part is searched for
on its own (with the names the other parts give it: "when did it join" needs "Finland"), so
the evidence of both reaches the answer.
"""

from __future__ import annotations

import re

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
# called ...?": someone, by name.
_ASKS_FOR_SOMEONE = re.compile(
    _LEAD + r"(?:who|whom|(?:which|what)\s+(?:(?!(?:did|does|do|was|were|is|are|has|have|had|"
    r"will|would|can|could)\b)[\w-]+\s+){0,2}?(?:secretary[- ]general|"
    r"president|prime\s+minister|minister|(?:defen[cs]e\s+)?secretary|chancellor|commander|"
    r"ambassador|envoy|spokes(?:person|man|woman)|experts?|officials?|leaders?|king|queen)\b)",
    re.IGNORECASE,
)
# A name with one of these words is a body, not someone: "the World Food Programme", "the
# United Nations Secretary-General", "the Office of the President".
_BODY = re.compile(
    r"\b(?:Programme|Program|Organi[sz]ation|Nations|Union|Office|Fund|Council|Commission|"
    r"Committee|Assembly|Parliament|Ministry|Department|Agency|Forces?|Command|Cent(?:er|re)|"
    r"Alliance|Summit|Government|Compact|Coalition|Group|Secretary-General|Secretariat|"
    r"Headquarters|Staff)\b"
)
_NAME_RUN = re.compile(r"(?<![\w’'.-])[A-Z][\w’'.-]*(?:\s+(?:of\s+(?:the\s+)?)?[A-Z][\w’'.-]*)*")
# "how many drones": things, not an amount of money or a share
_ASKS_FOR_THINGS = re.compile(
    _LEAD + r"how\s+many\s+(?!dollars|euros|pounds|times\b)[a-z]", re.IGNORECASE
)
_SUM = re.compile(
    r"[$€£¥₩]\s?\d[\d.,]*(?:\s*(?:thousand|million|billion|trillion))?|"
    r"\b\d[\d.,]*\s*(?:thousand|million|billion|trillion)?\s*(?:dollars|euros|pounds|"
    r"percent|per\s+cent|%)",
    re.IGNORECASE,
)
_CURRENCY = re.compile(r"[$€£¥₩]|\b(?:dollars?|euros?|pounds?)\b", re.IGNORECASE)
# "Where ...?", "In which city ...?": a place, by name.
_ASKS_FOR_A_PLACE = re.compile(
    _LEAD + r"(?:where|(?:in|at|to)\s+(?:which|what)\s+(?:\w+\s+)?(?:city|town|country|"
    r"capital|place|venue|location|room|building|base|port|region))\b",
    re.IGNORECASE,
)
_CAPITALISED = re.compile(r"(?<![\w’'.-])[A-Z][\w’'.-]*")
# "in Wiesbaden, Germany", "at the White House": where, not who
_WHERE = re.compile(
    r"\b(?:in|at|near|from|to|into)\s+(?:the\s+)?[A-Z][\w’'.-]*(?:(?:\s+|,\s*)[A-Z][\w’'.-]*)*"
)
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
    given = numbers_in(question)

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
    if _ASKS_FOR_SOMEONE.search(question):  # not where something was put, nor a body
        return _names_more(question, _without_bodies(_WHERE.sub(" ", answer)), quoted)
    if _ASKS_FOR_A_PLACE.search(question):
        return _names_more(question, answer, quoted, place=True)
    return True


def _without_bodies(text: str) -> str:
    """`text` without the names of bodies ("the World Food Programme")."""
    return _NAME_RUN.sub(lambda m: " " if _BODY.search(m.group()) else m.group(), text)


def _names_more(question: str, answer: str, quoted: str | None = None, place: bool = False) -> bool:
    """Whether `answer` gives a name the question does not (nor a country's adjective in
    it: "Poland" for "which Polish city"), and, with `quoted`, one the quoted sentences say:
    "The command was established in Wiesbaden, Germany" names no one (once its places are
    taken out), "Japan hosted the conference on Ukraine mine action" no city the question
    did not, "Madrid [1]" from a sentence that never says Madrid no place. A `place` is not
    an adjective ("Ukrainian interoperability") nor NATO."""
    from .subjects import countries_in  # subjects reads the parts of questions

    def words(text: str) -> list[str]:
        return [
            re.sub(r"['’]s$", "", w.rstrip(".")).replace("’", "'").lower()
            for w in _CAPITALISED.findall(text)
        ]

    asked = set(words(question))
    countries = countries_in(question)
    months = {m.lower() for m in MONTH_NAMES}
    said = (
        {re.sub(r"'s$", "", w) for w in WORD_RE.findall(quoted.replace("’", "'").lower())}
        if quoted is not None
        else None
    )
    for w in words(answer):
        if w in asked or w in STOP_WORDS or w in months:
            continue
        if countries and countries_in(w.title()) and countries_in(w.title()) <= countries:
            continue
        if place and (w == "nato" or (countries_in(w.title()) and not _is_country_name(w))):
            continue
        if said is None or w in said or set(WORD_RE.findall(w)) <= said:
            return True
    return False


def _is_country_name(word: str) -> bool:
    """Whether `word` (lower case) is a country's own name, not its adjective."""
    from .subjects import countries_in

    return any(c.lower() == word for c in countries_in(word.title()))


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
