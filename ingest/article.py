"""`Article`: one document's clean text with its title, date, URL and source, as every
loader makes it and the pipeline stores it."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

MAX_TITLE_CHARS = 500  # longer titles are cut (with "…") wherever they come from
MAX_URL_CHARS = 2000  # a longer "URL" is not kept as the article's link


@dataclass(frozen=True)
class Article:
    text: str
    source: str
    title: str
    date: str | None = None  # ISO YYYY-MM-DD
    url: str | None = None
    key: str = ""  # identity in the store (path, path#record, URL); set by the loader or caller
    language: str | None = None
    pages: tuple[int, ...] = ()  # PDF: where each page starts in `text`

    def __post_init__(self) -> None:
        title = " ".join(self.title.split())  # a title is one line, however it was written
        if len(title) > MAX_TITLE_CHARS:
            title = title[: MAX_TITLE_CHARS - 1].rstrip() + "…"
        object.__setattr__(self, "title", title)
        if self.url is not None and len(self.url) > MAX_URL_CHARS:
            object.__setattr__(self, "url", None)

    @property
    def content_hash(self) -> str:
        """Identity of what would be stored: the text and the metadata shown with it."""
        h = hashlib.sha256()
        for part in (self.title, self.date or "", self.url or "", self.text):
            h.update(part.encode("utf-8"))
            h.update(b"\x00")
        return h.hexdigest()


_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def normalize_date(value: object) -> str | None:
    """ISO `YYYY-MM-DD` from a date, datetime or a string that starts with one; else None."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        m = _ISO_DATE.search(value)
        if m:
            try:
                return dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
            except ValueError:
                return None
    return None
