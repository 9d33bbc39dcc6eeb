"""Partnerbot as LangChain parts: a standard retriever and a runnable chat.

Both are thin adapters over the same core the web chat and the CLI use:

* `PartnerbotRetriever` (`ChatBot.as_retriever()`) is a `BaseRetriever` over
  `bot.retrieval.Retriever`: hybrid dense + sentence + BM25 search, ranked by date fit when the
  query names a time ("in 2022", "latest"), limited by `Filters`. Each `Document` is one
  chunk; its metadata carry the article's title, date, url and source, the chunk's
  `start`/`end` offsets in the article's stored text, its id and its fused score.
* `ChatRunnable` (`ChatBot.as_runnable()`) takes `{"question": ..., "history": [...]}` and
  returns `Answer.to_dict()` (text, citations, abstained); `stream`/`astream` yield the answer
  text as it is generated (append-only pieces, the same the CLI prints).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, AsyncIterator, Iterator, Optional

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableConfig
from pydantic import ConfigDict, Field, PrivateAttr

from ingest.settings import get_settings

from ..answers import text_deltas
from ..dates import parse_time_hint
from ..retrieval import Filters, Passage, Retriever


def passage_document(p: Passage) -> Document:
    """A retrieved chunk as a LangChain `Document`."""
    return Document(
        page_content=p.text,
        id=p.id,
        metadata={
            "id": p.id,
            "title": p.title,
            "date": p.date,
            "url": p.url,
            "source": p.source,
            "start": p.start,
            "end": p.end,
            "page": p.page,
            "score": p.score,
        },
    )


def _filters(value: Filters | dict | None) -> Filters | None:
    if value is None or isinstance(value, Filters):
        return value
    if isinstance(value, dict):
        unknown = set(value) - {"since", "until", "sites"}
        if unknown:
            raise ValueError(
                f"filters: unknown field(s) {', '.join(sorted(unknown))}; use since, until, sites"
            )
        return Filters.parse(value.get("since"), value.get("until"), value.get("sites"))
    raise ValueError(f"filters: expected a Filters or a dict, got {type(value).__name__}")


class PartnerbotRetriever(BaseRetriever):
    """Partnerbot's retrieval as a LangChain retriever.

    Build it with `ChatBot.as_retriever(k=..., filters=...)`, or on its own with
    `PartnerbotRetriever(store="store/", k=4)` (`store=None`: the configured store).
    `invoke(query, k=..., filters=...)` overrides both per call; `filters` is a
    `bot.retrieval.Filters` or a dict with `since`, `until` (YYYY, YYYY-MM or YYYY-MM-DD)
    and `sites`.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Optional[str | Path] = None
    k: int = Field(default_factory=lambda: get_settings().top_k, ge=1)
    filters: Optional[Filters] = None
    _retriever: Retriever = PrivateAttr()

    def __init__(self, retriever: Retriever | None = None, **kwargs: Any):
        if "filters" in kwargs:
            kwargs["filters"] = _filters(kwargs["filters"])
        super().__init__(**kwargs)
        if retriever is None:
            from ingest.embedder import get_embedder
            from ingest.store import open_store

            retriever = Retriever(open_store(self.store), get_embedder(get_settings()))
        self._retriever = retriever

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        filters: Filters | dict | None = None,
    ) -> list[Document]:
        k = self.k if k is None else k
        if k < 1:
            raise ValueError(f"k: must be at least 1, got {k}")
        chosen = _filters(filters) if filters is not None else self.filters
        passages = self._retriever.search([query], k, parse_time_hint(query), filters=chosen)
        return [passage_document(p) for p in passages]

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
        filters: Filters | dict | None = None,
    ) -> list[Document]:
        return await asyncio.get_running_loop().run_in_executor(
            None,
            lambda: self._get_relevant_documents(
                query, run_manager=run_manager.get_sync(), k=k, filters=filters
            ),
        )


class ChatRunnable(Runnable[Any, Any]):  # invoke gives a dict, stream text pieces
    """The whole bot as a runnable: `{"question": str, "history": [(q, a), ...]}` in,
    `{"text", "citations", "abstained"}` out; `stream`/`astream` yield text pieces.

    `history` items may be `(question, answer)` pairs or `{"question", "answer"}` dicts;
    `filters` (optional) is as for `PartnerbotRetriever`.
    """

    def __init__(self, bot):
        self.bot = bot

    @staticmethod
    def _parse(value: Any) -> tuple[str, list[tuple[str, str]], Filters | None]:
        if isinstance(value, str):
            return value, [], None
        if not isinstance(value, dict) or not isinstance(value.get("question"), str):
            raise ValueError("input: expected {'question': str, 'history': [...]}")
        history = []
        for i, turn in enumerate(value.get("history") or []):
            if isinstance(turn, dict):
                turn = (turn.get("question"), turn.get("answer", ""))
            if not (
                isinstance(turn, (list, tuple))
                and len(turn) == 2
                and all(isinstance(x, str) for x in turn)
            ):
                raise ValueError(f"history[{i}]: expected (question, answer) strings")
            history.append(tuple(turn))
        return value["question"], history, _filters(value.get("filters"))

    def _answer(self, value: Any) -> dict:
        question, history, filters = self._parse(value)
        return self.bot.ask(question, history=history, filters=filters).to_dict()

    def _pieces(self, values: Iterator[Any]) -> Iterator[str]:

        for value in values:
            question, history, filters = self._parse(value)
            for piece in text_deltas(self.bot.events(question, history, filters)):
                if isinstance(piece, str):
                    yield piece

    async def _apieces(self, values: AsyncIterator[Any]) -> AsyncIterator[str]:
        # The pipeline is synchronous (the local model blocks): each step runs in a thread.
        loop = asyncio.get_running_loop()
        async for value in values:
            pieces = self._pieces(iter([value]))
            while (piece := await loop.run_in_executor(None, next, pieces, None)) is not None:
                yield piece

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> dict:
        return self._call_with_config(self._answer, input, config)

    async def ainvoke(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> dict:
        return await self._acall_with_config(self._aanswer, input, config)

    async def _aanswer(self, value: Any) -> dict:
        return await asyncio.get_running_loop().run_in_executor(None, self._answer, value)

    def stream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[str]:
        yield from self._transform_stream_with_config(iter([input]), self._pieces, config)

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[str]:
        async def one() -> AsyncIterator[Any]:
            yield input

        async for piece in self._atransform_stream_with_config(one(), self._apieces, config):
            yield piece
