"""Partnerbot's web chat over `corpus/`: `python app.py [--port N] [--store DIR] [--corpus DIR]`.

Serves on 127.0.0.1 at the port from `--port`, `PARTNERBOT_PORT`, `GRADIO_SERVER_PORT` or
7860; on an empty store it indexes the built-in library (`corpus/`, or `--corpus`) in the
background meanwhile.
"""

import argparse
import sys
from pathlib import Path

from bot.interfaces.web import serve
from ingest.cli import STORE_ERRORS

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--store", type=Path, default=None)
    parser.add_argument("--corpus", type=Path, default=Path(__file__).parent / "corpus")
    args = parser.parse_args()
    try:
        serve(store=args.store, corpus=args.corpus, port=args.port)
    except STORE_ERRORS as exc:  # busy, built with other settings, or server unreachable
        sys.exit(f"error: {exc}")
