"""Parse the formats beyond plain text and Markdown: HTML, PDF, DOCX, JSON Lines, RSS/Atom.

Each parser takes the raw bytes and `origin` (the file path or URL named in errors) and
returns Articles; a problem with the whole input raises `IngestError(origin, reason)`, a problem
with one record of a multi-document input (a JSONL line, a feed item) is yielded as an
`IngestError` naming that record, so the other records still go in.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from typing import Any, Iterator, cast

from .article import Article, normalize_date
from .errors import IngestError

_BLANK_RUNS = re.compile(r"\n{3,}")
MIN_ARTICLE_WORDS = 10
MAX_PDF_PAGES = 2000  # a small file can claim tens of thousands of pages
MAX_TEXT_CHARS = 4_000_000  # text extracted from one PDF before it is refused
MAX_DOCX_UNPACKED = 200_000_000  # bytes a .docx may expand to
MAX_DOCX_RATIO = 200  # a member compressed more than this is a zip bomb, not a document
MAX_DOCX_MEMBERS = 5000


def _tidy(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.replace("\r", "\n").split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


def html_article(raw: bytes | str, origin: str, source: str, url: str | None = None) -> Article:
    """The main text of a web page (navigation, footers and comments left out) and its metadata."""
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(
            raw, url=url, with_metadata=True, include_comments=False, include_tables=True
        )
    except Exception as exc:  # lxml raises a zoo of errors on broken markup
        raise IngestError(origin, f"cannot parse the HTML: {exc}") from exc
    doc = cast(Any, doc)  # trafilatura 2 returns a Document (a dict only when asked)
    text = _tidy(doc.text or "") if doc is not None else ""
    if len(text.split()) < MIN_ARTICLE_WORDS:  # trafilatura falls back to menu labels
        raise IngestError(origin, "no article text found in the HTML (only navigation or markup)")
    title = (doc.title or "").strip()
    first, _, rest = text.partition("\n")
    if title and first.strip() == title and rest.strip():
        text = rest.strip()  # trafilatura repeats the headline as the first line
    return Article(
        text=text, source=source, title=title, date=normalize_date(doc.date), url=url or doc.url
    )


def pdf_article(raw: bytes, origin: str, source: str) -> Article:
    """The text of every page; `pages` records where each page starts, for citations."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise IngestError(origin, "the PDF is encrypted")
        parts: list[str] = []
        starts: list[int] = []
        offset = 0
        if len(reader.pages) > MAX_PDF_PAGES:
            raise IngestError(
                origin, f"the PDF has {len(reader.pages):,} pages; the limit is {MAX_PDF_PAGES:,}"
            )
        for page in reader.pages:
            page_text = _tidy(page.extract_text() or "")
            if offset + len(page_text) > MAX_TEXT_CHARS:
                raise IngestError(
                    origin, f"the PDF holds over {MAX_TEXT_CHARS:,} characters of text"
                )
            if offset:
                offset += 2  # the "\n\n" joining pages
            starts.append(offset)
            parts.append(page_text)
            offset += len(page_text)
        info: Any = reader.metadata or {}
    except IngestError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise IngestError(origin, f"not a readable PDF: {exc}") from exc
    text = "\n\n".join(parts)
    if not text.strip():
        raise IngestError(origin, "the PDF has no extractable text (scanned images?)")
    title = str(info.get("/Title") or "").strip()
    date = _pdf_date(str(info.get("/CreationDate") or ""))
    return Article(text=text, source=source, title=title, date=date, pages=tuple(starts))


def _pdf_date(value: str) -> str | None:
    m = re.match(r"D:(\d{4})(\d{2})(\d{2})", value)
    return normalize_date(f"{m[1]}-{m[2]}-{m[3]}") if m else None


def _check_zip(raw: bytes, origin: str) -> None:
    """Refuse a .docx whose members would unpack to more than a document can hold: checked
    from the zip's directory, before anything is decompressed."""
    import zipfile

    try:
        members = zipfile.ZipFile(io.BytesIO(raw)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise IngestError(origin, f"not a readable .docx file: {exc}") from exc
    if len(members) > MAX_DOCX_MEMBERS:
        raise IngestError(
            origin, f"the .docx holds {len(members):,} parts; the limit is {MAX_DOCX_MEMBERS:,}"
        )
    total = sum(m.file_size for m in members)
    if total > MAX_DOCX_UNPACKED:
        raise IngestError(
            origin,
            f"the .docx unpacks to {total / 1e6:,.0f} MB; the limit is "
            f"{MAX_DOCX_UNPACKED / 1e6:.0f} MB",
        )
    for m in members:
        if m.file_size > 1_000_000 and m.file_size > MAX_DOCX_RATIO * max(m.compress_size, 1):
            raise IngestError(
                origin,
                f"the .docx part {m.filename!r} is compressed "
                f"{m.file_size // max(m.compress_size, 1):,} to 1 "
                "(a zip bomb)",
            )


def docx_article(raw: bytes, origin: str, source: str) -> Article:
    import docx

    _check_zip(raw, origin)
    try:
        document = docx.Document(io.BytesIO(raw))
    except Exception as exc:  # python-docx raises zipfile, KeyError, lxml errors
        raise IngestError(origin, f"not a readable .docx file: {exc}") from exc
    text = _tidy("\n\n".join(p.text for p in document.paragraphs))
    if not text:
        raise IngestError(origin, "the document has no text")
    props = document.core_properties
    created = props.created if isinstance(props.created, dt.datetime) else None
    return Article(
        text=text, source=source, title=(props.title or "").strip(), date=normalize_date(created)
    )


def jsonl_articles(text: str, origin: str, source: str) -> Iterator[Article | IngestError]:
    """One document per line: `text` (required), optional `title`, `date`, `url`, `id`.

    A line's identity is `origin#<id, url or line number>`, so editing one line updates only it.
    """
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{origin}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield IngestError(where, f"invalid JSON: {exc.msg} at column {exc.colno}")
            continue
        if not isinstance(record, dict):
            yield IngestError(where, 'a line must be a JSON object with a "text" field')
            continue
        body = record.get("text")
        if not isinstance(body, str) or not body.strip():
            yield IngestError(where, 'missing or empty "text" field')
            continue
        url = record.get("url") if isinstance(record.get("url"), str) else None
        ident = record.get("id") or url or f"line-{number}"
        title = str(record.get("title") or "").strip() or f"{source} line {number}"
        yield Article(
            text=_tidy(body),
            source=f"{source}:{number}",
            title=title,
            date=normalize_date(record.get("date")),
            url=url,
            key=f"{origin}#{ident}",
        )


def looks_like_feed(raw: bytes) -> bool:
    head = raw[:2048].lstrip().lower()
    return head.startswith(b"<?xml") and any(
        tag in raw[:4096].lower() for tag in (b"<rss", b"<feed", b"<rdf:rdf")
    )


def feed_articles(raw: bytes, origin: str) -> Iterator[Article | IngestError]:
    """Each RSS/Atom item becomes a document identified by its link (or id)."""
    import feedparser

    head = raw.lower()
    if b"<!entity" in head or b"<!doctype" in head:
        # entity declarations expand a small feed into gigabytes; no real feed needs them
        raise IngestError(origin, "the feed declares a DOCTYPE or ENTITY; such feeds are refused")
    feed = feedparser.parse(raw)
    if not feed.entries:
        problem = getattr(feed, "bozo_exception", None)
        raise IngestError(
            origin, f"not an RSS/Atom feed with items{': ' + str(problem) if problem else ''}"
        )
    feed_title = str(feed.feed.get("title") or origin)
    for i, entry in enumerate(feed.entries, start=1):
        where = f"{origin} item {i}"
        link = entry.get("link") or entry.get("id")
        if not link:
            yield IngestError(where, "item has no link or id")
            continue
        html = ""
        if entry.get("content"):
            html = entry.content[0].get("value", "")
        html = html or entry.get("summary", "") or entry.get("description", "")
        body = _html_to_text(html)
        title = str(entry.get("title") or "").strip()
        if not body:
            yield IngestError(where, f"item {link} has no text")
            continue
        parsed = entry.get("published_parsed") or entry.get("updated_parsed")
        date = dt.date(*parsed[:3]).isoformat() if parsed else None
        yield Article(
            text=body,
            source=feed_title,
            title=title or link,
            date=date,
            url=link if link.lower().startswith(("http://", "https://")) else None,
            key=f"{origin}#{link}",
        )  # under the feed: an item never names another document


def _html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment (feed summaries are short: no boilerplate removal)."""
    if "<" not in fragment:
        return _tidy(fragment)
    import lxml.html

    try:
        root = lxml.html.fromstring(f"<div>{fragment}</div>")
    except Exception:  # noqa: BLE001 - unparsable markup: fall back to stripping tags
        return _tidy(re.sub(r"<[^<>]+>", " ", fragment))
    for bad in root.xpath("//script|//style"):
        bad.drop_tree()
    for block in root.xpath("//p|//br|//li|//div|//h1|//h2|//h3|//h4"):
        block.tail = "\n\n" + (block.tail or "")
    return _tidy(root.text_content())
