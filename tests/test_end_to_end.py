"""The real thing: packaged LLM, real store, the CLI as a user runs it. Slow (~20 s a question)."""

import json
import subprocess
import sys

import pytest

from bot import ChatBot

from .conftest import ROOT, child_env
from .scripted import LAST, QUESTION

pytestmark = pytest.mark.llm


@pytest.fixture(scope="module")
def local_bot(seed_store):
    return ChatBot(store=seed_store, backend="local")


def test_not_invited_question_streams_russia_and_belarus(local_bot):
    texts = list(local_bot.stream(QUESTION))
    final = local_bot.ask(QUESTION)
    assert texts and texts[-1] == final.text  # greedy decoding: the same answer twice
    assert "Russia" in final.text and "Belarus" in final.text
    assert not final.abstained
    quotes = [c.quote for c in final.citations]
    assert LAST in quotes
    c = final.citations[quotes.index(LAST)]
    assert c.date == "2021-07-13" and c.url.startswith("https://www.nato.int/")
    for c in final.citations:
        assert any(c.quote in p.text for p in final.passages)


def test_unanswerable_question_abstains(local_bot):
    answer = local_bot.ask("What did NATO decide about Mongolia in 2019?")
    assert answer.abstained
    assert answer.citations == []
    assert answer.text.startswith("The corpus does not answer this question")
    assert "Mongolia" in answer.text  # it says what the corpus does not mention


def test_cli_ask_json_names_wiermann(seed_store):
    q = (
        "Who hosted the first in-person meeting with NATO Partners at NATO HQ since the start "
        "of the pandemic?"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.interfaces.cli",
            "ask",
            "--json",
            "--store",
            str(seed_store),
            q,
        ],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert set(answer) == {"text", "citations", "abstained"}
    assert "Wiermann" in answer["text"]
    assert answer["abstained"] is False
    assert any(
        c["source"] == "2021-07-13-nato-partners-invaluable-assets.txt" and "Wiermann" in c["quote"]
        for c in answer["citations"]
    )
