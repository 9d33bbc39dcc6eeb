"""Answer latency of the default pipeline: retrieval, time to first token, total.

    python -m bench.answer_latency [--backend local|extractive] [--corpus DIR] [--limit N]

Ingests the corpus into a temporary store, asks each question once after one warm-up
question (model load is reported separately), and prints per-question figures and p50/p95.
Questions: ../shared/eval/dev-questions.jsonl over ../shared/corpus/partnerships when present,
else a few questions about corpus/.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FALLBACK = [
    "Which partners were not invited to the July 2021 meeting?",
    "Who hosted the first in-person meeting with NATO Partners at NATO HQ since the start of the pandemic?",
    "What did the Chair of the NATO Military Committee say about partners?",
    "What did NATO decide about Mongolia in 2019?",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="local", choices=["local", "extractive"])
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()

    from bot import ChatBot, Done, Partial, Retrieved
    from bot.evaluate import percentile
    from ingest import ingest_paths

    dev = SHARED / "eval" / "dev-questions.jsonl"
    if args.corpus is None and dev.exists():
        corpus = SHARED / "corpus" / "partnerships"
        questions = [json.loads(line)["question"] for line in dev.open() if line.strip()]
    else:
        corpus = args.corpus or ROOT / "corpus"
        questions = FALLBACK
    questions = questions[: args.limit] if args.limit else questions

    with tempfile.TemporaryDirectory() as store:
        t = time.perf_counter()
        report = ingest_paths([corpus], store=store)
        print(f"ingest: {report.added} documents, {report.chunks} chunks in "
              f"{time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        bot = ChatBot(store=store, backend=args.backend)
        if args.backend == "local":
            bot.llm
        print(f"load: {time.perf_counter() - t:.1f} s (embedder + store"
              f"{' + LLM' if args.backend == 'local' else ''})")
        bot.ask(FALLBACK[0])  # warm-up: first-call allocations, not a user-visible cost

        rows = []
        for q in questions:
            t0 = time.perf_counter()
            t_retrieved = t_first = None
            for event in bot.events(q):
                now = time.perf_counter() - t0
                if isinstance(event, Retrieved):
                    t_retrieved = now
                elif isinstance(event, Partial) and t_first is None:
                    t_first = now
                elif isinstance(event, Done):
                    total = now
                    answer = event.answer
            rows.append((t_retrieved, t_first if t_first is not None else total, total,
                         answer.abstained))
            print(f"{t_retrieved * 1000:7.0f} ms  first {rows[-1][1]:6.2f} s  total {total:6.2f} s"
                  f"  {'abstained' if answer.abstained else 'answered '}  {q[:70]}")

    print(f"\nmachine: {platform.machine()}, {__import__('os').cpu_count()} cores, "
          f"Python {platform.python_version()}; backend {args.backend}; {len(rows)} questions")
    for name, i in (("retrieval ms", 0), ("first token s", 1), ("total s", 2)):
        vals = [r[i] * (1000 if i == 0 else 1) for r in rows]
        print(f"{name:14} p50 {percentile(vals, 0.5):8.2f}   p95 {percentile(vals, 0.95):8.2f}")


if __name__ == "__main__":
    main()
