"""Time in a question: years, months, "latest", "before/after", turned into a ranking.

The ranking only votes among retrieved candidates (articles from the asked-about time move
up); it never hides the rest, because an article from 2023 may well report what happened
in 2022.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MONTH_NAMES = (
    "january february march april may june july august september october november december"
).split()
_MONTHS = {m: i for i, m in enumerate(MONTH_NAMES, 1)}
_MONTH_RE = "|".join(_MONTHS)
YEAR = r"(?:19|20)\d\d"


@dataclass(frozen=True)
class TimeHint:
    years: frozenset[int] = field(default_factory=frozenset)
    months: frozenset[tuple[int, int]] = field(default_factory=frozenset)  # (year, month)
    latest: bool = False
    before: int | None = None  # YYYYMMDD, exclusive
    after: int | None = None  # YYYYMMDD, exclusive

    def __bool__(self) -> bool:
        return bool(self.years or self.latest or self.before or self.after)


def years_in(text: str) -> set[int]:
    return {int(y) for y in re.findall(rf"\b({YEAR})\b", text)}


def mentions_year(text: str) -> bool:
    return bool(years_in(text))


def spoken_date(iso: str) -> str:
    """ "2024-07-10" -> "10 July 2024"."""
    year, month, day = (int(x) for x in iso.split("-"))
    return f"{day} {MONTH_NAMES[month - 1].capitalize()} {year}"


def spoken_or_empty(iso: str | None) -> str:
    """`spoken_date`, or "" for a missing or malformed date."""
    try:
        return spoken_date(iso) if iso else ""
    except ValueError:
        return ""


def parse_time_hint(question: str) -> TimeHint:
    q = question.lower()
    months = {
        (int(y), _MONTHS[m])
        for m, y in re.findall(rf"\b({_MONTH_RE})\s+(?:\d{{1,2}},?\s+)?({YEAR})\b", q)
    }
    before = after = None
    m = re.search(rf"\b(?:before|prior to|until)\s+(?:({_MONTH_RE})\s+)?({YEAR})\b", q)
    if m:
        before = int(m[2]) * 10000 + (_MONTHS[m[1]] * 100 if m[1] else 100) + 1
    m = re.search(rf"\b(?:after|since)\s+(?:({_MONTH_RE})\s+)?({YEAR})\b", q)
    if m:
        after = int(m[2]) * 10000 + (_MONTHS[m[1]] * 100 + 31 if m[1] else 1231)
    years = years_in(q)
    if before or after:  # "before 2023" is not a question about 2023 itself
        years = set()
    latest = bool(
        re.search(r"\b(latest|most recent|newest|recently|current(?:ly)?|now|today)\b", q)
    )
    return TimeHint(frozenset(years), frozenset(months), latest, before, after)


def time_ranking(ids: list[str], dates: dict[str, int], hint: TimeHint) -> list[str]:
    """A ranking of the candidates (given best first) by how well their date fits the hint;
    candidates that do not fit are left out. Retrieval fuses it like any other ranking.

    Fit: month asked and matched > year matched; for "latest", newer first; candidates
    outside a before/after bound never fit.
    """
    if not hint:
        return []
    scored: list[tuple[float, int, str]] = []
    for order, cid in enumerate(ids):
        d = dates.get(cid, 0)
        if not d:
            continue
        if (hint.before and d >= hint.before) or (hint.after and d <= hint.after):
            continue
        year, month = d // 10000, d // 100 % 100
        fit = 0.0
        if hint.years:
            fit += 2.0 * (year in hint.years) + 1.0 * ((year, month) in hint.months)
        if hint.latest:
            fit += d / 1e8  # newer is better; dates are YYYYMMDD
        if hint.before or hint.after:
            fit += 1.0
        if fit > 0:
            scored.append((-fit, order, cid))
    return [cid for _, _, cid in sorted(scored)]
