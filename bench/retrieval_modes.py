"""Retrieval recall@4 per sentence-vector mode and fusion constant, on generated questions.

    python -m bench.retrieval_modes --make QUESTIONS.jsonl [--n 130]      # needs the local LLM
    python -m bench.retrieval_modes QUESTIONS.jsonl [--distractors 150] [--vectors separate pooled]
    python -m bench.retrieval_modes --sets bench/questions/partnerships-tune.jsonl [--vectors ...]

The 21 dev questions are too few to choose between modes, and tuning to them is forbidden.
`--make` asks the packaged LLM to write, for randomly drawn sentences of the partnerships corpus
(seed 7, 14-60 words), one question the sentence answers in other words; the file stays outside
the repository (it quotes the shared corpus). The measuring run ingests the partnerships corpus
plus the first N White House releases as distractors, once per mode, and prints for each RRF
constant k the share of questions whose evidence sentence is inside one of the top 4 chunks:
after fusion, and for the dense chunk and dense sentence searches alone. The dev questions
(those without history) are measured the same way beside them.

`--sets` measures eval sets (the `partnerbot eval` format) through `ChatBot` instead, over the
partnerships corpus alone as `partnerbot eval` does: recall@4 of `ChatBot.retrieve` and the
share of gold evidence sentences in the sentences the model would read, with a model that
always declines in place of the LLM (so follow-ups carry declined earlier answers). No LLM
runs: it takes minutes, and it is how a sentence-vector mode is judged before the model is.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
PARTNERSHIPS = SHARED / "corpus" / "partnerships"


def make(out: Path, n: int) -> None:
    from bot.llm import local_chat_model
    from ingest.loaders import load_documents
    from ingest.settings import get_settings
    from ingest.text import sentence_spans

    sentences = []
    for f in sorted(PARTNERSHIPS.glob("*.*")):
        for a in load_documents(f):
            sentences += [
                (f.name, a.text[s:e])
                for s, e in sentence_spans(a.text)
                if 14 <= len(a.text[s:e].split()) <= 60
            ]
    random.seed(7)
    llm = local_chat_model(get_settings())
    with out.open("w", encoding="utf-8") as f:
        for name, text in random.sample(sentences, n):
            reply = llm.invoke(
                [
                    ("system", "You write quiz questions. Reply with one question only."),
                    (
                        "human",
                        f"Sentence: {text}\n\nWrite one short question that this sentence "
                        "answers, as a reader who has not seen it would ask it. Use your own "
                        "words, not the sentence's phrasing.",
                    ),
                ],
                max_tokens=60,
            )
            question = reply.content.strip().split("\n")[0]
            f.write(json.dumps({"question": question, "evidence": text, "source": name}) + "\n")
            f.flush()


def measure(questions: Path, distractors: int, modes: list[str], ks: list[int]) -> None:
    import bot.retrieval as retrieval
    from bot.evaluate import _evidence_list, _norm
    from ingest import ingest_paths
    from ingest.embedder import get_embedder
    from ingest.settings import get_settings
    from ingest.store import open_store

    sets = {"generated": [json.loads(x) for x in questions.read_text().splitlines() if x.strip()]}
    dev = SHARED / "eval" / "dev-questions.jsonl"
    if dev.exists():
        sets["dev"] = [
            q
            for q in map(json.loads, dev.read_text().splitlines())
            if _evidence_list(q) and not q.get("history")
        ]
    extra = sorted((SHARED / "corpus" / "whitehouse-nato").rglob("*.md"))[:distractors]
    embedder = get_embedder()
    print("| vectors | RRF k | questions | n | recall@4 fused | dense chunks | dense sentences |")
    print("|---|---|---|---|---|---|---|")
    for mode in modes:
        settings = get_settings().model_copy(update={"sentence_vectors": mode})
        with tempfile.TemporaryDirectory(prefix="partnerbot-bench-") as store:
            ingest_paths([PARTNERSHIPS, *extra], store=store, settings=settings)
            with open_store(store, settings) as db:
                r = retrieval.Retriever(db, embedder)
                texts = {cid: _norm(t) for cid, _, t in db.chunk_records(documents=True)}
                for k in ks:
                    retrieval.RRF_K = k
                    for name, items in sets.items():
                        hits = [0, 0, 0]
                        for q in items:
                            ev = [_norm(e) for e in _evidence_list(q)]
                            gold = {c for c, t in texts.items() if any(e in t for e in ev)}
                            vec = embedder.embed_documents([q["question"]])
                            hits[0] += bool(gold & {p.id for p in r.search([q["question"]], 4)})
                            hits[1] += bool(gold & set(r._dense(vec, 4)))
                            hits[2] += bool(gold & set(r._by_sentence(vec, 12)[:4]))
                        n = len(items)
                        print(
                            f"| {mode} | {k} | {name} | {n} | {hits[0] / n:.3f} "
                            f"| {hits[1] / n:.3f} | {hits[2] / n:.3f} |",
                            flush=True,
                        )


def measure_sets(paths: list[Path], modes: list[str]) -> None:
    import itertools

    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

    from bot import ChatBot
    from bot.evaluate import _evidence_list, evidence_found, evidence_in_prompt, history_of
    from ingest import ingest_paths
    from ingest.settings import get_settings

    sets = {p.stem: [json.loads(x) for x in p.read_text().splitlines() if x.strip()] for p in paths}
    print("| vectors | set | evidence sentences | recall@4 | in prompt | ingest s |")
    print("|---|---|---|---|---|---|")
    for mode in modes:
        settings = get_settings().model_copy(update={"sentence_vectors": mode})
        with tempfile.TemporaryDirectory(prefix="partnerbot-bench-") as store:
            t = time.perf_counter()
            ingest_paths([PARTNERSHIPS], store=store, settings=settings)
            seconds = time.perf_counter() - t
            declining = GenericFakeChatModel(messages=itertools.repeat("NOT IN SOURCES"))
            bot = ChatBot(store=store, settings=settings, llm=declining)
            for name, items in sets.items():
                total = found = shown = 0
                for q in items:
                    evidence = _evidence_list(q)
                    if not evidence:
                        continue
                    answer = bot.ask(q["question"], history=history_of(bot, q))
                    total += len(evidence)
                    found += evidence_found(evidence, [p.text for p in answer.passages])
                    shown += evidence_in_prompt(evidence, answer.context)
                if not total:
                    print(f"| {mode} | {name} | 0 | - | - | {seconds:.1f} |", flush=True)
                    continue
                print(
                    f"| {mode} | {name} | {total} | {found / total:.3f} | {shown / total:.3f} "
                    f"| {seconds:.1f} |",
                    flush=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path, nargs="?")
    parser.add_argument("--sets", type=Path, nargs="+", help="eval sets: recall and in-prompt")
    parser.add_argument("--make", action="store_true", help="write the questions file")
    parser.add_argument("--n", type=int, default=130)
    parser.add_argument("--distractors", type=int, default=150)
    parser.add_argument(
        "--vectors",
        nargs="+",
        default=["separate", "pooled"],
        choices=["separate", "pooled", "late"],
    )
    parser.add_argument("--k", nargs="+", type=int, default=[60, 10])
    args = parser.parse_args()
    if args.sets and (args.questions or args.make):
        parser.error("--sets measures eval sets alone: give no questions file or --make with it")
    if args.sets:
        measure_sets(args.sets, args.vectors)
    elif args.questions is None:
        parser.error("give a questions file or --sets")
    elif args.make:
        make(args.questions, args.n)
    else:
        measure(args.questions, args.distractors, args.vectors, args.k)


if __name__ == "__main__":
    main()
