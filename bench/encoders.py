"""The embedding encoders compared in one run, and the default ingest against raw torch.

    python -m bench.encoders [--corpus DIR] [--sample N] [--json FILE]

* Ingest: the built-in library (`corpus/`, or `--corpus`) ingested with the default settings
  into a temporary store (model loaded first), then the raw torch encoder
  (`SentenceTransformer.encode`, batch 32) over the very same chunk texts, twice in turn: the
  ratio raw / ingest is how close the whole pipeline (chunking, chunk and sentence vectors,
  Chroma writes) comes to only encoding the chunks with torch.
* Throughput of torch, ONNX fp32 and ONNX int8 (`Embedder.embed_documents`) over `--sample`
  of those chunk texts (evenly drawn), and the cosine of each one's vectors to torch's.
* Retrieval: ../shared/corpus/partnerships ingested once per encoder, then evidence recall@4 of
  the chat's retrieval on every question of bench/questions/ and the dev set (skipped without
  ../shared).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, SHARED, K, machine, retrieval_row, stored_chunk_texts
from bench.common import recall as recall_share

ENCODERS = ("torch", "onnx", "onnx-int8")
PARTNERSHIPS = SHARED / "corpus" / "partnerships"


def _question_sets() -> dict[str, list[dict]]:
    sets = {}
    for path in [
        *sorted((ROOT / "bench" / "questions").glob("*.jsonl")),
        SHARED / "eval" / "dev-questions.jsonl",
    ]:
        if path.is_file():
            rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]
            sets[path.stem] = rows
    return sets


def ingest_ratio(corpus: Path, settings, rounds: int = 2) -> tuple[dict, list[str]]:
    """Ingest and the raw torch pass, `rounds` times in turn: on a shared VM one pass can run
    a quarter slower than the next, so each round's ratio is kept and the means are compared."""
    from ingest import ingest_paths
    from ingest.embedder import get_embedder

    get_embedder(settings).embed_documents(["warm-up"])
    torch_model = get_embedder(settings.model_copy(update={"encoder": "torch"}))._model
    torch_model.encode(["warm-up"])
    ingest_runs: list[float] = []
    raw_runs: list[float] = []
    for _ in range(max(1, rounds)):
        with tempfile.TemporaryDirectory(prefix="partnerbot-bench-") as store:
            t = time.perf_counter()
            report = ingest_paths([corpus], store=store, settings=settings)
            ingest_runs.append(time.perf_counter() - t)
            texts = stored_chunk_texts(store, settings)
        t = time.perf_counter()
        torch_model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        raw_runs.append(time.perf_counter() - t)
    ingest_s = sum(ingest_runs) / len(ingest_runs)
    raw_s = sum(raw_runs) / len(raw_runs)
    row = {
        "corpus": str(corpus.relative_to(ROOT) if corpus.is_relative_to(ROOT) else corpus),
        "encoder": settings.encoder,
        "documents": report.added,
        "chunks": len(texts),
        "ingest_s": ingest_s,
        "raw_torch_s": raw_s,
        "ratio": raw_s / ingest_s,
        "round_ratios": [r / i for r, i in zip(raw_runs, ingest_runs)],
    }
    return row, texts


def throughput(texts: list[str], settings) -> list[dict]:
    import numpy as np

    from ingest.embedder import get_embedder

    rows, reference = [], None
    for encoder in ENCODERS:
        embedder = get_embedder(settings.model_copy(update={"encoder": encoder}))
        embedder.embed_documents(texts[:8])  # warm-up
        t = time.perf_counter()
        vectors = np.array(embedder.embed_documents(texts))
        seconds = time.perf_counter() - t
        if reference is None:
            reference = vectors
        cosine = (vectors * reference).sum(1)
        rows.append(
            {
                "encoder": embedder.encoder,
                "texts": len(texts),
                "per_s": len(texts) / seconds,
                "cosine_min": float(cosine.min()),
                "cosine_mean": float(cosine.mean()),
            }
        )
    return rows


def recall(settings) -> list[dict]:
    from bot import ChatBot
    from ingest import ingest_paths

    sets = _question_sets()
    if not PARTNERSHIPS.is_dir() or not sets:
        return []
    rows = []
    for encoder in ENCODERS:
        chosen = settings.model_copy(update={"encoder": encoder})
        with tempfile.TemporaryDirectory(prefix="partnerbot-bench-") as store:
            ingest_paths([PARTNERSHIPS], store=store, settings=chosen)
            bot = ChatBot(store=store, settings=chosen, backend="extractive")
            row = {"encoder": encoder}
            for name, questions in sets.items():
                found = []
                for item in questions:
                    history = [(q, "") for q in item.get("history") or []]
                    passages = bot.retrieve(item["question"], history)
                    found.append(retrieval_row(item, [p.text for p in passages], 0.0))
                row[name] = recall_share(found)
            rows.append(row)
    return rows


def measure(corpus: Path, sample: int = 800, with_recall: bool = True) -> dict:
    from ingest.settings import get_settings

    settings = get_settings()
    ingest, texts = ingest_ratio(corpus.resolve(), settings)
    step = max(1, len(texts) // sample)
    return {
        "ingest": ingest,
        "speed": throughput(texts[::step][:sample], settings),
        "recall": recall(settings) if with_recall else [],
    }


def table(r: dict) -> str:
    i = r["ingest"]
    lines = [
        f"Ingest of {i['corpus']} ({i['documents']} documents, {i['chunks']:,} chunks) with the "
        f"default settings (encoder `{i['encoder']}`, chunk and sentence vectors): "
        f"{i['ingest_s']:.1f} s; the raw torch encoder over the same chunk texts: "
        f"{i['raw_torch_s']:.1f} s; ratio **{i['ratio']:.2f}×** (means of "
        f"{len(i['round_ratios'])} rounds in turn; each round: "
        + " / ".join(f"{x:.2f}×" for x in i["round_ratios"])
        + ").",
        "",
        "| encoder | chunk texts | texts/s | cosine to torch (min / mean) |",
        "|---|---|---|---|",
    ]
    for x in r["speed"]:
        lines.append(
            f"| {x['encoder']} | {x['texts']} | {x['per_s']:.1f} | "
            f"{x['cosine_min']:.4f} / {x['cosine_mean']:.4f} |"
        )
    if r["recall"]:
        names = [k for k in r["recall"][0] if k != "encoder"]
        lines += [
            "",
            f"Retrieval recall@{K} over ../shared/corpus/partnerships, one store per encoder:",
            "",
            "| encoder | " + " | ".join(names) + " |",
            "|---" * (len(names) + 1) + "|",
        ]
        for x in r["recall"]:
            lines.append(f"| {x['encoder']} | " + " | ".join(f"{x[n]:.3f}" for n in names) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--sample", type=int, default=800)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    print(machine(), flush=True)
    result = measure(args.corpus, args.sample)
    print("\n" + table(result))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), **result}))


if __name__ == "__main__":
    main()
