"""Time in a question: years, months, "latest", "before/after", turned into ranking hints.

Hints only re-rank retrieved candidates (articles from the asked-about time move up); they
never hide the rest, because an article from 2023 may well report what happened in 2022.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_MONTHS = {m: i for i, m in enumerate(
    "january february march april may june july august september october november december"
    .split(), 1)}
_MONTH_RE = "|".join(_MONTHS)
_YEAR = r"(?:19|20)\d\d"


@dataclass(frozen=True)
class TimeHint:
    years: frozenset[int] = field(default_factory=frozenset)
    months: frozenset[tuple[int, int]] = field(default_factory=frozenset)  # (year, month)
    latest: bool = False
    before: int | None = None  # YYYYMMDD, exclusive
    after: int | None = None   # YYYYMMDD, exclusive

    def __bool__(self) -> bool:
        return bool(self.years or self.latest or self.before or self.after)


def parse_time_hint(question: str) -> TimeHint:
    q = question.lower()
    months = {(int(y), _MONTHS[m]) for m, y in re.findall(rf"\b({_MONTH_RE})\s+(?:\d{{1,2}},?\s+)?({_YEAR})\b", q)}
    before = after = None
    m = re.search(rf"\b(?:before|prior to|until)\s+(?:({_MONTH_RE})\s+)?({_YEAR})\b", q)
    if m:
        before = int(m[2]) * 10000 + (_MONTHS[m[1]] * 100 if m[1] else 100) + 1
    m = re.search(rf"\b(?:after|since)\s+(?:({_MONTH_RE})\s+)?({_YEAR})\b", q)
    if m:
        after = int(m[2]) * 10000 + (_MONTHS[m[1]] * 100 + 31 if m[1] else 1231)
    years = {int(y) for y in re.findall(rf"\b({_YEAR})\b", q)}
    if before or after:  # "before 2023" is not a question about 2023 itself
        years = set()
    latest = bool(re.search(r"\b(latest|most recent|newest|recently|current(?:ly)?|now|today)\b", q))
    return TimeHint(frozenset(years), frozenset(months), latest, before, after)


def rerank(ids: list[str], dates: dict[str, int], hint: TimeHint) -> list[str]:
    """Reorder fused candidates: a matching year gains 3 places, a matching month 1 more;
    "latest" gains up to 3 places by recency; before/after move out-of-range ones down 5."""
    if not hint:
        return ids
    dated = sorted({d for d in dates.values() if d}, reverse=True)

    def key(pair: tuple[int, str]) -> float:
        rank, cid = pair
        d = dates.get(cid, 0)
        bonus = 0.0
        if d:
            year, month = d // 10000, d // 100 % 100
            if year in hint.years:
                bonus += 3
            if (year, month) in hint.months:
                bonus += 1
            if hint.latest and dated:
                bonus += 3 * (1 - dated.index(d) / max(1, len(dated) - 1)) if len(dated) > 1 else 0
            if (hint.before and d >= hint.before) or (hint.after and d <= hint.after):
                bonus -= 5
        return rank - bonus

    return [cid for _, cid in sorted(enumerate(ids), key=key)]
