"""The built-in library indexed in the background: progress, resuming, answers that say they
come from part of it, and an empty store that says what to run. Real store, real encoder."""

import shutil
import subprocess
import sys
import threading

from bot import ChatBot
from ingest import ingest_paths
from ingest.library import Library
from ingest.pipeline import rebuild_store
from ingest.settings import get_settings
from ingest.store import open_store

from .conftest import ROOT, child_env

RELEASES = sorted((ROOT / "corpus" / "us-government").glob("*.txt"))


def _folder(tmp_path, n: int):
    folder = tmp_path / "library"
    folder.mkdir()
    for f in RELEASES[:n]:
        shutil.copy(f, folder / f.name)
    return folder


def test_the_library_is_indexed_once_per_version_and_a_new_file_is_added(tmp_path):
    folder = _folder(tmp_path, 3)
    settings = get_settings()
    with open_store(tmp_path / "store", settings, write=True) as db:
        library = Library(folder, db, settings)
        assert library.needed() and library.total == 3
        assert library.start().wait(300), "indexing did not finish"
        assert library.error is None and library.report.added == 3
        assert library.status() == "indexed 3 documents (3 added)"
        assert not Library(folder, db, settings).needed()  # the store holds this version
        mark = db.mark("library")
    rebuild_store(tmp_path / "store", settings)  # the mark survives a rebuild
    with open_store(tmp_path / "store", settings, write=True) as db:
        assert db.mark("library") == mark and not Library(folder, db, settings).needed()
        shutil.copy(RELEASES[3], folder / RELEASES[3].name)
        again = Library(folder, db, settings)
        assert again.needed()
        report = again.run()
        assert (report.added, report.unchanged) == (1, 3)
        assert not Library(folder, db, settings).needed()


def test_an_interrupted_indexing_resumes_where_it_stopped(tmp_path):
    folder = _folder(tmp_path, 3)
    settings = get_settings().model_copy(update={"ingest_batch": 1})  # each document written
    calls = []

    def stop_after_two():
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("power cut")
        return False

    with open_store(tmp_path / "store", settings, write=True) as db:
        first = Library(folder, db, settings, pause=stop_after_two)
        first.run()
        assert first.error == "power cut" and first.done == 2
        assert "could not be indexed: power cut" in first.status()
        assert first.needed()  # not marked complete
        report = Library(folder, db, settings).run()
        assert (report.added, report.unchanged) == (1, 2)


def test_a_run_with_a_failure_is_not_marked_complete(tmp_path):
    folder = _folder(tmp_path, 2)
    (folder / "broken.txt").write_bytes(b"\x00\x01 binary, not a document")
    settings = get_settings()
    with open_store(tmp_path / "store", settings, write=True) as db:
        library = Library(folder, db, settings)
        library.run()
        assert library.report.added == 2 and len(library.report.failed) == 1
        assert "1 failed: the next start tries again" in library.status()
        assert library.needed()  # tried again on the next start; the stored two are skipped
        (folder / "broken.txt").unlink()
        report = Library(folder, db, settings).run()
        assert (report.added, report.unchanged, report.failed) == (0, 2, [])
        assert not Library(folder, db, settings).needed()


def test_a_store_filled_with_documents_of_ones_own_is_left_alone(tmp_path):
    own = tmp_path / "own"
    own.mkdir()
    shutil.copy(RELEASES[5], own / RELEASES[5].name)
    settings = get_settings()
    with open_store(tmp_path / "store", settings, write=True) as db:
        ingest_paths([own], settings=settings, db=db)
        assert not Library(_folder(tmp_path, 2), db, settings).needed()


def test_a_store_built_from_the_library_folder_before_marks_is_completed(tmp_path):
    folder = _folder(tmp_path, 3)
    settings = get_settings()
    with open_store(tmp_path / "store", settings, write=True) as db:
        ingest_paths([folder / RELEASES[0].name], settings=settings, db=db)  # an older start
        library = Library(folder, db, settings)
        assert library.needed()
        assert (library.run().added, library.report.unchanged) == (2, 1)


def test_answers_during_indexing_say_they_come_from_part_of_the_library(tmp_path):
    folder = _folder(tmp_path, 3)
    settings = get_settings().model_copy(update={"ingest_batch": 1})
    go_on = threading.Event()
    with open_store(tmp_path / "store", settings, write=True) as db:
        library = Library(folder, db, settings, pause=lambda: not go_on.is_set())
        bot = ChatBot(store=db, settings=settings, backend="extractive", library=library)
        library.start()
        try:
            while library.done < 1 and library.running:
                go_on.wait(0.1)
            assert library.running
            answer = bot.ask("What did the Brussels summit fact sheet say about NATO?")
            assert answer.notice and "still being indexed (indexing 1 of 3 documents" in (
                answer.notice
            )
        finally:
            go_on.set()
        assert library.wait(300)
        assert not bot.ask("What did the Brussels summit fact sheet say?").notice


def test_an_empty_store_says_what_to_run(tmp_path):
    answer = ChatBot(store=tmp_path / "empty", backend="extractive").ask("Who joined NATO?")
    assert answer.abstained and answer.cause == "empty"
    assert "partnerbot ingest corpus/" in answer.text and str(tmp_path / "empty") in answer.text


def test_partnerbot_ask_on_an_empty_store_says_what_to_run_once(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.interfaces.cli",
            "ask",
            "--store",
            str(tmp_path / "s"),
            "Who joined?",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=child_env(),
    )
    said = out.stdout + out.stderr
    assert out.returncode == 0 and said.count("Run `partnerbot ingest corpus/`") == 1, said
