"""Partnerbot's web chat over `corpus/`: `python app.py [--port N] [--store DIR]`.

Ingests `corpus/` when the store is empty, then serves on 127.0.0.1 at the port from
`--port`, `PARTNERBOT_PORT`, `GRADIO_SERVER_PORT` or 7860.
"""

import argparse
from pathlib import Path

from bot.web import serve

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--store", type=Path, default=None)
    args = parser.parse_args()
    serve(store=args.store, corpus=Path(__file__).parent / "corpus", port=args.port)
