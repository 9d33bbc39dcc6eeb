"""A new user's first start, timed: `python app.py` on an empty store, the default settings.

    python -m bench.first_start [--port N]

Prints seconds from the command to: the chat serving; the first cited answer (an example
question asked as soon as it serves and every 3 s until it is answered with a citation, while
the built-in library is indexed); the whole library
indexed (370 documents, in the background); and a cited answer to a question only a bundled
White House release answers, asked once the library is indexed. The store and the app's output
are in a temporary folder; the model files are the user's cache, as on any later start.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.suite import ROOT, machine

FIRST = "Who did Allies welcome as the next NATO Secretary General?"
WHITE_HOUSE_ONLY = "Where was NATO's 2026 summit held?"  # corpus/whitehouse-cc0 alone says it


def _ask(url: str, question: str) -> dict:
    body = json.dumps({"messages": [{"role": "user", "content": question}]}).encode()
    request = urllib.request.Request(
        url + "/v1/chat/completions", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=600) as r:
        return json.loads(r.read())


def _cited(reply: dict, suffix: str = "") -> bool:
    return not reply["abstained"] and any(
        c["source"].endswith(suffix) for c in reply.get("citations", [])
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.port:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            args.port = s.getsockname()[1]
    url = f"http://127.0.0.1:{args.port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTNERBOT_")}
    print(machine(), flush=True)
    with tempfile.TemporaryDirectory(prefix="partnerbot-first-start-") as home:
        log = Path(home) / "app.log"
        with open(log, "w") as out:
            start = time.perf_counter()
            cmd = [sys.executable, str(ROOT / "app.py"), "--store", f"{home}/store"]
            proc = subprocess.Popen(
                [*cmd, "--port", str(args.port)], cwd=home, env=env, stdout=out, stderr=out
            )
        at = lambda: time.perf_counter() - start  # noqa: E731
        try:
            while True:
                try:
                    urllib.request.urlopen(url + "/", timeout=2)
                    break
                except OSError:
                    if proc.poll() is not None:
                        raise SystemExit(log.read_text()) from None
                    time.sleep(0.2)
            served = at()
            print(f"serving after {served:.1f} s", flush=True)
            first = _ask(url, FIRST)
            while not _cited(first):  # nothing indexed yet: asked again, as a user would
                time.sleep(3)
                first = _ask(url, FIRST)
            first_s = at()
            print(
                f"first answer after {first_s:.1f} s (cited: {_cited(first)}; "
                f"notice: {first.get('notice')})",
                flush=True,
            )
            while "built-in library: indexed" not in log.read_text():
                if proc.poll() is not None:
                    raise SystemExit(log.read_text())
                time.sleep(0.5)
            indexed = at()
            print(f"library indexed after {indexed:.1f} s", flush=True)
            reply = _ask(url, WHITE_HOUSE_ONLY)
            answered = at()
            print(
                f"answer only a White House release gives, after {answered:.1f} s "
                f"(cited from whitehouse-cc0: {_cited(reply, '.md')}): "
                f"{reply['choices'][0]['message']['content'].splitlines()[0]}",
                flush=True,
            )
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(
        f"\n| first start (empty store) | seconds |\n|---|---|\n| chat serving | {served:.1f} |\n"
        f"| first cited answer | {first_s:.1f} |\n| library indexed (370 documents) | "
        f"{indexed:.1f} |\n| cited answer from a White House release | {answered:.1f} |"
    )


if __name__ == "__main__":
    main()
