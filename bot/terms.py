"""Words that carry meaning: the shared tokeniser of lexical search and citation matching."""

from __future__ import annotations

import re

STOP_WORDS = set(
    """
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for from
further had has have having he her here hers herself him himself his how i if in into is it its
itself just me more most my myself no nor not now of off on once only or other our ours
ourselves out over own same she should so some such than that the their theirs them themselves
then there these they this those through to too under until up very was we were what when
where which while who whom why will with would you your yours yourself yourselves according
said say says did does many much what's whose within per via upon among
""".split()
)

WORD = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+(?:['’-][^\W\d_]+)*")


def stem(word: str) -> str:
    """`word` without a plural or possessive ending (cached: a corpus repeats its words)."""
    found = _STEMS.get(word)
    if found is None:
        found = _stem(word)
        if len(_STEMS) < 500_000:  # bounded: stray tokens (ids, typos) must not grow it forever
            _STEMS[word] = found
    return found


_STEMS: dict[str, str] = {}


def _stem(word: str) -> str:
    word = word.replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    for suffix in ("ies", "es", "s"):
        if len(word) > 4 and word.endswith(suffix) and not word.endswith("ss"):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def term_list(text: str) -> list[str]:
    """Lower-cased, lightly stemmed words of `text` in order, without stop words."""
    return [stem(w) for w in WORD.findall(text.lower()) if w not in STOP_WORDS]


_SUFFIXES = ("ations", "ation", "ings", "ing", "edly", "ed", "es", "s", "ly")


def roots(text: str) -> set[str]:
    """Content words of `text` reduced further than `stem` does, for deciding whether two
    texts say the same thing ("protected" ~ "protect", "ended" ~ "end", "six-month" holds
    "month")."""
    out = set()
    for word in WORD.findall(text.lower().replace("’", "'")):
        for part in word.removesuffix("'s").split("-"):
            if part in STOP_WORDS or not part or part in _SMALL:
                continue  # numbers are compared as numbers
            for suffix in _SUFFIXES:
                if (
                    part.endswith(suffix)
                    and len(part) - len(suffix) >= 3
                    and not part.endswith("ss")
                ):
                    part = part[: -len(suffix)]
                    break
            out.add(part)
    return out


def content_terms(text: str) -> set[str]:
    return set(term_list(text))


_UNITS = (
    "two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_ORDINALS = (
    "third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
    "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth"
).split()
_WORD_VALUES = {w: n for n, w in enumerate(_UNITS, 2)} | {w: n for n, w in enumerate(_ORDINALS, 3)}
_WORD_VALUES |= {w: 10 * n for n, w in enumerate(_TENS, 2)}
_WORD_VALUES |= {w[:-1] + "ieth": 10 * n for n, w in enumerate(_TENS, 2)}  # twentieth
_SMALL = {"one": 1, "first": 1, "second": 2} | _WORD_VALUES
_NUMBER_WORD = re.compile(
    r"\b(?:("
    + "|".join(_TENS)
    + r")[-\s]("
    + "|".join(sorted(_SMALL, key=len, reverse=True))
    + r")|("
    + "|".join(sorted(_WORD_VALUES, key=len, reverse=True))
    + r")|(one|a)(?=\s+"
    r"(?:hundred|thousand|million|billion)\b))(?:\s+hundred\b)?",
    re.IGNORECASE,
)


def _number_word(m: re.Match) -> str:
    if m[1]:
        value = _WORD_VALUES[m[1].lower()] + _SMALL[m[2].lower()]
    elif m[3]:
        value = _WORD_VALUES[m[3].lower()]
    else:
        value = 1
    return str(value * 100 if m.group().lower().endswith("hundred") else value)


def numbers_in(text: str) -> set[str]:
    """The numbers `text` states, in digits: "40,000" -> "40000", "twenty-three" -> "23",
    "seventy-fourth" -> "74", "one billion" -> "1" (as "1 billion" is). "One", "first" and
    "second" alone are not counted: they are seldom a figure."""
    found = {m.replace(",", "") for m in re.findall(r"\d+(?:[.,]\d+)*", text)}
    return found | {_number_word(m) for m in _NUMBER_WORD.finditer(text)}
