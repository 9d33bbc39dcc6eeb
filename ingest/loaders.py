"""Turn one file into `Article`s: clean text plus title, date, URL and source.

`load_documents` picks the parser by suffix: `.txt`/`.md` here, HTML, PDF, DOCX and JSON Lines
in `formats.py`.

Two header styles are understood:

* a block of `Title:` / `Date:` / `Source:` lines, a blank line, then the text
  (the project's corpus format);
* YAML front matter between `---` lines (`title`, `date`, `source_url` / `url`), followed by
  Markdown, whose links, emphasis and hard line wraps are flattened to plain prose.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import replace
from pathlib import Path, PurePath

import yaml

from . import formats
from .article import Article, normalize_date
from .errors import IngestError

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + (".html", ".htm", ".pdf", ".docx", ".jsonl")
MAX_BYTES = 20 * 1024 * 1024
MAX_FRONT_MATTER = 64 * 1024  # characters of YAML before a Markdown or text document
_HEADER_LINE = re.compile(r"^(title|date|source|url|link)\s*:\s*(.*)$", re.IGNORECASE)


def _is_url(value: str | None) -> bool:
    return bool(value) and str(value).lower().startswith(("http://", "https://"))


def read_bytes(path: Path, limit: int = MAX_BYTES) -> bytes:
    """The file's bytes; a clear IngestError for special files, unreadable or oversized ones."""
    try:
        info = path.stat()
        if not path.is_file():
            raise IngestError(str(path), "not a regular file")
        if info.st_size > limit:
            raise IngestError(
                str(path), f"file is {info.st_size / 1e6:.0f} MB; the limit is {limit / 1e6:.0f} MB"
            )
        return path.read_bytes()
    except OSError as exc:
        raise IngestError(str(path), f"cannot read file: {exc.strerror or exc}") from exc


def decode_text(raw: bytes, origin: str) -> str:
    """UTF-8 (BOM allowed), else Windows-1252; refuse binary and empty content."""
    if b"\x00" in raw[:8192]:
        raise IngestError(origin, "binary content (NUL bytes), not a text file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise IngestError(origin, "file is empty" if not raw else "file has only whitespace")
    return text


# libyaml's loader when PyYAML was built with it (10x faster on a re-run of 1,000 files).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _split_front_matter(text: str, source: str) -> tuple[dict, str]:
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---", 4)
    if end < 0:
        return {}, text
    block = text[4:end]
    if len(block) > MAX_FRONT_MATTER:
        raise IngestError(
            source,
            f"YAML front matter is {len(block):,} characters; the limit is {MAX_FRONT_MATTER:,}",
        )
    try:
        if ("&" in block or "*" in block) and any(
            isinstance(t, (yaml.AnchorToken, yaml.AliasToken))
            for t in yaml.scan(block, Loader=yaml.SafeLoader)
        ):
            # aliases let a few hundred bytes expand to gigabytes ("billion laughs")
            raise IngestError(
                source, "YAML front matter uses anchors or aliases (& or *); they are not accepted"
            )
        meta = yaml.load(block, Loader=_YAML_LOADER) or {}
    except yaml.YAMLError as exc:
        raise IngestError(
            source, f"invalid YAML front matter: {exc.problem if hasattr(exc, 'problem') else exc}"
        ) from exc
    if not isinstance(meta, dict):
        raise IngestError(source, "YAML front matter is not a mapping")
    body = text[end + 4 :]
    return meta, body.split("\n", 1)[1] if "\n" in body else ""


def _split_header_lines(text: str) -> tuple[dict, str]:
    """The `Title:`/`Date:`/`Source:` block: consecutive header lines ended by a blank line."""
    meta: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines) and lines[i].strip():
        m = _HEADER_LINE.match(lines[i].strip())
        if not m:
            return {}, text
        meta[m[1].lower()] = m[2].strip()
        i += 1
    if not meta or "title" not in meta:
        return {}, text
    return meta, "\n".join(lines[i + 1 :])


_MD_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1", re.DOTALL)
# [^<>] and not [^>]: a run of unclosed "<b" costs linear time, not quadratic.
# An inline tag with its attributes ("<sup>", '<span style="...">'): not "<sub-committee>"
# nor the "<b and y>" of a formula. A line break becomes a space.
_MD_INLINE_TAG = re.compile(
    r"</?(?:u|em|strong|b|i|sup|sub|span)"
    r"(?:\s+[\w:-]{1,40}\s*=\s*(?:\"[^\"<>]{0,200}\"|'[^'<>]{0,200}'|[^\s<>]{1,200})){0,10}\s*/?>",
    re.IGNORECASE,
)
_BREAK_TAG = re.compile(r"<br\s*/?>", re.IGNORECASE)


def strip_inline_tags(text: str) -> str:
    """`text` without inline HTML tags ("31<sup>st</sup>" -> "31st"; "<br>" -> a space)."""
    return _MD_INLINE_TAG.sub("", _BREAK_TAG.sub(" ", text))


_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>])")
_MD_BLOCK_START = re.compile(r"^\s*(#{1,6}\s|[-*+]\s|\d+[.)]\s|>|\|)")


def _matching(text: str, opener: str, closer: str) -> dict[int, int]:
    """Position of each bracket's partner, found with one stack in one pass (linear time)."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for i, ch in enumerate(text):
        if ch == opener:
            stack.append(i)
        elif ch == closer and stack:
            pairs[stack.pop()] = i
    return pairs


def strip_markdown_links(text: str) -> str:
    return _strip_brackets(_strip_brackets(text, images=True), images=False)


def _strip_brackets(text: str, images: bool) -> str:
    """Markdown images dropped and links reduced to their text, in linear time.

    A link is `[text](target)` with no space in the target (line breaks allowed: hard-wrapped
    Markdown); an image is `![alt](anything)`. Brackets are paired by a stack rather than by a
    backtracking pattern, so a hostile file of unclosed brackets costs one pass. Images go in a
    first pass, so an image inside a link's text is gone before the link is reduced."""
    if "](" not in text:
        return text
    squares = _matching(text, "[", "]")
    rounds = _matching(text, "(", ")")
    blanks = [m.start() for m in re.finditer(r"[ \t]", text)] if not images else []
    out: list[str] = []
    i = done = 0
    while True:
        i = text.find("[", i)
        if i < 0:
            break
        close = squares.get(i)
        if (
            close is None
            or close + 1 >= len(text)
            or text[close + 1] != "("
            or (close + 1) not in rounds
        ):
            i += 1
            continue
        end = rounds[close + 1]
        image = i > 0 and text[i - 1] == "!"
        if image != images or (not image and _has_blank(blanks, close + 2, end)):
            i += 1
            continue
        out.append(text[done : i - 1] if image else text[done:i])
        if not image:
            out.append(text[i + 1 : close])
        done = i = end + 1
    out.append(text[done:])
    return "".join(out)


def _has_blank(blanks: list[int], start: int, end: int) -> bool:
    at = bisect.bisect_left(blanks, start)
    return at < len(blanks) and blanks[at] < end


def _inline_markdown(text: str) -> str:
    text = strip_markdown_links(text)
    text = _MD_EMPHASIS.sub(r"\2", text)
    return _MD_ESCAPE.sub(r"\1", strip_inline_tags(text))


def markdown_to_text(md: str) -> str:
    """Plain prose from Markdown: unwrap hard-wrapped paragraphs, then drop images, link
    targets, emphasis marks and inline tags (after unwrapping: link targets span lines)."""
    md = strip_markdown_links(md)
    paragraphs: list[str] = []
    current: list[str] = []
    for line in md.split("\n"):
        stripped = line.strip()
        if not stripped:
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        if _MD_BLOCK_START.match(line) and current:
            paragraphs.append(" ".join(current))
            current = []
        if re.match(r"#{1,6}\s", stripped):  # a heading is a paragraph of its own
            paragraphs.append(stripped.lstrip("#").strip())
            continue
        current.append(stripped)
    if current:
        paragraphs.append(" ".join(current))
    cleaned = (" ".join(_inline_markdown(p).split()) for p in paragraphs)
    return "\n\n".join(p for p in cleaned if p)


def _clean_plain(text: str) -> str:
    """Plain text keeps its lines; Markdown images and link targets pasted into it are
    dropped, and so are inline HTML tags copied with it ("NATO’s 31<sup>st</sup> Ally")."""
    text = strip_inline_tags(strip_markdown_links(text))
    lines = [ln.rstrip() for ln in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def load_documents(
    path: Path, source: str | None = None, limit: int = MAX_BYTES
) -> list[Article | IngestError]:
    """Every document in one file. A whole-file problem raises IngestError; a bad record of a
    JSON Lines file comes back as an IngestError in the list, beside the good ones."""
    suffix = path.suffix.lower()
    source = source or path.name
    if suffix not in SUPPORTED_SUFFIXES:
        raise IngestError(
            str(path),
            f"unsupported file type '{suffix or '(none)'}'; "
            f"supported: {', '.join(SUPPORTED_SUFFIXES)}",
        )
    raw = read_bytes(path, limit)  # first: it names loops, special and unreadable files
    key = str(path.resolve())
    if suffix == ".jsonl":
        return list(formats.jsonl_articles(decode_text(raw, str(path)), key, source))
    if not raw.strip():
        raise IngestError(str(path), "file is empty" if not raw else "file has only whitespace")
    if suffix in (".html", ".htm"):
        article = formats.html_article(raw, str(path), source)
    elif suffix == ".pdf":
        article = formats.pdf_article(raw, str(path), source)
    elif suffix == ".docx":
        article = formats.docx_article(raw, str(path), source)
    else:
        article = parse_text(decode_text(raw, str(path)), path, source)
    if not article.title:
        article = replace(article, title=_title_from_name(path))
    return [replace(article, key=key)]


def _title_from_name(path: PurePath) -> str:
    return path.stem.replace("-", " ").replace("_", " ").strip() or path.name


def load_file(path: Path, source: str | None = None) -> Article:
    """The one document of a `.txt`/`.md`/`.html`/`.pdf`/`.docx` file, or IngestError."""
    docs = load_documents(path, source)
    if len(docs) != 1 or isinstance(docs[0], IngestError):
        raise IngestError(str(path), "holds several documents; use load_documents")
    return docs[0]


def parse_text(text: str, path: PurePath, source: str) -> Article:
    """A `.txt`/`.md` file's text (decoded) into an Article."""
    meta, body = _split_front_matter(text, str(path))
    is_markdown = path.suffix.lower() in (".md", ".markdown")
    if meta:
        body = markdown_to_text(body) if is_markdown else _clean_plain(body)
        title = str(meta.get("title") or "").strip()
        date = normalize_date(meta.get("date") or meta.get("published_time"))
        url = next(
            (
                str(meta[k])
                for k in ("source_url", "url", "link", "source")
                if _is_url(str(meta.get(k) or ""))
            ),
            None,
        )
    else:
        meta, body = _split_header_lines(text)
        body = markdown_to_text(body) if is_markdown else _clean_plain(body)
        title = meta.get("title", "").strip()
        date = normalize_date(meta.get("date"))
        url = next((meta[k] for k in ("source", "url", "link") if _is_url(meta.get(k))), None)
    if not body.strip():
        raise IngestError(str(path), "no text after the header")
    return Article(
        text=body, source=source, title=title or _title_from_name(path), date=date, url=url
    )
