"""Every input format through `ingest_paths`, into a real Chroma store with the real embedder."""

from __future__ import annotations

import json
import os

import pytest

from ingest import ingest_paths
from ingest.store import open_store

from .conftest import SEED
from .samples import ARTICLE_HTML, NAV_ONLY_HTML, pdf_bytes, write_docx


def _docs(store):
    with open_store(store) as db:
        return {d.key: d for d in db.documents()}


def _chunks(store, where=None):
    with open_store(store) as db:
        return list(db.chunk_records(where, documents=True))


def test_each_format_is_ingested_with_its_metadata(tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "japan.html").write_text(ARTICLE_HTML, encoding="utf-8")
    (folder / "sub" / "report.pdf").write_bytes(
        pdf_bytes(
            [
                "Page one: NATO and Korea signed a partnership programme.",
                "Page two: the programme includes cyber defence exercises.",
            ],
            title="Korea report",
        )
    )
    write_docx(
        folder / "sub" / "memo.docx",
        "Memo on Australia",
        [
            "Australia and NATO agreed to deepen practical cooperation.",
            "The memo was written after the 2023 Vilnius Summit.",
        ],
    )
    records = [
        {
            "text": "New Zealand joined the NATO summit as a partner in 2022.",
            "title": "New Zealand at the summit",
            "date": "2022-06-29",
            "url": "https://example.org/nz",
        },
        {"text": "Mongolia has been a NATO partner since 2012.", "id": "mongolia"},
    ]
    (folder / "wire.jsonl").write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    (folder / "notes.csv").write_text("ignored,by,suffix")

    report = ingest_paths([folder], store=tmp_path / "s")
    assert report.failed == []
    assert report.added == 5
    docs = _docs(tmp_path / "s")
    html = docs[str((folder / "japan.html").resolve())]
    assert (html.title, html.date) == ("NATO and Japan deepen ties", "2024-07-11")
    assert "Subscribe" not in " ".join(
        t for _, _, t in _chunks(tmp_path / "s", {"doc_key": html.key})
    )
    pdf = docs[str((folder / "sub" / "report.pdf").resolve())]
    assert (pdf.title, pdf.date) == ("Korea report", "2024-07-11")
    pages = [m["page"] for _, m, _ in _chunks(tmp_path / "s", {"doc_key": pdf.key})]
    assert pages and all(p in (1, 2) for p in pages)
    assert docs[str((folder / "sub" / "memo.docx").resolve())].title == "Memo on Australia"
    nz = docs[f"{(folder / 'wire.jsonl').resolve()}#https://example.org/nz"]
    assert (nz.title, nz.date, nz.url) == (
        "New Zealand at the summit",
        "2022-06-29",
        "https://example.org/nz",
    )
    assert f"{(folder / 'wire.jsonl').resolve()}#mongolia" in docs
    langs = {m.get("language") for _, m, _ in _chunks(tmp_path / "s", {"doc_key": html.key})}
    assert langs == {"en"}


def test_include_and_exclude_globs(tmp_path):
    folder = tmp_path / "in"
    (folder / "drafts").mkdir(parents=True)
    for name in ("a.txt", "b.md", "drafts/c.txt"):
        (folder / name).write_text(f"Title: {name}\n\nNATO met its partners about {name} today.")
    report = ingest_paths([folder], store=tmp_path / "s", include=("*.txt",), exclude=("drafts/*",))
    assert report.added == 1
    assert list(_docs(tmp_path / "s")) == [str((folder / "a.txt").resolve())]


def test_jsonl_edit_updates_only_that_line_and_bad_lines_are_named(tmp_path):
    f = tmp_path / "wire.jsonl"
    lines = [
        {"text": f"Partner number {i} met NATO officials in Brussels.", "id": f"p{i}"}
        for i in range(3)
    ]
    f.write_text("\n".join(json.dumps(r) for r in lines) + '\n{"title": "no text"}\nnot json\n')
    first = ingest_paths([f], store=tmp_path / "s")
    assert first.added == 3
    assert [x.source for x in first.failed] == [f"{f.resolve()}:4", f"{f.resolve()}:5"]
    assert "text" in first.failed[0].reason and "invalid JSON" in first.failed[1].reason
    lines[1]["text"] = "Partner number 1 signed a new programme with NATO."
    f.write_text("\n".join(json.dumps(r) for r in lines))
    second = ingest_paths([f], store=tmp_path / "s")
    assert (second.added, second.updated, second.unchanged) == (0, 1, 2)


def test_overrides_set_title_date_and_url(tmp_path):
    from ingest.pipeline import Overrides

    ingest_paths(
        [SEED],
        store=tmp_path / "s",
        overrides=Overrides("Partners meeting", "2021-07-14", "https://example.org/p"),
    )
    (doc,) = _docs(tmp_path / "s").values()
    assert (doc.title, doc.date, doc.url) == (
        "Partners meeting",
        "2021-07-14",
        "https://example.org/p",
    )


def _zip_bomb() -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"\0" * 60_000_000)  # ~60 KB packed
    return buf.getvalue()


def _bad_inputs(folder):
    """(path, words expected in its failure reason) for every kind of bad file."""
    folder.mkdir()
    cases = []

    def add(name, data, reason):
        path = folder / name
        path.write_bytes(data)
        cases.append((path, reason))

    add("empty.txt", b"", "file is empty")
    add("blank.txt", b"  \n\t \n", "only whitespace")
    add("binary.txt", b"\x7fELF\x02\x01\x00\x00" + bytes(range(256)), "binary")
    add("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog", "not a readable PDF")
    add("nav.html", NAV_ONLY_HTML.encode(), "no article text")
    add("long-line.txt", ("word " * 1_000_000).encode(), "limit is 2,000,000")
    add("broken.docx", b"PK\x03\x04 not really a zip", "not a readable .docx")
    # Hostile files: small on disk, huge once parsed.
    add(
        "bomb.md",
        b"---\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        b"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        b"title: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n---\nA body.\n",
        "anchors or aliases",
    )
    add("bomb.docx", _zip_bomb(), "zip bomb")
    kids = " ".join(["3 0 R"] * 5000)  # one page listed 5,000 times
    add(
        "pages.pdf",
        pdf_bytes(["One page of text about NATO partners."]).replace(
            b"/Kids [3 0 R] /Count 1", f"/Kids [{kids}] /Count 5000".encode()
        ),
        "5,000 pages",
    )
    big = folder / "huge.txt"
    with open(big, "wb") as fh:  # 50 MB, sparse: the size check comes before any read
        fh.truncate(50 * 1024 * 1024)
    cases.append((big, "the limit is 20 MB"))
    loop = folder / "loop.txt"
    os.symlink(loop, loop)
    cases.append((loop, "cannot read file"))
    return cases


@pytest.mark.security
def test_bad_inputs_are_named_and_nothing_stored_is_lost(tmp_path, monkeypatch):
    store = tmp_path / "s"
    ingest_paths([SEED], store=store)
    before = sorted(cid for cid, _, _ in _chunks(store))

    folder = tmp_path / "mixed"
    cases = _bad_inputs(folder)
    (folder / "latin1.txt").write_bytes(
        "Title: Café\n\nNATO’s partner café in Brussels met on Monday.".encode("cp1252")
    )
    (folder / "bom.txt").write_bytes(
        "\ufeffTitle: BOM\n\nA file with a byte order mark still reads as text.".encode("utf-8")
    )
    unreadable = folder / "locked.txt"
    unreadable.write_text("Title: Locked\n\nYou cannot read this.")
    unreadable.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make the read fail as it does for a user
        from pathlib import Path

        from ingest import discovery
        from ingest.loaders import load_documents

        real = Path.read_bytes
        monkeypatch.setattr(
            Path,
            "read_bytes",
            lambda self: (
                (_ for _ in ()).throw(PermissionError(13, "Permission denied"))
                if self == unreadable
                else real(self)
            ),
        )

        class InProcess:  # the patch above cannot reach the parser's child process
            def load_file(self, path, limit, max_chars=None):
                return load_documents(path, limit=limit)  # the store checks the length too

        monkeypatch.setattr(discovery, "shared_sandbox", lambda *limits: InProcess())
    cases.append((unreadable, "Permission denied"))

    report = ingest_paths([folder, tmp_path / "missing.txt"], store=store)
    failed = {f.source: f.reason for f in report.failed}
    for path, reason in cases:
        assert reason in failed.get(str(path), ""), (path, failed.get(str(path)))
    assert failed[str(tmp_path / "missing.txt")] == "no such file, folder or URL"
    assert report.added == 2  # latin-1 and BOM files
    docs = {d.title for d in _docs(store).values()}
    assert {"Café", "BOM"} <= docs
    after = sorted(cid for cid, _, _ in _chunks(store))
    assert set(before) <= set(after)


def test_pdf_quote_cites_the_page_it_is_on(tmp_path):
    from bot import ChatBot

    pdf = tmp_path / "korea.pdf"
    pdf.write_bytes(
        pdf_bytes(
            [
                "NATO and the Republic of Korea signed a partnership programme.",
                "The programme includes cyber defence exercises every spring.",
            ],
            title="Korea programme",
        )
    )
    ingest_paths([pdf], store=tmp_path / "s")
    answer = ChatBot(store=tmp_path / "s", backend="extractive").ask(
        "Which exercises does the Korea programme include?"
    )
    assert not answer.abstained
    (c,) = answer.citations
    assert "cyber defence exercises" in c.quote
    assert (c.title, c.page) == ("Korea programme", 2)


def test_remove_and_prune_through_the_api(tmp_path, monkeypatch):
    from ingest.pipeline import remove_documents

    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("a", "b", "c"):
        (folder / f"{name}.txt").write_text(
            f"Title: {name}\n\nPartner {name} met NATO officials in Brussels to discuss training."
        )
    store = tmp_path / "s"
    ingest_paths([folder], store=store)
    assert remove_documents([str(folder / "a.txt"), "nothing-like-this"], store=store) == (
        1,
        ["nothing-like-this"],
    )
    (folder / "b.txt").unlink()
    report = ingest_paths([folder], store=store, prune=True)
    assert (report.added, report.unchanged, report.removed) == (1, 1, 1)  # a.txt comes back
    assert sorted(_docs(store)) == [str((folder / n).resolve()) for n in ("a.txt", "c.txt")]
    with open_store(store) as db:  # no sentence of a removed document is left behind
        kept = sum(int(m["n_sentences"]) for _, m, _ in db.chunk_records())
        assert db.sentences.count() == kept

    monkeypatch.chdir(tmp_path)  # a relative path to a file already deleted still matches
    (folder / "c.txt").unlink()
    assert remove_documents(["docs/c.txt"], store=store) == (1, [])


@pytest.mark.security
def test_a_parser_that_breaks_its_limits_is_killed_and_the_batch_goes_on(tmp_path, monkeypatch):
    """The last wall: whatever slips past the parsers' own checks runs out of memory, CPU or
    time in the child process, not in the caller's."""
    from ingest import formats, sandbox

    store = tmp_path / "s"
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_text("Title: Good\n\nNATO and Japan met in Brussels in 2024.\n")
    (folder / "hog.docx").write_bytes(b"PK")  # its parser is replaced below, in the child only
    (folder / "spin.docx").write_bytes(b"PK")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "hooks"))
    (tmp_path / "hooks").mkdir()
    # A sitecustomize module makes the child's .docx parser misbehave on purpose.
    (tmp_path / "hooks" / "sitecustomize.py").write_text(
        "import sys\n"
        "if sys.argv[-1:] == ['-m'] or 'ingest.sandbox' in ' '.join(sys.orig_argv):\n"
        "    from ingest import formats\n"
        "    def bad(raw, origin, source):\n"
        "        if origin.endswith('hog.docx'):\n"
        "            blocks = []\n"
        "            while True:\n"
        "                blocks.append(bytearray(50_000_000))\n"
        "        while True:\n"
        "            pass\n"
        "    formats.docx_article = bad\n"
    )
    sandbox._close_all()
    sandbox._SHARED.clear()
    from ingest.settings import Settings

    settings = Settings(store=store, parse_memory_mb=512, parse_seconds=3)
    report = ingest_paths([folder], settings=settings)
    failed = {os.path.basename(f.source): f.reason for f in report.failed}
    assert report.added == 1, failed
    assert "512 MB" in failed["hog.docx"], failed
    assert "over 3 s" in failed["spin.docx"], failed
    assert formats.docx_article.__name__ == "docx_article"  # this process never ran them
    sandbox._close_all()
    sandbox._SHARED.clear()


@pytest.mark.security
def test_prune_keeps_files_with_a_hash_in_their_name_and_names_are_printable(tmp_path):
    from ingest.cli import printable

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "notes#2024.txt").write_text("Title: Notes\n\nNATO and Japan met in Tokyo in 2024.\n")
    store = tmp_path / "s"
    assert ingest_paths([folder], store=store).added == 1
    assert ingest_paths([], store=store, prune=True).removed == 0
    (folder / "notes#2024.txt").unlink()
    assert ingest_paths([], store=store, prune=True).removed == 1
    # A file name cannot write escape codes to the operator's terminal.
    assert printable("evil\x1b[2J\rfailed: 0\n.txt") == "evil\\x1b[2J\\rfailed: 0\\n.txt"


@pytest.mark.security
def test_a_full_disk_ends_the_batch_with_its_report_kept(tmp_path, monkeypatch):
    import errno

    from ingest.store import Store

    store = tmp_path / "s"
    ingest_paths([SEED], store=store)
    before = sorted(cid for cid, _, _ in _chunks(store))
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "new.txt").write_text("Title: New\n\nNATO and Japan met in Tokyo in 2024.\n")
    (folder / "empty.txt").write_text("")

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Store, "upsert", full)
    report = ingest_paths([folder], store=store)
    reasons = {os.path.basename(f.source): f.reason for f in report.failed}
    assert "file is empty" in reasons["empty.txt"]  # the per-file report survives
    assert "the disk is full" in reasons["s"]
    monkeypatch.undo()
    assert sorted(cid for cid, _, _ in _chunks(store)) == before  # nothing stored was lost
    again = ingest_paths([folder], store=store)  # with space again, the re-run completes it
    assert again.added == 1
