"""Where an answer's time goes, against llama.cpp's own floor for the same prompts.

    python -m bench.answer_latency [--backend local|extractive] [--corpus DIR] [--limit N]

Ingests the corpus into a temporary store, loads the model (reported separately), asks one
warm-up question, then asks each question once and prints per question and as p50/p95:

* prompt tokens (the model's tokenizer, whole chat prompt) and retrieval ms;
* first token: from the question to the model's first generated token (retrieval, prompt
  build and prompt processing);
* floor: llama.cpp alone processing the same prompt and sampling one token, from the same
  cache state (the fixed instructions already cached, as they are for every question);
* shown: the first verified answer sentence on screen; total: the final answer;
* tokens/s of generation.

Before each timed call the model's cache is put in the same state: the system prompt
processed, nothing of the question. Questions: ../shared/eval/dev-questions.jsonl over
../shared/corpus/partnerships when present, else a few questions about corpus/.
"""

from __future__ import annotations

import argparse
import json
import os
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


def _questions(corpus: Path | None) -> tuple[Path, list[tuple[str, list[str]]]]:
    """(corpus, [(question, earlier questions of its conversation)])."""
    dev = SHARED / "eval" / "dev-questions.jsonl"
    if corpus is None and dev.exists():
        rows = [json.loads(line) for line in dev.open() if line.strip()]
        return SHARED / "corpus" / "partnerships", [
            (r["question"], list(r.get("history") or [])) for r in rows
        ]
    return corpus or ROOT / "corpus", [(q, []) for q in FALLBACK]


def _timed_model(base):
    """The local chat model, recording when it is called, its first token and token count."""
    from bot.llm import LlamaCppChat

    record: dict = {}

    class Timed(LlamaCppChat):
        def _stream(self, messages, stop=None, run_manager=None, **kwargs):
            record.update(messages=self._to_dicts(messages), first=None, tokens=0)
            for chunk in super()._stream(messages, stop, run_manager, **kwargs):
                if record["first"] is None:
                    record["first"] = time.perf_counter()
                record["tokens"] += 1
                yield chunk
            record["end"] = time.perf_counter()

    return Timed(llama=base.llama, lock=base.lock, max_tokens=base.max_tokens), record


def measure(
    bot, questions: list[tuple[str, list[str]]], floor: bool = True, log=print
) -> list[dict]:
    """Ask each (question, earlier questions) once; one row of timings per question. With the
    local backend each timed call starts from the same cache state, and `floor` also times
    llama.cpp alone on the same prompt."""
    from bot import Done, Partial, Retrieved
    from bot.chatbot import SYSTEM_PROMPT

    local = bot.backend == "local"
    record: dict = {}
    if local:
        bot._llm, record = _timed_model(bot.llm)
        llama = bot._llm.llama

    def prime() -> None:
        """Cache state before every timed call: the instructions, no question."""
        llama.create_chat_completion(
            messages=[
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": "Sentences:"},
            ],
            max_tokens=1,
        )

    bot.ask(FALLBACK[0])  # warm-up: first-call allocations, not a user-visible cost

    rows = []
    for question, earlier in questions:
        history: list[tuple[str, str]] = []
        for q in earlier:  # the conversation so far, untimed
            history.append((q, bot.ask(q, history=history).text))
        if local:
            prime()
            record.clear()
        t0 = time.perf_counter()
        t_retrieved = t_shown = None
        for event in bot.events(question, history):
            now = time.perf_counter() - t0
            if isinstance(event, Retrieved):
                t_retrieved = now
            elif isinstance(event, Partial) and t_shown is None:
                t_shown = now
            elif isinstance(event, Done):
                total = now
                answer = event.answer
        row = {
            "retrieval_ms": t_retrieved * 1000,
            "total": total,
            "shown": t_shown if t_shown is not None else total,
            "abstained": answer.abstained,
            "asked": bool(record.get("messages")),
        }
        if local and row["asked"]:
            first = record["first"] or record["end"]
            row["first"] = first - t0
            gen = record["end"] - first
            row["tok_s"] = (record["tokens"] - 1) / gen if gen > 0 else float("nan")
            if floor:
                prime()
                t1 = time.perf_counter()
                out = llama.create_chat_completion(messages=record["messages"], max_tokens=1)
                row["floor"] = time.perf_counter() - t1
                row["prompt_tokens"] = out["usage"]["prompt_tokens"]
        rows.append(row)
        if row.get("floor") is not None:
            log(
                f"{row['prompt_tokens']:5d} tok  retrieval {row['retrieval_ms']:5.0f} ms  "
                f"first {row['first']:6.2f} s  floor {row['floor']:6.2f} s  "
                f"shown {row['shown']:6.2f} s  total {row['total']:6.2f} s  "
                f"{row['tok_s']:5.1f} tok/s  "
                f"{'abstained' if answer.abstained else 'answered '}  {question[:60]}"
            )
        else:
            first = f"first {row['first']:6.2f} s" if "first" in row else "no model call"
            log(
                f"retrieval {row['retrieval_ms']:5.0f} ms  {first:15}  "
                f"total {row['total']:6.2f} s  "
                f"{'abstained' if answer.abstained else 'answered '}  {question[:60]}"
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="local", choices=["local", "extractive"])
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()

    from bot import ChatBot
    from bot.evaluate import percentile
    from ingest import ingest_paths

    corpus, questions = _questions(args.corpus)
    questions = questions[: args.limit] if args.limit else questions

    with tempfile.TemporaryDirectory() as store:
        t = time.perf_counter()
        report = ingest_paths([corpus], store=store)
        print(
            f"ingest: {report.added} documents, {report.chunks} chunks in "
            f"{time.perf_counter() - t:.1f} s"
        )
        t = time.perf_counter()
        bot = ChatBot(store=store, backend=args.backend)
        if args.backend == "local":
            _ = bot.llm  # loaded here, not inside the first timed answer
        print(
            f"load: {time.perf_counter() - t:.1f} s (embedder + store"
            f"{' + LLM' if args.backend == 'local' else ''})"
        )
        rows = measure(bot, questions, log=lambda line: print(line, flush=True))

    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; backend {args.backend}; {len(rows)} questions "
        f"({sum(r['asked'] for r in rows)} reached the model)"
    )
    asked = [r for r in rows if "first" in r]
    columns = [("retrieval ms", rows, "retrieval_ms"), ("total s", rows, "total")]
    if asked:
        columns += [
            ("prompt tokens", asked, "prompt_tokens"),
            ("first token s", asked, "first"),
            ("floor s", asked, "floor"),
            ("shown s", asked, "shown"),
            ("tokens/s", asked, "tok_s"),
        ]
    for name, subset, key in columns:
        vals = [r[key] for r in subset]
        print(f"{name:14} p50 {percentile(vals, 0.5):8.2f}   p95 {percentile(vals, 0.95):8.2f}")
    if asked:
        ratios = [r["first"] / r["floor"] for r in asked]
        print(
            f"{'first / floor':14} p50 {percentile(ratios, 0.5):8.2f}   "
            f"p95 {percentile(ratios, 0.95):8.2f}   "
            f"(p50 first {percentile([r['first'] for r in asked], 0.5):.2f} s vs p50 floor "
            f"{percentile([r['floor'] for r in asked], 0.5):.2f} s)"
        )


if __name__ == "__main__":
    main()
