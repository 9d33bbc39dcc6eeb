"""Fetch an `http(s)://` address and parse what comes back: an article page, a PDF, plain text
or an RSS/Atom feed (each item a document). Network problems become one clear IngestError."""

from __future__ import annotations

from dataclasses import replace
from pathlib import PurePosixPath
from urllib.parse import urlparse

from . import formats
from .errors import IngestError
from .loaders import MAX_BYTES, Article, decode_text, parse_text

USER_AGENT = "Partnerbot-ingest/0.1 (+offline RAG over partnership articles)"


def is_url(value: str) -> bool:
    return str(value).lower().startswith(("http://", "https://"))


def fetch(url: str, timeout: float, limit: int = MAX_BYTES) -> tuple[bytes, str, str]:
    """(body, content type, final URL) of a GET, or IngestError naming the URL and the reason."""
    import httpx

    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True,
                          headers={"User-Agent": USER_AGENT}) as response:
            if response.status_code >= 400:
                raise IngestError(url, f"HTTP {response.status_code} {response.reason_phrase}".strip())
            body = bytearray()
            for part in response.iter_bytes():
                body.extend(part)
                if len(body) > limit:
                    raise IngestError(url, f"response is over the {limit / 1e6:.0f} MB limit")
            ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
            return bytes(body), ctype, str(response.url)
    except httpx.TimeoutException as exc:
        raise IngestError(url, f"timed out after {timeout:g} s") from exc
    except httpx.HTTPError as exc:
        raise IngestError(url, f"cannot fetch: {exc}") from exc


def url_documents(url: str, timeout: float) -> list[Article | IngestError]:
    """The documents behind one address: one article, or every item of a feed."""
    raw, ctype, final = fetch(url, timeout)
    if not raw.strip():
        raise IngestError(url, "the response is empty")
    suffix = PurePosixPath(urlparse(final).path).suffix.lower()
    source = urlparse(final).netloc or url
    if "rss" in ctype or "atom" in ctype or formats.looks_like_feed(raw):
        return list(formats.feed_articles(raw, url))
    if ctype == "application/pdf" or suffix == ".pdf" or raw.startswith(b"%PDF"):
        article = formats.pdf_article(raw, url, source)
    elif ctype in ("text/plain", "text/markdown") or suffix in (".txt", ".md"):
        article = parse_text(decode_text(raw, url), PurePosixPath(urlparse(final).path or "page"),
                             source)
    else:
        article = formats.html_article(raw, url, source, url=final)
    return [replace(article, key=url, url=article.url or final, title=article.title or final)]
