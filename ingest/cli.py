"""The `ingest` command line: one line per failed file on stderr, a summary, exit codes.

Exit codes: 0 all ingested, 1 some files failed, 2 usage error (argparse's own).
`partnerbot ingest` reuses `add_arguments` and `run` from here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import StoreMismatchError
from .pipeline import ingest_paths


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or folders (.txt, .md)")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")


def run(args: argparse.Namespace) -> int:
    try:
        report = ingest_paths(args.paths, store=args.store)
    except StoreMismatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for failure in report.failed:
        print(f"failed: {failure.source}: {failure.reason}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.as_dict()))
    else:
        print(f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
              f"duplicate {report.duplicate}, failed {len(report.failed)}; "
              f"{report.chunks} chunks written")
    return 1 if report.failed else 0


def add_store_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", type=Path, default=None, metavar="DIR",
                        help="Chroma store directory (default: PARTNERBOT_STORE)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest",
                                     description="Add documents to the Partnerbot store.")
    add_store_argument(parser)
    add_arguments(parser)
    return run(parser.parse_args(argv))
