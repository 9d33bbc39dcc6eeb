"""Two web replicas on one real `chroma run` server: both answer, a document added through
one is answered by the other, and only one writes at a time (the lock lives on the server)."""

from __future__ import annotations

import subprocess
import sys
from contextlib import ExitStack

import pytest

from .conftest import CORPUS, ROOT, child_env, chroma_run, served
from .scripted import QUESTION

pytestmark = pytest.mark.security


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    home = tmp_path_factory.mktemp("replicas")
    with ExitStack() as stack:
        server = stack.enter_context(chroma_run(home / "chroma"))
        added = subprocess.run(
            [
                sys.executable,
                "-m",
                "bot.interfaces.cli",
                "ingest",
                "--chroma-url",
                server,
                str(CORPUS),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            env=child_env(),
        )
        assert added.returncode == 0, added.stderr
        urls = []
        for name in ("a", "b"):
            url, _ = stack.enter_context(
                served(
                    ["-m", "bot.interfaces.cli", "serve"],
                    home,
                    log=f"{name}.log",
                    PARTNERBOT_CHROMA_URL=server,
                    PARTNERBOT_BACKEND="extractive",
                    PARTNERBOT_UPLOADS=str(home / f"uploads-{name}"),
                    PARTNERBOT_FEEDBACK_DB=str(home / f"feedback-{name}.sqlite"),
                    PARTNERBOT_ACCOUNTS_DB=str(home / "no-accounts.sqlite"),
                )
            )
            urls.append(url + "/")
        yield {"server": server, "urls": urls, "home": home}


def _ask(url: str, question: str) -> str:
    from gradio_client import Client

    chat, *_ = Client(url, verbose=False).predict(question, api_name="/ask")
    content = chat[-1]["content"]
    return content if isinstance(content, str) else "".join(p.get("text", "") for p in content)


def test_two_replicas_share_one_chroma_server(replicas, tmp_path):
    from gradio_client import Client, handle_file

    from ingest.settings import Settings
    from ingest.store import ServerLock, open_store

    a, b = replicas["urls"]
    for url in (a, b):
        assert "Belarus" in _ask(url, QUESTION)
    doc = tmp_path / "accord.txt"
    doc.write_text(
        "Title: Zanzibar Accord signed\nDate: 2026-11-01\n\nThe Zanzibar Accord "
        "between NATO and the Republic of Freedonia was signed in Tallinn on 1 "
        "November 2026.\n"
    )
    settings = Settings(chroma_url=replicas["server"])
    # While another process writes to the server, a replica's addition is refused, naming it.
    with open_store(settings=settings, write=True) as holder:
        assert isinstance(holder.lock, ServerLock)
        with pytest.raises(Exception, match="another process is writing to this store"):
            Client(a, verbose=False).predict([handle_file(str(doc))], "", api_name="/add_documents")
    summary, _ = Client(a, verbose=False).predict(
        [handle_file(str(doc))], "", api_name="/add_documents"
    )
    assert "Added 1" in summary, summary
    assert "Tallinn" in _ask(b, "Where was the Zanzibar Accord signed?")  # the other replica
    # The lock was given back: the CLI can write again.
    with open_store(settings=settings, write=True) as again:
        assert again.lock is not None


def test_a_dead_writers_server_lock_expires(replicas):
    import time

    from ingest.lock import StoreBusyError
    from ingest.settings import Settings
    from ingest.store import LOCK_SUFFIX, ServerLock, open_store

    settings = Settings(chroma_url=replicas["server"])
    with open_store(settings=settings) as db:
        name = db.chunks.name + "-test" + LOCK_SUFFIX
        first = ServerLock(db.client, name).acquire()
        with pytest.raises(StoreBusyError, match="pid"):
            ServerLock(db.client, name).acquire()
        first._stop.set()  # the writer "dies": no more renewals, and its lease runs out
        marker = db.client.get_collection(name)
        marker.modify(metadata={**marker.metadata, "expires": time.time() - 1})
        second = ServerLock(db.client, name).acquire()
        assert db.client.get_collection(name).metadata["token"] == second.token
        second.release()
        first.release()  # not its lock any more: nothing happens
        assert ServerLock(db.client, name).acquire().token
