"""First start, as a new user has it: `python app.py` on an empty store serves at once, indexes
the built-in library in the background (progress on the terminal; answers meanwhile say they
come from part of it), then answers every example question of the chat, and a question only a
bundled White House release answers, with citations. The real app, encoder and model."""

import time

import pytest

from bench.common import ask_v1
from bot.interfaces.web import EXAMPLES

from .conftest import ROOT, served

# Example question -> (words the answer must hold, where its citation must come from).
EXPECTED = {
    "Who did Allies welcome as the next NATO Secretary General?": ("Rutte", ".txt"),
    "How much did Japan give to NATO's Comprehensive Assistance Package?": ("67 million", ".txt"),
    "When did the Republic of Korea establish its NATO mission?": ("November 2022", ".txt"),
    "Which NATO Ally number did Sweden become?": ("32", ".txt"),
    "How much baseline funding did Allies pledge Ukraine in Washington?": ("40 billion", ".txt"),
    # Only a CC0 White House release (.md, corpus/whitehouse-cc0/) says this.
    "At which summit did President Trump announce a surge in defense investment from NATO Allies?": (
        "Ankara",
        ".md",
    ),
    "Which partners were not invited to the July 2021 meeting?": ("Russia and Belarus", ".txt"),
}
WHITE_HOUSE_ONLY = "When did the U.S. suspend its CFE Treaty obligations?"


def _wait_for_line(log, text: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        time.sleep(1)
    raise AssertionError(f"no {text!r} in the app's output: {log.read_text()[-2000:]}")


@pytest.mark.llm
def test_first_start_serves_at_once_then_answers_from_the_whole_library(tmp_path):
    assert set(EXAMPLES) == set(EXPECTED)  # every example shown in the chat is checked here
    store, log = tmp_path / "store", tmp_path / "app.log"
    with served([str(ROOT / "app.py"), "--store", str(store)], tmp_path) as (url, _):
        early = ask_v1(url, EXAMPLES[0])  # asked while the library is being indexed
        assert "The built-in library is still being indexed (indexing " in early["notice"]
        _wait_for_line(log, "built-in library: indexing ", 60)
        _wait_for_line(log, "built-in library: indexed 370 documents (370 added)", 900)
        for question, (words, kind) in EXPECTED.items():
            reply = ask_v1(url, question)
            text = reply["choices"][0]["message"]["content"]
            assert not reply["abstained"] and words in text, (question, text)
            assert any(c["source"].endswith(kind) for c in reply["citations"]), (question, text)
            assert "notice" not in reply, reply["notice"]
        reply = ask_v1(url, WHITE_HOUSE_ONLY)
        text = reply["choices"][0]["message"]["content"]
        assert "December 7" in text and not reply["abstained"], text
        cited = [c for c in reply["citations"] if c["source"].endswith(".md")]
        assert cited and cited[0]["url"].startswith("https://bidenwhitehouse.archives.gov/"), text
    # A restart finds the library complete: nothing is indexed again.
    with served([str(ROOT / "app.py"), "--store", str(store)], tmp_path, log="again.log"):
        time.sleep(3)
        assert "built-in library" not in (tmp_path / "again.log").read_text()
