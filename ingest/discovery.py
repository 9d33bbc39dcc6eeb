"""Which documents an ingest reads: files under folders (with `.partnerbotignore`, include and
exclude globs), single files, URLs and feeds, each parsed in the sandbox; a failure goes to
the report and the rest go on."""

from __future__ import annotations

import fnmatch
import os
import stat
from functools import partial
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .article import Article
from .errors import IngestError
from .fetch import is_url
from .loaders import SUPPORTED_SUFFIXES
from .report import Failure, IngestReport
from .sandbox import shared_sandbox
from .settings import Settings


def _matches(rel: str, patterns: Iterable[str]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(name, p) for p in patterns)


IGNORE_FILE = ".partnerbotignore"


IGNORE_MAX_BYTES = 64_000


def ignored_patterns(root: Path) -> tuple[str, ...]:
    """The globs of `root/.partnerbotignore` (none when it is missing, not a regular file, or
    over 64 KB). `dir/` means everything under it; a leading `/` is the folder's root."""
    path = root / IGNORE_FILE
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > IGNORE_MAX_BYTES:
            return ()
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ()
    patterns = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = line.lstrip("/")
        patterns.append(line + "*" if line.endswith("/") else line)
    return tuple(patterns)


def iter_files(
    root: Path, include: tuple[str, ...] = (), exclude: tuple[str, ...] = ()
) -> list[Path]:
    """Supported files under `root`, recursive and sorted; hidden entries skipped; symlinked
    folders are not followed (no loops). Globs match the path relative to `root` or the name;
    a `.partnerbotignore` in `root` adds its lines (globs; `#` comments) to `exclude`."""
    exclude = (*exclude, *ignored_patterns(root))
    found = []
    for dirpath, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.startswith("."):
                continue
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            if include:
                if not _matches(rel, include):
                    continue
            elif not name.lower().endswith(SUPPORTED_SUFFIXES):
                continue
            if exclude and _matches(rel, exclude):
                continue
            found.append(full)
    return sorted(found)


def iter_documents(
    inputs: Iterable[str | Path],
    report: IngestReport,
    settings: Settings,
    include: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
) -> Iterator[tuple[str, Article]]:
    """(label, article) for every document behind `inputs`; failures go to `report`."""
    limit = int(settings.max_file_mb * 1e6)
    sandbox = shared_sandbox(settings.parse_memory_mb, settings.parse_seconds)

    def expand(label: str, load: Callable[[], list]) -> Iterator[tuple[str, Article]]:
        try:
            docs = load()
        except IngestError as exc:
            report.failed.append(Failure(exc.source, exc.reason))
            return
        for doc in docs:
            if isinstance(doc, IngestError):
                report.failed.append(Failure(doc.source, doc.reason))
            else:
                yield label, doc

    for raw in inputs:
        value = str(raw)
        if is_url(value):
            yield from expand(
                value,
                partial(
                    sandbox.load_url,
                    value,
                    settings.fetch_timeout,
                    limit,
                    settings.fetch_private,
                    settings.max_doc_chars,
                ),
            )
            continue
        path = Path(value)
        if path.is_dir():
            files = iter_files(path, include, exclude)
            if not files:
                report.failed.append(
                    Failure(
                        value, f"folder has no supported files ({', '.join(SUPPORTED_SUFFIXES)})"
                    )
                )
            for f in files:
                yield from expand(
                    str(f), partial(sandbox.load_file, f, limit, settings.max_doc_chars)
                )
        elif path.exists() or path.is_symlink():
            yield from expand(
                value, partial(sandbox.load_file, path, limit, settings.max_doc_chars)
            )
        else:
            report.failed.append(Failure(value, "no such file, folder or URL"))
