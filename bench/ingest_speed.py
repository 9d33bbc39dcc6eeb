"""Ingest throughput against the raw encoder, and the cost of an unchanged re-run.

    python -m bench.ingest_speed [CORPUS_DIR ...] [--vectors separate pooled late]

For each corpus (default: ../shared/corpus/partnerships and ../shared/corpus/whitehouse-nato,
else corpus/): ingest into a temporary store with the model already loaded, then encode the
very same chunk texts with `SentenceTransformer.encode` alone (the limit the pipeline cannot
beat), then ingest again unchanged, once per sentence-vector mode asked for (default: the configured
one). Prints documents, chunks, seconds, chunks/s, the ratio
pipeline / raw encoder, the re-run time and its share of the first run, and peak memory.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "corpus"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(corpus: Path, mode: str) -> dict:
    from bench.common import stored_chunk_texts
    from ingest import ingest_paths
    from ingest.embedder import get_embedder
    from ingest.settings import get_settings

    settings = get_settings().model_copy(update={"sentence_vectors": mode})
    embedder = get_embedder()
    embedder.embed_documents(["warm-up"])
    with tempfile.TemporaryDirectory(prefix="partnerbot-bench-") as store:
        t = time.perf_counter()
        first = ingest_paths([corpus], store=store, settings=settings)
        pipeline_s = time.perf_counter() - t

        texts = stored_chunk_texts(store, settings)
        t = time.perf_counter()
        embedder._model.encode(
            texts,
            batch_size=32,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        raw_s = time.perf_counter() - t

        t = time.perf_counter()
        again = ingest_paths([corpus], store=store, settings=settings)
        rerun_s = time.perf_counter() - t
    return {
        "corpus": str(corpus),
        "vectors": mode,
        "documents": first.added,
        "failed": len(first.failed),
        "chunks": first.chunks,
        "seconds": pipeline_s,
        "chunks_per_s": first.chunks / pipeline_s,
        "raw_chunks_per_s": len(texts) / raw_s,
        "ratio": (first.chunks / pipeline_s) / (len(texts) / raw_s),
        "rerun_s": rerun_s,
        "rerun_share": rerun_s / pipeline_s,
        "rerun_unchanged": again.unchanged,
        "peak_mb": _peak_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="*", type=Path)
    parser.add_argument(
        "--vectors",
        nargs="+",
        choices=["separate", "pooled", "late"],
        help="sentence-vector modes to measure (default: the configured one)",
    )
    args = parser.parse_args()
    from ingest.settings import get_settings

    modes = args.vectors or [get_settings().sentence_vectors]
    corpora = (
        args.corpora
        or [p for p in (SHARED / "partnerships", SHARED / "whitehouse-nato") if p.is_dir()]
        or [ROOT / "corpus"]
    )
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}")
    print(
        "| corpus | vectors | docs | chunks | ingest s | chunks/s | raw encoder chunks/s | ratio "
        "| unchanged re-run s | re-run share | peak MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for corpus, mode in [(c, m) for c in corpora for m in modes]:
        r = measure(corpus, mode)
        print(
            f"| {Path(r['corpus']).name} | {r['vectors']} | {r['documents']} | {r['chunks']} "
            f"| {r['seconds']:.1f} | {r['chunks_per_s']:.1f} | {r['raw_chunks_per_s']:.1f} "
            f"| {r['ratio']:.2f} | {r['rerun_s']:.2f} | {r['rerun_share']:.1%} "
            f"| {r['peak_mb']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
