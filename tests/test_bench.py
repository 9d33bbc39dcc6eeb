"""The benchmark suite (`python -m bench`) end to end at a small size, and its tables page update."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench.suite import BENCHMARKS, DEV, TABLES_END, TABLES_START, markdown, update_tables

from .conftest import ROOT


def test_bench_suite_runs_and_reports(tmp_path):
    out = tmp_path / "results"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--sizes",
            "300",
            "--distractors",
            "5",
            "--backends",
            "extractive",
            "--out",
            str(out),
            # the encoders' row over a small folder of the library, no recall; no first start
            # (tests/test_first_start.py runs it)
            "--library",
            str(ROOT / "corpus" / "us-government"),
            "--encoder-sample",
            "40",
            "--skip",
            "first-start",
            "encoder-recall",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())

    enc = results["encoders"]
    assert enc["ingest"]["documents"] == 21 and enc["ingest"]["ratio"] > 0
    assert len(enc["ingest"]["round_ratios"]) == 2  # ingest and raw torch, twice in turn
    assert [x["encoder"] for x in enc["speed"]] == ["torch", "onnx", "onnx-int8"]
    assert all(x["texts"] == 40 and x["per_s"] > 0 for x in enc["speed"])
    assert enc["speed"][1]["cosine_min"] > 0.9999  # fp32 ONNX gives torch's vectors
    assert 0.98 < enc["speed"][2]["cosine_mean"] < 1.0  # int8: close, not equal
    assert "first_start" not in results and not enc["recall"]

    first = results["ingest"][0]
    for key in ("partnerbot", "pooled", "tutorial"):
        assert first[key]["chunks"] > 0 and first[key]["seconds"] > 0, key
        assert first[key]["peak_mb"] > 100, key  # the embedding model was loaded in the child
    assert first["partnerbot"]["sentences"] > first["partnerbot"]["chunks"]
    raw = first["raw"]
    assert raw["chunks"] == first["partnerbot"]["chunks"] and raw["chunk_s"] > 0
    assert raw["sentences"] > 0 and raw["sentence_s"] > 0

    (scale,) = results["scale"]
    assert scale["build"]["chunks"] == scale["query"]["chunks"] == 300
    assert scale["query"]["sentences"] == scale["build"]["sentences"] > 300
    for name in ("chunks", "sentences"):
        assert 0.9 <= scale["query"]["hnsw_recall"][name] <= 1.0
    assert scale["query"]["plain_ms"]["p50"] > 0 and scale["query"]["filtered_ms"]["p50"] > 0

    (answer,) = results["answer"]
    assert answer["backend"] == "extractive" and answer["rows"]
    assert all(r["total"] > 0 and not r["asked"] for r in answer["rows"])

    if DEV.exists():
        assert len(results["ingest"]) == 2  # partnerships alone, then with 5 distractors
        assert (
            results["ingest"][1]["partnerbot"]["documents"]
            == results["ingest"][0]["partnerbot"]["documents"] + 5
        )
        n_questions = sum(1 for line in DEV.read_text().splitlines() if line.strip())
        for row in results["retrieval"]:
            for key in ("partnerbot", "tutorial"):
                rows = row[key]["rows"]
                assert len(rows) == n_questions
                assert all(0 <= r["found"] <= r["evidence"] for r in rows)
                # both pipelines find gold evidence for most questions: the check is live
                assert sum(r["found"] for r in rows) > sum(r["evidence"] for r in rows) / 2

    table = (out / "results.md").read_text()
    assert table == markdown(results)
    assert "| 300 |" in table and "LangChain tutorial" in table and results["machine"] in table
    assert "raw encoder, chunk texts (the limit)" in table


def test_tables_are_replaced_between_markers(tmp_path):
    page = tmp_path / "benchmarks.md"
    page.write_text(f"# X\n\n## Tables\n\n{TABLES_START}\nold table\n{TABLES_END}\n\n## Next\n")
    update_tables(page, "| new | table |\n")
    text = page.read_text()
    assert "old table" not in text
    assert f"{TABLES_START}\n| new | table |\n{TABLES_END}\n\n## Next\n" in text

    page.write_text("# no markers\n")
    with pytest.raises(ValueError, match="benchmarks.md: no <!-- bench:start -->"):
        update_tables(page, "| t |\n")
    assert page.read_text() == "# no markers\n"


def test_the_benchmarks_page_has_the_generated_section():
    text = BENCHMARKS.read_text()
    assert text.index(TABLES_START) < text.index(TABLES_END)
