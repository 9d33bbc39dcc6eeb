"""Fetch an `http(s)://` address and parse what comes back: an article page, a PDF, plain text
or an RSS/Atom feed (each item a document). Network problems become one clear IngestError.

An address is untrusted: its host is resolved first and refused when any of its addresses is
loopback, private, link-local, reserved or multicast (unless `allow_private`, which tests of
local servers set); the connection goes to the address that was vetted, not to a second
lookup; every redirect hop is vetted again; one deadline covers the whole fetch, redirects
included; the body stops at the size limit.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import replace
from pathlib import PurePosixPath
from urllib.parse import urljoin, urlparse

from . import formats
from .errors import IngestError
from .loaders import MAX_BYTES, Article, decode_text, parse_text

USER_AGENT = "Partnerbot-ingest/0.1 (+offline RAG over partnership articles)"
MAX_REDIRECTS = 5


def is_url(value: str) -> bool:
    return str(value).lower().startswith(("http://", "https://"))


def vetted_address(url: str, allow_private: bool = False) -> str:
    """The IP address to connect to for `url`, or IngestError when the host may not be reached."""
    parts = urlparse(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IngestError(url, "only http:// and https:// addresses with a host can be fetched")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except ValueError as exc:  # a port out of range
        raise IngestError(url, f"bad address: {exc}") from exc
    except (socket.gaierror, UnicodeError) as exc:
        raise IngestError(url, f"cannot resolve the host {parts.hostname!r}") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not allow_private:
        for address in addresses:
            mapped = getattr(address, "ipv4_mapped", None) or address
            if not mapped.is_global or mapped.is_multicast:
                raise IngestError(
                    url,
                    f"refused: {parts.hostname} is a local or private "
                    "address (PARTNERBOT_FETCH_PRIVATE allows it)",
                )
    return str(addresses[0])


def fetch(
    url: str, timeout: float, limit: int = MAX_BYTES, allow_private: bool = False
) -> tuple[bytes, str, str]:
    """(body, content type, final URL) of a GET, or IngestError naming the URL and the reason.

    `timeout` is the deadline of the whole fetch, not of each read."""
    import httpx

    deadline = time.monotonic() + timeout
    current = url
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            for _hop in range(MAX_REDIRECTS + 1):
                ip = vetted_address(current, allow_private)
                parts = urlparse(current)
                host = f"[{ip}]" if ":" in ip else ip
                pinned = parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host)
                headers = {"User-Agent": USER_AGENT, "Host": parts.netloc.rpartition("@")[2]}
                left = deadline - time.monotonic()
                if left <= 0:
                    raise httpx.ReadTimeout("deadline")
                request = client.build_request(
                    "GET",
                    pinned.geturl(),
                    headers=headers,
                    timeout=left,
                    extensions={"sni_hostname": parts.hostname} if parts.scheme == "https" else {},
                )
                response = client.send(request, stream=True)
                try:
                    if response.is_redirect:
                        target = response.headers.get("location", "")
                        current = urljoin(current, target)
                        continue
                    if response.status_code >= 400:
                        raise IngestError(
                            url, f"HTTP {response.status_code} {response.reason_phrase}".strip()
                        )
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > limit:
                        raise IngestError(url, f"response is over the {limit / 1e6:g} MB limit")
                    body = bytearray()
                    for part in response.iter_bytes():
                        body.extend(part)
                        if len(body) > limit:
                            raise IngestError(url, f"response is over the {limit / 1e6:g} MB limit")
                        if time.monotonic() > deadline:
                            raise httpx.ReadTimeout("deadline")
                    ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
                    return bytes(body), ctype, current
                finally:
                    response.close()
            raise IngestError(url, f"more than {MAX_REDIRECTS} redirects")
    except httpx.TimeoutException as exc:
        raise IngestError(url, f"timed out after {timeout:g} s") from exc
    except httpx.ConnectError as exc:
        raise IngestError(url, "cannot connect to the host") from exc
    except httpx.HTTPError as exc:  # the network's own message may name internal hosts
        raise IngestError(url, f"cannot fetch ({type(exc).__name__})") from exc


def url_documents(
    url: str, timeout: float, limit: int = MAX_BYTES, allow_private: bool = False
) -> list[Article | IngestError]:
    """The documents behind one address: one article, or every item of a feed."""
    raw, ctype, final = fetch(url, timeout, limit, allow_private)
    if not raw.strip():
        raise IngestError(url, "the response is empty")
    suffix = PurePosixPath(urlparse(final).path).suffix.lower()
    source = urlparse(final).netloc or url
    if "rss" in ctype or "atom" in ctype or formats.looks_like_feed(raw):
        return list(formats.feed_articles(raw, url))
    if ctype == "application/pdf" or suffix == ".pdf" or raw.startswith(b"%PDF"):
        article = formats.pdf_article(raw, url, source)
    elif ctype in ("text/plain", "text/markdown") or suffix in (".txt", ".md"):
        article = parse_text(
            decode_text(raw, url), PurePosixPath(urlparse(final).path or "page"), source
        )
    else:
        article = formats.html_article(raw, url, source, url=final)
    return [replace(article, key=url, url=article.url or final, title=article.title or final)]
