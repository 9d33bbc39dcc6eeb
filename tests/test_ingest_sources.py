"""URLs and feeds from a local web server, a real `chroma run` server, and crash safety."""

from __future__ import annotations

import http.server
import json
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from ingest import ingest_paths
from ingest.settings import Settings
from ingest.store import open_store

from .conftest import ROOT, SEED, child_env, chroma_run, free_port
from .samples import ARTICLE_HTML, pdf_bytes, rss

FEED_ITEMS = [
    (
        "http://example.org/news/1",
        "Korea and NATO",
        "Korea and NATO held their first cyber defence talks in Seoul on Monday.",
    ),
    (
        "http://example.org/news/2",
        "Sweden joins",
        "Sweden became the 32nd member of NATO in March 2024 after a long accession process.",
    ),
]
MALFORMED_ITEM = "<item><title>No text and no link</title></item>"


class _Site(http.server.BaseHTTPRequestHandler):
    feed = rss(FEED_ITEMS, MALFORMED_ITEM)

    def do_GET(self):  # noqa: N802 - http.server API
        routes = {
            "/article.html": ("text/html; charset=utf-8", ARTICLE_HTML.encode()),
            "/report.pdf": (
                "application/pdf",
                pdf_bytes(["The Mongolia report says cooperation began in 2012."], "Mongolia"),
            ),
            "/feed.xml": ("application/rss+xml", _Site.feed),
        }
        if self.path == "/slow":
            time.sleep(3)
        if self.path == "/drip":  # a byte at a time: each read is quick, the whole is not
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            for _ in range(40):
                self.wfile.write(b"a")
                self.wfile.flush()
                time.sleep(0.1)
            return
        if self.path.startswith("/redirect-to/"):
            self.send_response(302)
            self.send_header("Location", self.path.removeprefix("/redirect-to/"))
            self.end_headers()
            return
        if self.path == "/error":
            self.send_error(500)
            return
        if self.path not in routes:
            self.send_error(404)
            return
        ctype, body = routes[self.path]
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def site():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.security
def test_urls_and_feeds_with_network_failures_named(tmp_path, site):
    settings = Settings(store=tmp_path / "s", fetch_timeout=1.0, fetch_private=True)
    report = ingest_paths(
        [
            f"{site}/article.html",
            f"{site}/report.pdf",
            f"{site}/feed.xml",
            f"{site}/missing",
            f"{site}/error",
            f"{site}/slow",
            f"{site}/drip",
        ],
        settings=settings,
    )
    failed = {f.source: f.reason for f in report.failed}
    assert failed[f"{site}/missing"].startswith("HTTP 404")
    assert failed[f"{site}/error"].startswith("HTTP 500")
    assert failed[f"{site}/slow"] == "timed out after 1 s"
    assert failed[f"{site}/drip"] == "timed out after 1 s"  # one deadline, not one per read
    assert failed[f"{site}/feed.xml item 3"] == "item has no link or id"
    assert report.added == 4  # the page, the PDF and two feed items
    with open_store(settings=settings) as db:
        docs = {d.key: d for d in db.documents()}
    page = docs[f"{site}/article.html"]
    assert (page.title, page.date, page.url) == (
        "NATO and Japan deepen ties",
        "2024-07-11",
        f"{site}/article.html",
    )
    assert docs[f"{site}/feed.xml#http://example.org/news/2"].date == "2024-07-11"

    _Site.feed = rss(
        FEED_ITEMS
        + [
            (
                "http://example.org/news/3",
                "Finland",
                "Finland joined NATO in April 2023, doubling its border with Russia.",
            )
        ]
    )
    try:
        again = ingest_paths([f"{site}/feed.xml"], settings=settings)
    finally:
        _Site.feed = rss(FEED_ITEMS, MALFORMED_ITEM)
    assert (again.added, again.unchanged, again.failed) == (1, 2, [])


@pytest.mark.security
def test_private_addresses_refused_at_every_hop(tmp_path, site, monkeypatch):
    settings = Settings(store=tmp_path / "s", fetch_timeout=5.0)  # the default: no private
    report = ingest_paths(
        [
            f"{site}/article.html",
            "http://[::1]:9/x",
            "http://10.0.0.1/x",
            "http://169.254.169.254/latest/meta-data/",
            "file:///etc/passwd",
        ],
        settings=settings,
    )
    failed = {f.source: f.reason for f in report.failed}
    assert report.added == 0
    for url in (
        f"{site}/article.html",
        "http://[::1]:9/x",
        "http://10.0.0.1/x",
        "http://169.254.169.254/latest/meta-data/",
    ):
        assert "local or private address" in failed[url], failed
    assert "file:///etc/passwd" in failed  # not a URL: a missing path, never read as a file URL

    # Each redirect hop is vetted again: 127.0.0.1 is let through here, "localhost" is not.
    from ingest import fetch

    real = fetch.vetted_address
    monkeypatch.setattr(
        fetch,
        "vetted_address",
        lambda url, allow_private=False: real(
            url, allow_private=urlparse(url).hostname == "127.0.0.1"
        ),
    )
    port = urlparse(site).port
    body, _, final = fetch.fetch(f"{site}/redirect-to/{site}/article.html", 5.0)
    assert b"Japan" in body and final == f"{site}/article.html"
    with pytest.raises(fetch.IngestError, match="local or private address"):
        fetch.fetch(f"{site}/redirect-to/http://localhost:{port}/article.html", 5.0)


@pytest.fixture
def chroma_server(tmp_path):
    with chroma_run(tmp_path / "server-data") as url:
        yield url


def test_chroma_server_mode(tmp_path, chroma_server):

    def run(*a, **env):
        return subprocess.run(
            [sys.executable, "-m", "bot.interfaces.cli", *map(str, a)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            env=child_env(**env),
        )

    added = run("ingest", "--chroma-url", chroma_server, "--json", SEED)
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["added"] == 1
    again = run("ingest", "--json", SEED, PARTNERBOT_CHROMA_URL=chroma_server)
    assert json.loads(again.stdout)["unchanged"] == 1
    answer = run(
        "ask",
        "--json",
        "--backend",
        "extractive",
        "--chroma-url",
        chroma_server,
        "Which countries were not invited to the meeting?",
    )
    assert answer.returncode == 0, answer.stderr
    reply = json.loads(answer.stdout)
    assert "Belarus" in " ".join(c["quote"] for c in reply["citations"])
    assert not (tmp_path / "default-store").exists()  # nothing went to the embedded store
    down = run("ingest", "--chroma-url", "http://127.0.0.1:9", SEED)
    assert down.returncode == 1 and "cannot reach the Chroma server" in down.stderr


CANARY_WORDS = (
    "aardvark badger camel dolphin elephant falcon giraffe hedgehog iguana jaguar "
    "kangaroo lemur meerkat narwhal ostrich penguin quokka raccoon salamander "
    "tortoise urchin vulture walrus yak zebra albatross beaver cheetah dingo emu "
    "flamingo gorilla hippopotamus ibis jellyfish koala llama mongoose nightingale "
    "octopus"
).split()


def _generated_corpus(folder: Path, n: int) -> dict[str, str]:
    """n articles of several chunks each, every one holding a unique canary sentence."""
    folder.mkdir()
    canaries = {}
    filler = (
        "Allied ministers reviewed the partnership programme, its exercises, its "
        "training courses and the reform of defence institutions in detail. "
    )
    for i in range(n):
        code = CANARY_WORDS[i]
        canaries[code] = str((folder / f"doc{i:03d}.txt").resolve())
        body = filler * 12 + f"The delegation's canary animal is the {code}. " + filler * 12
        (folder / f"doc{i:03d}.txt").write_text(f"Title: Report {i}\nDate: 2024-01-01\n\n{body}")
    return canaries


def _expected_ids(folder: Path) -> set[str]:
    from ingest.chunking import chunk_article
    from ingest.embedder import get_embedder
    from ingest.loaders import load_file
    from ingest.records import chunk_id

    count = get_embedder().count_tokens
    ids = set()
    for f in folder.iterdir():
        a = load_file(f)
        ids |= {
            chunk_id(a.content_hash, c.index) for c in chunk_article(a.text, a.title, 200, count)
        }
    return ids


# Small batches so kills land between writes; late sentence vectors (one encoder pass): this
# test is about what survives a kill. Its 40 near-identical generated reports are each found
# by their canary in the top 4 with late vectors, not always with separate ones (noted).
FAST = {"PARTNERBOT_INGEST_BATCH": "16", "PARTNERBOT_SENTENCE_VECTORS": "late"}


def test_killed_ingest_is_completed_by_the_next_run(tmp_path, monkeypatch):
    from bot.retrieval import Retriever
    from ingest.embedder import get_embedder

    folder, store = tmp_path / "corpus", tmp_path / "store"
    canaries = _generated_corpus(folder, 40)
    cmd = [
        sys.executable,
        "-m",
        "bot.interfaces.cli",
        "ingest",
        "--store",
        str(store),
        "--progress",
        str(folder),
    ]
    for kill_after in (3, 17, 31):  # documents seen by the progress bar before SIGKILL
        proc = subprocess.Popen(
            cmd, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=child_env(**FAST)
        )
        seen = b""
        while proc.poll() is None:
            seen += proc.stderr.read1(4096)
            done = [int(x) for x in re.findall(rb"\r(\d+) docs \[", seen)]
            if done and max(done) >= kill_after:
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(timeout=60)
    final = subprocess.run(
        cmd[:-2] + ["--json", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=child_env(**FAST),
    )
    assert final.returncode == 0, final.stderr
    summary = json.loads(final.stdout)
    assert summary["unchanged"] > 0 and summary["added"] > 0  # the kills fell mid-run

    monkeypatch.setenv("PARTNERBOT_SENTENCE_VECTORS", "late")
    from ingest.settings import get_settings

    get_settings.cache_clear()
    with open_store(store) as db:
        records = list(db.chunk_records())
        ids = [cid for cid, _, _ in records]
        assert len(ids) == len(set(ids))
        assert set(ids) == _expected_ids(folder)
        assert len({m["doc_key"] for _, m, _ in records}) == 40
        sentences = db.sentences.count()
        assert sentences == sum(int(m["n_sentences"]) for _, m, _ in records)
        retriever = Retriever(db, get_embedder())
        for code, key in canaries.items():
            top = retriever.search([f"Which delegation has the {code} as canary animal?"], k=4)
            assert any(code in p.text and p.source == Path(key).name for p in top), code
