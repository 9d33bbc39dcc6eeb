"""Sentence boundaries with character offsets: shared by chunking and by citation quoting.

A quote shown to a user is always `text[start:end]` of a stored chunk, so both sides must
agree on where sentences begin and end.
"""

from __future__ import annotations

import re

# Words that end with a period without ending a sentence.
_ABBREVIATIONS = {
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "gen",
    "lt",
    "col",
    "maj",
    "capt",
    "adm",
    "sgt",
    "cmdr",
    "gov",
    "sen",
    "rep",
    "pres",
    "st",
    "no",
    "nos",
    "vol",
    "fig",
    "approx",
    "est",
    "etc",
    "vs",
    "e.g",
    "i.e",
    "inc",
    "ltd",
    "co",
    "corp",
    "jr",
    "sr",
    "art",
    "para",
    "u.s",
    "u.k",
    "u.n",
    "e.u",
    "d.c",
    "p.m",
    "a.m",
}

# A candidate boundary: end punctuation, optional closing quotes/brackets, then whitespace.
_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s)")
_WORD_BEFORE = re.compile(r"([\w.]+)$")


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the word just before the period at `dot` is an abbreviation or an initial."""
    m = _WORD_BEFORE.search(text[max(0, dot - 12) : dot])
    if not m:
        return False
    word = m.group(1).lower()
    return (
        word in _ABBREVIATIONS
        or (len(word) == 1 and word.isalpha())
        or bool(re.fullmatch(r"(\w\.)+\w", word))
    )


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of `text[start:end]`, whitespace trimmed.

    Line breaks always end a sentence (headers, bullets and paragraphs are separate units);
    within a line, a sentence ends at `.`, `!` or `?` followed by space and a capital letter,
    digit or opening quote, unless the word before the period is a known abbreviation.
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    line_start = start
    while line_start < end:
        nl = text.find("\n", line_start, end)
        line_end = end if nl < 0 else nl
        _split_line(text, line_start, line_end, spans)
        line_start = line_end + 1
    return spans


def _split_line(text: str, start: int, end: int, out: list[tuple[int, int]]) -> None:
    seg_start = start
    for m in _BOUNDARY.finditer(text, start, end):
        cut = m.end()
        nxt = cut
        while nxt < end and text[nxt].isspace():
            nxt += 1
        if nxt >= end:
            break
        follower = text[nxt]
        if not (follower.isupper() or follower.isdigit() or follower in "\"'“‘(•–-"):
            continue
        if (
            text[m.start()] == "."
            and m.end() - m.start() == 1
            and _is_abbreviation(text, m.start())
        ):
            continue
        _append_trimmed(text, seg_start, cut, out)
        seg_start = nxt
    _append_trimmed(text, seg_start, end, out)


def _append_trimmed(text: str, start: int, end: int, out: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        out.append((start, end))
