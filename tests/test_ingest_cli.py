"""The ingest and docs commands as users run them: real processes, real store."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from ingest.loaders import load_file
from ingest.lock import WriterLock

from .conftest import ROOT, SEED, child_env


def _cli(*args, env=None, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "bot.interfaces.cli", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(**(env or {})),
    )


def _articles(folder, n):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"a{i}.txt").write_text(
            f"Title: Partner article {i}\nDate: 2024-0{i + 1}-01\n\n"
            f"Partner country number {i} held talks with NATO on maritime security. "
            f"The talks ended with a joint statement on cyber defence.",
            encoding="utf-8",
        )


def test_ingest_list_remove_prune_with_json_summaries(tmp_path):
    store, docs = tmp_path / "store", tmp_path / "docs"
    _articles(docs, 3)
    shutil.copy(SEED, docs / "seed.txt")
    first = _cli("ingest", "--store", store, "--json", docs, docs / "seed.txt")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert set(summary) == {
        "added",
        "updated",
        "unchanged",
        "duplicate",
        "removed",
        "chunks",
        "failed",
    }
    assert (summary["added"], summary["unchanged"], summary["failed"]) == (4, 0, [])

    listed = _cli("docs", "list", "--store", store, "--json")
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {r["title"] for r in rows} >= {"Partner article 0", "Partner article 2"}
    assert all(r["chunks"] >= 1 for r in rows) and len(rows) == 4
    assert sum(r["chunks"] for r in rows) == summary["chunks"]

    removed = _cli("docs", "remove", "--store", store, docs / "a0.txt", "no-such-doc")
    assert removed.returncode == 1  # one source matched nothing
    assert "removed 1 documents" in removed.stdout and "not found: no-such-doc" in removed.stderr

    (docs / "a1.txt").unlink()
    pruned = _cli("ingest", "--store", store, "--prune", "--json")
    assert json.loads(pruned.stdout)["removed"] == 1
    titles = {
        json.loads(line)["title"]
        for line in _cli("docs", "list", "--store", store, "--json").stdout.splitlines()
    }
    assert titles == {"Partner article 2", load_file(SEED).title}


def test_usage_errors_exit_2(tmp_path):
    assert _cli("ingest", "--store", tmp_path / "s").returncode == 2
    both = _cli("ingest", "--store", tmp_path / "s", "--title", "T", tmp_path)
    assert both.returncode == 2 and "single file" in both.stderr
    bad_date = _cli("ingest", "--store", tmp_path / "s", "--date", "11/07/2024", SEED)
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr


def test_second_writer_fails_fast_naming_the_holder(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    with WriterLock(store / "partnerbot-writer.lock"):
        busy = _cli("ingest", "--store", store, SEED, timeout=120)
        app = subprocess.run(
            [sys.executable, "app.py", "--store", str(store), "--port", "9"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            env=child_env(),
        )
    assert busy.returncode == 1
    assert "another process is writing to this store" in busy.stderr
    assert f"pid {os.getpid()}" in busy.stderr
    assert app.returncode == 1  # the web app is a writer too: one line, no traceback
    assert app.stderr.startswith("error: another process is writing to this store")
    ok = _cli("ingest", "--store", store, SEED)  # lock released: the store is fine
    assert ok.returncode == 0, ok.stderr


def test_changed_chunking_refuses_then_rebuild_keeps_every_document(tmp_path):
    store, docs = tmp_path / "store", tmp_path / "docs"
    _articles(docs, 2)
    assert _cli("ingest", "--store", store, docs, SEED).returncode == 0
    before = [
        json.loads(x) for x in _cli("docs", "list", "--store", store, "--json").stdout.splitlines()
    ]
    refused = _cli("ingest", "--store", store, docs, env={"PARTNERBOT_CHUNK_TOKENS": "120"})
    assert refused.returncode == 1 and "partnerbot ingest --rebuild" in refused.stderr
    shutil.rmtree(docs)  # a rebuild needs no sources: it re-embeds the stored text
    rebuilt = _cli("ingest", "--store", store, "--rebuild", env={"PARTNERBOT_CHUNK_TOKENS": "120"})
    assert rebuilt.returncode == 0, rebuilt.stderr
    after = [
        json.loads(x)
        for x in _cli(
            "docs", "list", "--store", store, "--json", env={"PARTNERBOT_CHUNK_TOKENS": "120"}
        ).stdout.splitlines()
    ]
    assert [d["key"] for d in after] == [d["key"] for d in before]
    seed = next(d for d in after if d["key"] == str(SEED))
    assert seed["chunks"] > next(d for d in before if d["key"] == str(SEED))["chunks"]
    again = _cli("ingest", "--store", store, "--json", SEED, env={"PARTNERBOT_CHUNK_TOKENS": "120"})
    assert json.loads(again.stdout)["unchanged"] == 1  # the rebuilt copy is the same document
