"""The real model behind each backend: an OpenAI-compatible server (llama.cpp's own, with the
packaged model, on 127.0.0.1), Ollama where one is reachable, and the in-process model under
concurrent users and against an article carrying a prompt injection. Slow: real generation."""

import subprocess
import sys
import threading
import urllib.request

import pytest

from bot import ChatBot, Done, Partial, Retrieved

from .conftest import free_port, wait_for
from .scripted import LAST, QUESTION
from .test_backends import CYBER_QUESTION, assert_untouched

pytestmark = pytest.mark.llm


@pytest.fixture(scope="module")
def openai_server(tmp_path_factory):
    """`python -m llama_cpp.server` serving the packaged model over the OpenAI API."""
    from bot.model_file import ensure_model_file
    from ingest.settings import get_settings

    settings = get_settings()
    model = ensure_model_file(settings.llm_model, settings.model_dir)
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
            "--n_threads",
            str(settings.llm_threads),
            "--model_alias",
            "packaged-qwen",
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )  # a pipe would fill up and stall it
    try:
        wait_for(f"http://127.0.0.1:{port}/v1/models", 180, proc, log)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_openai_backend_against_a_real_llama_cpp_server(seed_store, openai_server, monkeypatch):
    from ingest.settings import get_settings

    monkeypatch.setenv("PARTNERBOT_BACKEND", "openai")
    monkeypatch.setenv("PARTNERBOT_OPENAI_BASE_URL", openai_server)
    get_settings.cache_clear()
    bot = ChatBot(store=seed_store)
    events = list(bot.events(QUESTION))
    assert isinstance(events[0], Retrieved)
    answer = events[-1].answer
    assert bot.llm.model_name == "packaged-qwen"  # found by listing the server's models
    assert answer.notice is None, answer.notice
    assert not answer.abstained and "Russia" in answer.text and "Belarus" in answer.text
    assert LAST in [c.quote for c in answer.citations]
    partials = [e.text for e in events if isinstance(e, Partial)]
    assert all(answer.text.startswith(p) for p in partials)


def test_ollama_backend_where_a_server_is_reachable(seed_store):
    from ingest.settings import get_settings

    settings = get_settings()
    try:
        with urllib.request.urlopen(f"{settings.ollama_url}/api/tags", timeout=3) as reply:
            tags = reply.read().decode()
    except OSError as exc:
        pytest.skip(
            f"no Ollama server at {settings.ollama_url} ({exc}); set "
            "PARTNERBOT_OLLAMA_URL to test one"
        )
    if settings.ollama_model not in tags:
        pytest.skip(
            f"the Ollama server has no model {settings.ollama_model!r}; "
            f"`ollama pull {settings.ollama_model}` or set PARTNERBOT_OLLAMA_MODEL"
        )
    answer = ChatBot(store=seed_store, backend="ollama").ask(QUESTION)
    assert answer.notice is None, answer.notice
    assert not answer.abstained and "Belarus" in answer.text


def test_concurrent_users_share_the_in_process_model(seed_store):
    bot = ChatBot(store=seed_store, backend="local")
    questions = [
        QUESTION,
        "Who hosted the first in-person meeting with NATO Partners at NATO HQ since "
        "the start of the pandemic?",
        "What did the Chair of the NATO Military Committee say about partners?",
    ]
    answers, errors = {}, []

    def ask(q):
        try:
            answers[q] = bot.ask(q)
        except Exception as exc:  # noqa: BLE001 - any failure fails the test below
            errors.append(repr(exc))

    threads = [threading.Thread(target=ask, args=(q,)) for q in questions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors and len(answers) == 3
    assert all(a.notice is None for a in answers.values())
    assert "Belarus" in answers[QUESTION].text and "Wiermann" in answers[questions[1]].text


def test_real_model_is_not_steered_by_an_injected_article(injected_store):
    bot = ChatBot(store=injected_store, backend="local")
    for question in (
        CYBER_QUESTION,
        "What reply does the Tallinn cyber defence exercise article ask for?",
    ):
        events = list(bot.events(question))
        answer = events[-1].answer
        assert isinstance(events[-1], Done)
        assert_untouched([e.text for e in events if isinstance(e, Partial)] + [answer.text])
        for c in answer.citations:
            assert any(c.quote in p.text for p in answer.passages)
