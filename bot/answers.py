"""What an answer is: the `Answer` with its `Citation`s, the events the answer pipeline
streams (`Retrieved`, `Partial`, `Done`) and `text_deltas` for append-only consumers. Every
interface (web chat, `/v1`, CLI, LangChain) reads these; `bot.chatbot` makes them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Iterator, Union

from .retrieval import Passage

# Why an answer was declined (`Answer.cause`), for the reader of an eval or a log.
CAUSES = {
    "empty": "the store holds no documents",
    "filters": "no document matches the filters",
    "gate": "no article retrieved names a place or number of the question",
    "model": "the model said the sentences do not answer",
    "unconfirmed": "the model, shown only the cited sentences, did not confirm the answer",
    "verifier": "no sentence shown backs what the model wrote",
    "country": "the sentences found are about another country",
    "coverage": "the cited articles do not name a place or number of the question",
    "extractive": "no sentence scores high enough for an extractive answer",
}


@dataclass(frozen=True)
class Citation:
    """One numbered source of an answer: the exact quoted sentence and where it comes from.

    `start`/`end` locate the quote in the article's stored text; `page` is its PDF page.
    """

    n: int
    title: str
    date: str | None
    url: str | None
    source: str
    quote: str
    start: int
    end: int
    page: int | None = None  # PDF page of the quote


@dataclass
class Answer:
    text: str
    citations: list[Citation]
    abstained: bool
    question: str
    passages: list[Passage] = field(default_factory=list, repr=False)
    draft: str = field(default="", repr=False)  # the model's unverified reply, for diagnosis
    context: str = field(default="", repr=False)  # the passage text the model was shown
    notice: str | None = (
        None  # set when the configured backend failed and this answer is extractive
    )
    cause: str | None = None  # why it abstained: a key of `CAUSES`

    def to_dict(self) -> dict:
        out = {
            "text": self.text,
            "citations": [asdict(c) for c in self.citations],
            "abstained": self.abstained,
        }
        if self.notice:
            out["notice"] = self.notice
        return out

    def sources_text(self) -> str:
        """The numbered sources as plain text, one per citation: title, date, link or file,
        page, then the quoted sentence."""
        lines = []
        for c in self.citations:
            where = ", ".join(
                x for x in (c.date, c.url or c.source, c.page and f"p. {c.page}") if x
            )
            lines.append(f"[{c.n}] {c.title} ({where})\n    “{c.quote}”")
        return "\n".join(lines)

    def text_with_sources(self) -> str:
        """The answer, then its sources: what a copy or an API reply carries."""
        if not self.citations:
            return self.text
        return f"{self.text}\n\nSources:\n{self.sources_text()}"


@dataclass(frozen=True)
class Retrieved:
    passages: list[Passage]


@dataclass(frozen=True)
class Partial:
    text: str


@dataclass(frozen=True)
class Done:
    answer: Answer


Event = Union[Retrieved, Partial, Done]


def text_deltas(events: Iterator[Event]) -> Iterator[str | Answer]:
    """The streamed answer as append-only text pieces (for consumers that cannot take back
    what they printed: a terminal, an OpenAI-style stream), then the final `Answer`.

    When a shown sentence fails its check, the checked answer follows in full after a blank
    line."""
    shown = ""
    for event in events:
        if isinstance(event, Partial) and event.text.startswith(shown):
            if event.text != shown:
                yield event.text[len(shown) :]
                shown = event.text
        elif isinstance(event, Done):
            text = event.answer.text
            if text.startswith(shown):
                if text != shown:
                    yield text[len(shown) :]
            else:
                yield ("\n\n" if shown else "") + text
            yield event.answer
