"""Words that carry meaning: the shared tokeniser of lexical search and citation matching."""

from __future__ import annotations

import re

STOP_WORDS = set("""
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for from
further had has have having he her here hers herself him himself his how i if in into is it its
itself just me more most my myself no nor not now of off on once only or other our ours
ourselves out over own same she should so some such than that the their theirs them themselves
then there these they this those through to too under until up very was we were what when
where which while who whom why will with would you your yours yourself yourselves according
said say says did does many much what's whose within per via upon among
""".split())

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


def content_terms(text: str) -> set[str]:
    return set(term_list(text))


def numbers_in(text: str) -> set[str]:
    return {m.replace(",", "") for m in re.findall(r"\d+(?:[.,]\d+)*", text)}
