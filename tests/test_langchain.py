"""Partnerbot from LangChain: LangChain's own standard retriever suite (real store, real
embeddings), the retriever's metadata, k and filters, the runnable's streaming, and the
README's LangChain example run as written."""

import asyncio
import re
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable
from langchain_tests.integration_tests import RetrieversIntegrationTests

from bot import ChatBot
from bot.interfaces.runnables import PartnerbotRetriever

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Which partners were not invited to the July 2021 meeting?"


class TestPartnerbotRetrieverStandard(RetrieversIntegrationTests):
    """`langchain_tests`' suite, unmodified, over the seed store."""

    @pytest.fixture(autouse=True)
    def _seed(self, seed_store):
        self._store = seed_store

    @property
    def retriever_constructor(self) -> type[PartnerbotRetriever]:
        return PartnerbotRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"store": str(self._store)}

    @property
    def retriever_query_example(self) -> str:
        return QUESTION


@pytest.fixture(scope="module")
def dated_store(tmp_path_factory) -> Path:
    from ingest import ingest_paths

    docs = tmp_path_factory.mktemp("dated-docs")
    for year, place in ((2019, "Riga"), (2021, "Vilnius"), (2023, "Tallinn")):
        (docs / f"{year}.txt").write_text(
            f"Title: Baltic partnership exercise {year}\nDate: {year}-06-01\nSource: "
            f"https://example.org/{year}\n\nThe Baltic partnership exercise of {year} was held "
            f"in {place}. Partner navies joined the exercise at sea.\n"
        )
    store = tmp_path_factory.mktemp("dated-store")
    assert not ingest_paths([docs], store=store).failed
    return store


def test_documents_carry_the_article_and_the_chunk_offsets(seed_store):
    retriever = ChatBot(store=seed_store, backend="extractive").as_retriever(k=2)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke(QUESTION)
    assert len(docs) == 2 and all(isinstance(d, Document) for d in docs)
    # the chunk that answers is one of the two; which of the article's two chunks ranks first
    # differs between machines (the int8 encoder's vectors differ slightly)
    answering = [d for d in docs if "Russia and Belarus" in d.page_content]
    assert answering, [d.page_content[:80] for d in docs]
    top = answering[0]
    meta = top.metadata
    assert meta["title"].startswith("NATO Partners are invaluable assets")
    assert meta["date"] == "2021-07-13"
    assert meta["url"] == "https://www.nato.int/cps/en/natohq/news_185837.htm"
    assert meta["source"] == "2021-07-13-nato-partners-invaluable-assets.txt"
    assert meta["end"] - meta["start"] == len(top.page_content)
    assert top.id == meta["id"]


def test_retriever_honours_k_and_date_filters_in_invoke_batch_and_ainvoke(dated_store):
    bot = ChatBot(store=dated_store, backend="extractive")
    query = "Where was the Baltic partnership exercise held?"
    years = lambda docs: sorted(d.metadata["date"][:4] for d in docs)  # noqa: E731

    assert years(bot.as_retriever(k=3).invoke(query)) == ["2019", "2021", "2023"]
    assert len(bot.as_retriever(k=1).invoke(query)) == 1
    since = bot.as_retriever(k=3, filters={"since": "2021"})
    assert years(since.invoke(query)) == ["2021", "2023"]
    assert years(since.invoke(query, filters={"until": "2019-12"})) == ["2019"]
    assert [years(d) for d in since.batch([query, "Partner navies at sea"])] == [
        ["2021", "2023"],
        ["2021", "2023"],
    ]
    assert years(asyncio.run(since.ainvoke(query, k=1))) in (["2021"], ["2023"])
    # a year in the query ranks that year's article first, as in the chat
    assert (
        bot.as_retriever(k=3)
        .invoke("Where was the Baltic partnership exercise held in 2021?")[0]
        .metadata["date"][:4]
        == "2021"
    )
    with pytest.raises(ValueError, match="until"):
        bot.as_retriever(filters={"until": "soon"})
    with pytest.raises(ValueError, match="unknown field"):
        since.invoke(query, filters={"from": "2020"})


def _scripted_bot(store, times=1):
    reply = "Russia and Belarus were the only partners not invited to the meeting."
    return ChatBot(store=store, llm=GenericFakeChatModel(messages=iter([reply] * times)))


def test_runnable_answers_with_citations_and_streams_text_that_grows(seed_store):
    runnable = _scripted_bot(seed_store, times=4).as_runnable()
    assert isinstance(runnable, Runnable)
    answer = runnable.invoke({"question": QUESTION, "history": []})
    assert answer["abstained"] is False
    assert answer["text"] == (
        "Russia and Belarus were the only partners not invited to the meeting [1]."
    )
    assert "exception of Russia and Belarus" in answer["citations"][0]["quote"]

    grown = []
    for piece in runnable.stream({"question": QUESTION}):
        grown.append((grown[-1] if grown else "") + piece)
    # the text grows piece by piece before the answer is complete
    assert len(grown) > 3
    assert all(b.startswith(a) and len(b) > len(a) for a, b in zip(grown, grown[1:]))
    assert grown[0] != answer["text"] and grown[-1] == answer["text"]

    async def collect():
        return [piece async for piece in runnable.astream({"question": QUESTION})]

    pieces = asyncio.run(collect())
    assert len(pieces) > 3 and "".join(pieces) == answer["text"]
    assert asyncio.run(runnable.ainvoke({"question": QUESTION}))["text"] == answer["text"]


def test_runnable_takes_history_and_names_bad_input(seed_store):
    runnable = ChatBot(store=seed_store, backend="extractive").as_runnable()
    out = runnable.invoke(
        {
            "question": "And who hosted it?",
            "history": [{"question": QUESTION, "answer": "Russia and Belarus."}],
        }
    )
    assert not out["abstained"] and "Wiermann" in out["text"]
    with pytest.raises(ValueError, match=r"history\[0\]"):
        runnable.invoke({"question": "Who?", "history": [("only one part",)]})
    with pytest.raises(ValueError, match="question"):
        runnable.invoke({"query": "Who?"})


def _readme_block(heading: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(heading, 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


@pytest.mark.llm
def test_readme_langchain_example_runs(seed_store, tmp_path, monkeypatch, capsys):
    code = _readme_block("## From LangChain")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "store").symlink_to(seed_store, target_is_directory=True)
    exec(compile(code, "README.md#from-langchain", "exec"), {"__name__": "readme"})
    printed = capsys.readouterr().out
    assert "Russia" in printed and "Belarus" in printed  # the chain's answer
    assert "Wiermann" in printed  # the bot's streamed follow-up
