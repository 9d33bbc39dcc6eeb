"""What the web chat shows, as HTML and Markdown: the answer with clickable citations, the
sources panel with each quote highlighted in its passage, and the list of what was retrieved.

Everything shown comes from documents or a model, so it is escaped here (`html.escape`) or
left to Gradio's sanitising Markdown; links are only ever http(s).
"""

from __future__ import annotations

import html
import re

from ..answers import Answer
from ..retrieval import Passage

EMPTY_PANEL = "<p class='hint'>Sources appear here: click a citation such as [1] in an answer.</p>"


def _link(url: str | None, text: str) -> str:
    if url and url.lower().startswith(("http://", "https://")):
        return (
            f'<a href="{html.escape(url, quote=True)}" target="_blank" '
            f'rel="noopener noreferrer">{html.escape(text)}</a>'
        )
    return html.escape(text)


def _meta_line(date: str | None, source: str, url: str | None, page: int | None = None) -> str:
    bits = [html.escape(date or "undated")]
    if page:
        bits.append(f"p. {page}")
    bits.append(_link(url, url) if url else html.escape(source))
    return '<div class="meta">' + " · ".join(bits) + "</div>"


def _titles(passages: list[Passage]) -> str:
    seen, items = set(), []
    for p in passages:
        if (p.title, p.source) not in seen:
            seen.add((p.title, p.source))
            items.append(
                f'<div class="src"><div class="title">{_link(p.url, p.title)}</div>'
                f"{_meta_line(p.date, p.source, p.url)}</div>"
            )
    return "".join(items)


def retrieved_html(passages: list[Passage]) -> str:
    if not passages:
        return "<p>No sources found in the store.</p>"
    return "<p><b>Retrieved — answering…</b></p>" + _titles(passages)


def _in_passage(c, passages: list[Passage]) -> str:
    """The passage around a citation's quote, the quote marked."""
    for p in passages:
        if p.source == c.source and p.start <= c.start and c.end <= p.end:
            a, b = c.start - p.start, c.end - p.start
            return (
                html.escape(p.text[:a])
                + f"<mark>{html.escape(p.text[a:b])}</mark>"
                + html.escape(p.text[b:])
            )
    return f"<mark>{html.escape(c.quote)}</mark>"


def answer_html(answer: Answer, turn: int) -> str:
    """The sources of one answer: each citation's title, date, link and its passage with the
    quoted sentence highlighted; or the "not in the corpus" state."""
    if answer.abstained:
        return (
            '<div class="not-in-corpus"><b>Not in the corpus.</b> No retrieved sentence '
            f"answers “{html.escape(answer.question)}”. Nearest articles:</div>"
            + _titles(answer.passages)
        )
    items = [
        f'<div class="src" id="source-{turn}-{c.n}">'
        f'<div class="title">[{c.n}] {_link(c.url, c.title)}</div>'
        f"{_meta_line(c.date, c.source, c.url, c.page)}"
        f'<div class="passage">{_in_passage(c, answer.passages)}</div></div>'
        for c in answer.citations
    ]
    return f"<p><b>Sources — {html.escape(answer.question)}</b></p>" + "".join(items)


def panel_html(turn_panels: list[str], current: str | None = None) -> str:
    """Newest first: the answer being written or the latest answer's sources, then earlier
    answers' sources folded."""
    if not turn_panels and current is None:
        return EMPTY_PANEL
    shown = [current] if current is not None else [turn_panels[-1]]
    earlier = turn_panels if current is not None else turn_panels[:-1]
    shown += [
        f"<details><summary>Earlier answer {i + 1}</summary>{h}</details>"
        for i, h in reversed(list(enumerate(earlier)))
    ]
    return "".join(shown)


def chat_markdown(answer: Answer, turn: int) -> str:
    """The answer for the chat: citations link to their source in the panel; a notice first."""
    text = (
        re.sub(
            r"\[(\d+)\]",
            lambda m: f"[\\[{m[1]}\\]](#source-{turn}-{m[1]})",
            answer.text.replace("\\", "\\\\"),
        )
        if answer.citations
        else answer.text
    )
    return f"⚠ {answer.notice}\n\n{text}" if answer.notice else text
