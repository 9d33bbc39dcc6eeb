"""The seed question and scripted models, for tests that do not need the real LLM."""

from __future__ import annotations

import itertools
import re
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

LAST = (
    "All partners from the Euro-Atlantic Partnership Council, the Mediterranean Dialogue, the "
    "Istanbul Cooperation Initiative and the Partners across the globe framework were invited "
    "to this meeting with the exception of Russia and Belarus."
)
QUESTION = "Which partners were not invited to the July 2021 meeting?"


def scripted(*replies):
    """A model giving `replies` in turn, then the last one again (a second look asks twice)."""
    return GenericFakeChatModel(messages=itertools.chain(replies, itertools.repeat(replies[-1])))


class _Replying(GenericFakeChatModel):
    """A fake model whose reply is computed from the prompt it is given."""

    reply: Any = None

    def _stream(self, messages, *args, **kwargs):
        self.messages = iter([self.reply(messages[-1].content)])
        yield from super()._stream(messages, *args, **kwargs)


def replying(reply) -> _Replying:
    return _Replying(messages=iter([]), reply=reply)


def number_of(prompt: str, needle: str) -> int:
    """The number [n] under which the prompt shows the sentence containing `needle`."""
    for line in prompt.splitlines():
        m = re.match(r"\[(\d+)\] (.*)", line)
        if m and needle in m[2]:
            return int(m[1])
    raise AssertionError(f"{needle!r} is not in the prompt")


def one_article(text: str, title: str = "T", date: str | None = None):
    """What the model reads when one article's chunk, `text`, is all that was found (its
    sentences numbered [1], [2], ... by `bot.context.whole_passages`)."""
    from bot.context import whole_passages
    from bot.retrieval import Passage

    return whole_passages([Passage("c", text, title, date, None, "s.txt", 0, len(text), 1.0)])
