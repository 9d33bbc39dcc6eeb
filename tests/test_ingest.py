import subprocess
import sys

import pytest

from ingest import StoreMismatchError, ingest_paths
from ingest.settings import Settings
from ingest.store import open_store

from .conftest import CORPUS, ROOT, SEED


def _all(store):
    return open_store(store).chunks.get(include=["metadatas", "documents"])


def test_ingest_twice_stores_nothing_twice(tmp_path):
    store = tmp_path / "store"
    first = ingest_paths([CORPUS], store=store)
    assert (first.added, first.unchanged, first.chunks) == (1, 0, first.chunks)
    before = _all(store)
    second = ingest_paths([CORPUS], store=store)
    assert (second.added, second.unchanged, second.chunks) == (0, 1, 0)
    after = _all(store)
    assert sorted(after["ids"]) == sorted(before["ids"])
    assert len(after["ids"]) == first.chunks


def test_metadata_and_offsets_locate_chunks_in_article(tmp_path):
    from ingest.loaders import load_file

    store = tmp_path / "store"
    ingest_paths([SEED], store=store)
    article = load_file(SEED)
    got = _all(store)
    for doc, meta in zip(got["documents"], got["metadatas"]):
        assert meta["title"] == article.title
        assert meta["date"] == "2021-07-13"
        assert meta["url"].startswith("https://www.nato.int/")
        assert meta["source"] == SEED.name
        assert article.text[meta["start"] : meta["end"]] == doc


def test_changed_file_replaces_its_chunks(tmp_path, corpus_copy):
    store = tmp_path / "store"
    ingest_paths([corpus_copy], store=store)
    f = next(corpus_copy.glob("*.txt"))
    f.write_text(
        f.read_text(encoding="utf-8") + "\n\nA new closing sentence was added.", encoding="utf-8"
    )
    report = ingest_paths([corpus_copy], store=store)
    assert (report.updated, report.added, report.unchanged) == (1, 0, 0)
    got = _all(store)
    assert len({m["doc_hash"] for m in got["metadatas"]}) == 1
    assert any("A new closing sentence" in d for d in got["documents"])
    assert len(got["ids"]) == report.chunks


def test_same_text_under_two_paths_is_stored_once(tmp_path, corpus_copy):
    store = tmp_path / "store"
    (corpus_copy / "copy-of-seed.txt").write_bytes(SEED.read_bytes())
    report = ingest_paths([corpus_copy], store=store)
    assert (report.added, report.duplicate) == (1, 1)


def test_bad_file_is_reported_and_the_rest_go_on(tmp_path, corpus_copy):
    store = tmp_path / "store"
    ingest_paths([SEED], store=store)
    stored = sorted(_all(store)["ids"])
    (corpus_copy / "empty.txt").write_text("")
    (corpus_copy / "binary.txt").write_bytes(b"\x00\x01\x02")
    good = corpus_copy / "other.md"
    good.write_text("---\ntitle: Other\ndate: 2024-01-02\n---\nNATO met Japan in Brussels.\n")
    report = ingest_paths([corpus_copy, tmp_path / "missing.txt"], store=store)
    reasons = {f.source.rsplit("/", 1)[-1]: f.reason for f in report.failed}
    assert set(reasons) == {"empty.txt", "binary.txt", "missing.txt"}
    assert report.added == 1  # other.md; the seed (copied elsewhere) is a duplicate
    assert report.duplicate == 1
    assert set(stored) <= set(_all(store)["ids"])


def test_store_built_with_other_chunking_refuses(tmp_path):
    store = tmp_path / "store"
    ingest_paths([SEED], store=store)
    with pytest.raises(StoreMismatchError, match="chunk_tokens"):
        open_store(store, Settings(chunk_tokens=128))


def test_both_collections_search_deeper_than_chromas_default(tmp_path):
    """Chroma's default HNSW search depth (100) missed a third of the exact top 60 sentences
    at a million vectors; a store made before the change is switched when opened to write."""
    import chromadb

    from ingest.store import EF_SEARCH

    def depths():
        client = chromadb.PersistentClient(path=str(tmp_path / "s"))
        return [
            client.get_collection(c.name).configuration["hnsw"]["ef_search"]
            for c in client.list_collections()
        ]

    open_store(tmp_path / "s").close()
    assert depths() == [EF_SEARCH, EF_SEARCH] and EF_SEARCH > 100
    client = chromadb.PersistentClient(path=str(tmp_path / "s"))
    for c in client.list_collections():
        client.get_collection(c.name).modify(configuration={"hnsw": {"ef_search": 100}})
    assert depths() == [100, 100]
    open_store(tmp_path / "s").close()  # a reader changes nothing in the store...
    assert depths() == [100, 100]
    open_store(tmp_path / "s", write=True).close()  # ...the next writer switches it
    assert depths() == [EF_SEARCH, EF_SEARCH]


def test_python_m_ingest_cli_exit_codes(tmp_path):
    store = tmp_path / "store"

    def run(*a):
        return subprocess.run(
            [sys.executable, "-m", "ingest", "--store", str(store), *a],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )

    ok = run("--json", str(CORPUS))
    assert ok.returncode == 0, ok.stderr
    assert '"added": 1' in ok.stdout
    bad = tmp_path / "bad.txt"
    bad.write_text("   ")
    failed = run(str(bad), str(CORPUS))
    assert failed.returncode == 1
    assert f"failed: {bad}: file has only whitespace" in failed.stderr
    assert "unchanged 1" in failed.stdout
    usage = run()
    assert usage.returncode == 2


def test_pooled_vectors_are_built_from_the_sentences_alone(tmp_path):
    """`pooled`: each sentence (and the title) is encoded once; a chunk's vector is the
    normalised sum of their token states, and the store says which mode built it."""
    import numpy as np

    from bot.retrieval import Retriever
    from ingest.embedder import get_embedder
    from ingest.loaders import load_file
    from ingest.records import indexed_sentences
    from ingest.text import sentence_spans

    # fp32 ONNX: the pooling is exact there (int8 quantizes activations per batch, so a
    # vector moves slightly with the other texts of its batch).
    store, pooled = tmp_path / "store", Settings(sentence_vectors="pooled", encoder="onnx")
    report = ingest_paths([SEED], store=store, settings=pooled)
    assert report.added == 1 and report.chunks > 1
    with pytest.raises(StoreMismatchError, match="sentence_vectors"):
        open_store(store, Settings(sentence_vectors="separate"))

    embedder, title = get_embedder(pooled), load_file(SEED).title
    assert embedder.encoder == "onnx"
    db = open_store(store, pooled)
    got = db.chunks.get(include=["documents", "embeddings", "metadatas"])
    for text, stored, meta in zip(got["documents"], got["embeddings"], got["metadatas"]):
        spans = sentence_spans(text)
        vecs, sums = embedder.embed_with_sums([title] + [text[s:e] for s, e in spans])
        assert np.allclose(
            vecs, embedder.embed_documents([title] + [text[s:e] for s, e in spans]), atol=1e-5
        )
        expected = sums.sum(0) / np.linalg.norm(sums.sum(0))
        assert np.allclose(stored, expected, atol=1e-4)
        assert int(meta["n_sentences"]) == len(indexed_sentences(text))
    assert db.sentences.count() == sum(int(m["n_sentences"]) for m in got["metadatas"])

    top = Retriever(db, embedder).search(
        ["How many partner military representatives came to the meeting at NATO headquarters?"], k=1
    )
    assert "32 participating partner military representatives" in top[0].text
