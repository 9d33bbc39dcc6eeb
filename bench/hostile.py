"""Answer time while hostile files are being ingested, against idle; and the memory they cost.

    python -m bench.hostile [--backend extractive|local] [--rounds N]

Ingests the corpus (../shared/corpus/partnerships when present, else corpus/) into a
temporary store, then asks the questions of `bench.answer_latency` once with nothing else
running (idle) and once while another thread ingests, round after round into the same store
(as the web app's "Add documents" does), a folder of hostile files: a YAML alias bomb, a zip
bomb .docx, a PDF claiming 50,000 pages, 2.4 MB of unclosed Markdown brackets (parsed, then
over the document length limit) and a 60 MB .txt (over the size limit). Prints p50/p95 of both, their
ratio, how each hostile file failed, and the peak memory (VmHWM) of this process and of the
parser's child process.
"""

from __future__ import annotations

import argparse
import io
import platform
import statistics
import tempfile
import threading
import time
import zipfile
from pathlib import Path

from .answer_latency import _questions


def hostile_folder(folder: Path) -> Path:
    """Write the hostile files (each small on disk or refused by size) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "alias-bomb.md").write_text(
        "---\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        + "".join(
            f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")
        )
        + "title: [*i, *i, *i, *i, *i, *i, *i, *i, *i]\n---\nBody.\n"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"\0" * 300_000_000)
    (folder / "zip-bomb.docx").write_bytes(buf.getvalue())
    kids = " ".join(["3 0 R"] * 50_000)
    stream = b"BT /F1 11 Tf 40 700 Td (NATO partners met again.) Tj ET"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count 50000 >>".encode(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    (folder / "pages.pdf").write_bytes(bytes(out))
    (folder / "brackets.md").write_text("Title: Brackets\n\n" + "[a](" * 600_000)
    with open(folder / "huge.txt", "wb") as fh:
        fh.truncate(60 * 1024 * 1024)
    return folder


def _peak_mb(pid: int | str = "self") -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="extractive", choices=("extractive", "local"))
    parser.add_argument("--rounds", type=int, default=2, help="times the questions are asked")
    args = parser.parse_args(argv)

    from bot import ChatBot
    from ingest import ingest_paths
    from ingest.sandbox import shared_sandbox
    from ingest.settings import get_settings
    from ingest.store import open_store

    corpus, questions = _questions(None)
    questions = [q for q, history in questions if not history]
    settings = get_settings()
    with tempfile.TemporaryDirectory() as tmp:
        db = open_store(Path(tmp) / "store", settings, write=True)
        ingest_paths([corpus], settings=settings, db=db)
        folder = hostile_folder(Path(tmp) / "hostile")
        bot = ChatBot(store=db, backend=args.backend, settings=settings)
        bot.ask(questions[0])  # warm-up: model and indexes loaded

        def timed() -> list[float]:
            out = []
            for _ in range(args.rounds):
                for q in questions:
                    t0 = time.perf_counter()
                    bot.ask(q)
                    out.append(time.perf_counter() - t0)
            return out

        idle = timed()
        stop = threading.Event()
        failures: dict[str, str] = {}
        rounds = 0

        def attack():
            nonlocal rounds
            while not stop.is_set():
                report = ingest_paths([folder], settings=settings, db=db)
                failures.update({Path(f.source).name: f.reason for f in report.failed})
                rounds += 1

        thread = threading.Thread(target=attack, daemon=True)
        thread.start()
        busy = timed()
        stop.set()
        thread.join()
        child = shared_sandbox(settings.parse_memory_mb, settings.parse_seconds)._proc
        child_peak = _peak_mb(child.pid) if child is not None and child.poll() is None else None

    def p(xs, q):
        return statistics.quantiles(xs, n=20)[18] if q == 95 else statistics.median(xs)

    print(
        f"machine: {platform.machine()}, {__import__('os').cpu_count()} cores, "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}; backend "
        f"{args.backend}; corpus {corpus.name}; {len(idle)} answers each"
    )
    print("| | p50 s | p95 s |\n|---|---|---|")
    print(f"| idle | {p(idle, 50):.3f} | {p(idle, 95):.3f} |")
    print(
        f"| while hostile files are ingested ({rounds} rounds) | {p(busy, 50):.3f} | "
        f"{p(busy, 95):.3f} |"
    )
    print(f"ratio p50 {p(busy, 50) / p(idle, 50):.2f}, p95 {p(busy, 95) / p(idle, 95):.2f}")
    for name, reason in sorted(failures.items()):
        print(f"failed: {name}: {reason}")
    print(
        f"peak memory: this process {_peak_mb():.0f} MB; parser child "
        f"{f'{child_peak:.0f} MB' if child_peak else 'not running'} "
        f"(cap {settings.parse_memory_mb:g} MB)"
    )


if __name__ == "__main__":
    main()
