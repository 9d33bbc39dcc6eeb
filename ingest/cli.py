"""The `ingest` and `docs` command lines: one line per failed input on stderr, a summary, exit codes.

Exit codes: 0 all ingested, 1 some inputs failed or the store is unusable, 2 usage error.
`partnerbot ingest` and `partnerbot docs` reuse the functions here.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .errors import StoreMismatchError, StoreUnavailableError
from .fetch import is_url
from .loaders import SUPPORTED_SUFFIXES, normalize_date
from .lock import StoreBusyError
from .settings import Settings, get_settings

# What makes a store unusable for this command: reported as one `error:` line, exit 1.
STORE_ERRORS = (StoreMismatchError, StoreBusyError, StoreUnavailableError)


def add_store_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        type=Path,
        default=None,
        metavar="DIR",
        help="embedded Chroma store directory (default: PARTNERBOT_STORE)",
    )
    parser.add_argument(
        "--chroma-url",
        default=None,
        metavar="URL",
        help="use a Chroma server, e.g. http://127.0.0.1:8000 (default: PARTNERBOT_CHROMA_URL)",
    )


def printable(text: str) -> str:
    """Text for the operator's terminal: control characters (escape codes that could fake a
    line or clear the screen, from a hostile file name or title) shown as \\x.. escapes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings, with `--chroma-url` applied."""
    settings = get_settings()
    if getattr(args, "chroma_url", None):
        settings = settings.model_copy(update={"chroma_url": args.chroma_url})
    return settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH|URL",
        help=f"files ({', '.join(SUPPORTED_SUFFIXES)}), folders (recursive), "
        "http(s) article URLs or RSS/Atom feed URLs",
    )
    parser.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="GLOB",
        help="in folders, only files matching GLOB (repeatable)",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="in folders, skip files matching GLOB (repeatable)",
    )
    parser.add_argument(
        "--prune", action="store_true", help="also remove stored documents whose files are gone"
    )
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="re-chunk and re-embed everything stored with the current "
        "settings (after a model or chunking change)",
    )
    parser.add_argument("--title", help="title of the single document being added")
    parser.add_argument("--date", help="date (YYYY-MM-DD) of the single document being added")
    parser.add_argument("--url", help="link of the single document being added")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    bar = parser.add_mutually_exclusive_group()
    bar.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="show a progress bar (default: when stderr is a terminal)",
    )
    bar.add_argument("--no-progress", dest="progress", action="store_false")


class _Bar:
    """Documents and chunks per second on stderr (tqdm)."""

    def __init__(self, enabled: bool | None):
        from tqdm import tqdm

        self.started = time.perf_counter()
        self.bar = tqdm(
            unit=" docs",
            file=sys.stderr,
            disable=None if enabled is None else not enabled,
            dynamic_ncols=True,
            leave=True,
        )

    def __call__(self, label: str, outcome: str, report) -> None:
        elapsed = max(1e-6, time.perf_counter() - self.started)
        self.bar.set_postfix_str(
            f"{report.chunks} chunks, {report.chunks / elapsed:.1f} chunks/s, "
            f"{len(report.failed)} failed",
            refresh=False,
        )
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def _usage(parser_error, args: argparse.Namespace) -> None:
    if not args.paths and not args.prune and not args.rebuild:
        parser_error("give at least one PATH or URL (or --prune / --rebuild)")
    if args.title or args.date or args.url:
        single = len(args.paths) == 1 and (is_url(args.paths[0]) or Path(args.paths[0]).is_file())
        if not single:
            parser_error("--title/--date/--url apply to a single file or URL")
    if args.date and normalize_date(args.date) != args.date:
        parser_error(f"--date must be a date as YYYY-MM-DD, not {args.date!r}")
    if args.url and not is_url(args.url):
        parser_error(f"--url must start with http:// or https://, not {args.url!r}")


def run(args: argparse.Namespace, parser_error=None) -> int:
    from .pipeline import Overrides, ingest_paths, rebuild_store
    from .report import IngestReport

    def usage(message: str) -> None:
        print(f"usage error: {message}", file=sys.stderr)
        raise SystemExit(2)

    _usage(parser_error or usage, args)
    settings = settings_from(args)
    overrides = (
        Overrides(args.title, args.date, args.url)
        if (args.title or args.date or args.url)
        else None
    )
    bar = _Bar(args.progress)
    total = IngestReport()
    try:
        if args.rebuild:
            rebuilt = rebuild_store(args.store, settings, progress=bar)
            print(f"rebuilt {rebuilt.added} documents, {rebuilt.chunks} chunks", file=sys.stderr)
        if args.paths or args.prune:
            total = ingest_paths(
                args.paths,
                store=args.store,
                settings=settings,
                progress=bar,
                include=tuple(args.include),
                exclude=tuple(args.exclude),
                overrides=overrides,
                prune=args.prune,
            )
    except STORE_ERRORS as exc:
        bar.close()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    bar.close()
    for failure in total.failed:
        print(f"failed: {printable(failure.source)}: {printable(failure.reason)}", file=sys.stderr)
    if args.json:
        print(json.dumps(total.as_dict()))
    else:
        print(
            f"added {total.added}, updated {total.updated}, unchanged {total.unchanged}, "
            f"duplicate {total.duplicate}, removed {total.removed}, failed {len(total.failed)}; "
            f"{total.chunks} chunks written"
        )
    return 1 if total.failed else 0


def add_docs_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="docs_command", required=True)
    p_list = sub.add_parser("list", help="stored documents: title, date, source, chunks")
    add_store_argument(p_list)
    p_list.add_argument("--json", action="store_true", help="one JSON object per document")
    p_remove = sub.add_parser("remove", help="remove documents by path, URL or source name")
    add_store_argument(p_remove)
    p_remove.add_argument("sources", nargs="+", metavar="SOURCE")


def run_docs(args: argparse.Namespace) -> int:
    from .pipeline import remove_documents
    from .store import open_store

    settings = settings_from(args)
    try:
        if args.docs_command == "list":
            with open_store(args.store, settings) as db:
                docs = db.documents()
            for d in docs:
                if args.json:
                    print(json.dumps(d.as_dict(), ensure_ascii=False))
                else:
                    print(
                        f"{d.date or '----------'}  {d.chunks:5d}  "
                        f"{printable(d.title[:70]):70s}  {printable(d.key)}"
                    )
            if not args.json:
                print(
                    f"{len(docs)} documents, {sum(d.chunks for d in docs)} chunks", file=sys.stderr
                )
            return 0
        removed, missing = remove_documents(args.sources, args.store, settings)
    except STORE_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for key in missing:
        print(f"not found: {printable(key)}", file=sys.stderr)
    print(f"removed {removed} documents")
    return 1 if missing else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingest", description="Add documents to the Partnerbot store."
    )
    add_store_argument(parser)
    add_arguments(parser)
    return run(parser.parse_args(argv), parser.error)
