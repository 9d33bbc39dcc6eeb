"""The one core every interface uses: question (+ history) -> retrieval -> answer -> citations.

`ChatBot.events` is the single pipeline; `ask`, `stream`, the CLI, the web chat and any HTTP
API only consume its events:

* `Retrieved(passages)` as soon as retrieval is done (the UI shows sources before the answer),
* `Partial(text)` while the answer streams: the complete sentences that passed the citation
  check, then the sentence being written, word by word, as long as each of its words is a
  word of the question or of the passages the model read (so an injected "PWNED", a link or
  an invented name is never shown, not even for a moment; a sentence that then fails its
  check disappears),
* `Done(answer)` with the final, verified `Answer`.

A backend that cannot answer (server down, model missing) never raises into an interface:
the answer falls back to the extractive one, with `Answer.notice` saying what failed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from typing import Iterator, Sequence, Union

from ingest.settings import Settings, get_settings
from ingest.text import sentence_spans

from .citations import grounded_prefix, grounding_vocabulary, resolve, split_reply
from .context import Context, build_context, rank_sentences, whole_passages
from .dates import mentions_year, parse_time_hint, spoken_date
from .evidence import Sentence, uncovered_terms
from .retrieval import Filters, Passage, Retriever
from .subjects import substituted_subject
from .terms import content_terms

History = Sequence[tuple[str, str]]

NOT_IN_SOURCES = "NOT IN SOURCES"
SYSTEM_PROMPT = f"""You answer questions about NATO and its partner countries and \
organisations using only the numbered passages the user gives you.
First copy, word for word, the sentence from the passages that answers the question (two or \
three sentences if the answer combines passages), then answer from those sentences only.
Reply in exactly this format:
Evidence [n]: <sentence copied from passage n>
Answer: <short answer> [n]
When the question is about time, give the date of the facts.
If no sentence in the passages answers the question, reply only: {NOT_IN_SOURCES}"""

_REFUSAL = re.compile(
    r"NOT IN SOURCES|\b(?:passages?|sources?|context|text)s? (?:do|does) not (?:state|mention|"
    r"contain|provide|say|specify|include|give)|\bno information\b|\bI (?:do not|don't) know\b|"
    r"\bcannot (?:be )?(?:determine|answer|find)", re.IGNORECASE)


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
    notice: str | None = None  # set when the configured backend failed and this answer is extractive

    def to_dict(self) -> dict:
        out = {"text": self.text, "citations": [asdict(c) for c in self.citations],
               "abstained": self.abstained}
        if self.notice:
            out["notice"] = self.notice
        return out

    def sources_text(self) -> str:
        """The numbered sources as plain text, one per citation: title, date, link or file,
        page, then the quoted sentence."""
        lines = []
        for c in self.citations:
            where = ", ".join(x for x in (c.date, c.url or c.source, c.page and f"p. {c.page}")
                              if x)
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
                yield event.text[len(shown):]
                shown = event.text
        elif isinstance(event, Done):
            text = event.answer.text
            if text.startswith(shown):
                if text != shown:
                    yield text[len(shown):]
            else:
                yield ("\n\n" if shown else "") + text
            yield event.answer


def _citation(n: int, quote: Sentence, passages: list[Passage]) -> Citation:
    p = passages[quote.passage]
    return Citation(n=n, title=p.title, date=p.date, url=p.url, source=p.source,
                    quote=quote.text, start=p.start + quote.start, end=p.start + quote.end,
                    page=p.page_at(quote.start))


def abstention_text(passages: list[Passage], unmentioned: list[str] = (),
                    why: str | None = None) -> str:
    if not passages:
        return "The corpus does not answer this: the store holds no documents yet."
    if unmentioned:
        names = ", ".join(f"“{t}”" for t in unmentioned)
        lead = (f"The corpus does not answer this question: no article retrieved for it "
                f"mentions {names}. ")
    elif why:
        lead = f"The corpus does not answer this question: {why}. "
    else:
        lead = "The corpus does not answer this question. "
    nearby, seen = [], set()
    for p in passages:
        if p.title not in seen:
            seen.add(p.title)
            nearby.append(f"“{p.title}”" + (f" ({p.date})" if p.date else ""))
        if len(nearby) == 2:
            break
    if len(nearby) == 1:
        return lead + f"The closest article it holds is {nearby[0]}, which does not state the answer."
    return (lead + "The closest articles it holds are " + " and ".join(nearby)
            + ", which do not state the answer.")


def with_as_of(answer: Answer) -> Answer:
    """The answer, saying when its facts stood: when neither the question nor the answer
    states a year, "(as of <date of its newest cited source>)" is added at the end (appended,
    so a streamed answer only grows)."""
    dates = sorted(c.date for c in answer.citations if c.date)
    if answer.abstained or not dates or mentions_year(f"{answer.question} {answer.text}"):
        return answer
    when = spoken_date(dates[-1])
    text = answer.text.rstrip()
    answer.text = (f"{text} (As of {when}.)" if text.endswith((".", "!", "?", "”"))
                   else f"{text} (as of {when})")
    return answer


BACKENDS = ("local", "openai", "ollama", "extractive")
log = logging.getLogger(__name__)


class ChatBot:
    """Answers questions from the Chroma store with cited, verified quotes.

    `store` is a directory, an open `ingest.store.Store`, or None for the configured store;
    `llm` is any LangChain chat model and overrides the backend's; `backend` is `"local"`
    (the packaged model, loaded on first use), `"openai"`, `"ollama"` or `"extractive"` (no
    LLM) and defaults to the settings.
    """

    def __init__(self, store=None, settings: Settings | None = None,
                 llm=None, backend: str | None = None):
        from ingest.embedder import get_embedder
        from ingest.store import Store, open_store

        self.settings = settings or get_settings()
        self.backend = backend or self.settings.backend
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r}: use one of "
                             + ", ".join(BACKENDS))
        self.embedder = get_embedder()
        db = store if isinstance(store, Store) else open_store(store, self.settings)
        self.retriever = Retriever(db, self.embedder)
        self._llm = llm

    # -- public API -------------------------------------------------------------------------
    def ask(self, question: str, history: History | None = None,
            filters: Filters | None = None) -> Answer:
        for event in self.events(question, history, filters):
            if isinstance(event, Done):
                return event.answer
        raise RuntimeError("answer pipeline ended without an answer")  # pragma: no cover

    def stream(self, question: str, history: History | None = None,
               filters: Filters | None = None) -> Iterator[str]:
        """Yields the answer text so far; the last value is the final `Answer.text`."""
        for event in self.events(question, history, filters):
            if isinstance(event, Partial):
                yield event.text
            elif isinstance(event, Done):
                yield event.answer.text

    def as_retriever(self, k: int | None = None, filters=None):
        """This bot's retrieval as a LangChain `BaseRetriever` (see `bot.runnables`): one
        `Document` per chunk, with title, date, url, source and offsets in its metadata."""
        from .runnables import PartnerbotRetriever

        return PartnerbotRetriever(retriever=self.retriever, k=k or self.settings.top_k,
                                   filters=filters)

    def as_runnable(self):
        """This bot as a LangChain `Runnable`: `{"question", "history"}` in, the answer as a
        dict out; `stream`/`astream` yield the text as it is generated."""
        from .runnables import ChatRunnable

        return ChatRunnable(self)

    def events(self, question: str, history: History | None = None,
               filters: Filters | None = None) -> Iterator[Event]:
        """The answer pipeline as events; `filters` limits retrieval to a date range and to
        some sites (see `bot.retrieval.Filters`)."""
        question = " ".join((question or "").split())
        if not question:
            raise ValueError("question is empty")
        history = list(history or [])
        queries, q_vecs, passages = self._retrieval(question, history, filters)
        yield Retrieved(passages)
        if not passages:
            text = (f"No document in the corpus matches the filters ({filters.describe()})."
                    if filters else abstention_text([]))
            yield Done(Answer(text, [], True, question, passages))
            return
        # Names, places and numbers the question asks about must appear in what was found;
        # otherwise no model is asked (a small model answers anyway, and invents).
        unmentioned = uncovered_terms(question, passages)
        if unmentioned:
            yield Done(Answer(abstention_text(passages, unmentioned), [], True, question,
                              passages))
            return
        ranked = rank_sentences(queries, passages, q_vecs,
                                lambda sentences: self.retriever.sentence_vectors(passages,
                                                                                  sentences))
        if self.backend == "extractive":
            yield Done(with_as_of(self._extractive(question, passages, ranked)))
            return
        budget = self.settings.context_tokens
        context = build_context(ranked, passages, budget) if budget else whole_passages(passages)
        for event in self._generate(question, history, passages, context, ranked):
            yield Done(with_as_of(event.answer)) if isinstance(event, Done) else event

    def retrieve(self, question: str, history: History | None = None,
                 filters: Filters | None = None) -> list[Passage]:
        """The passages an answer to `question` would be drawn from (no model is asked)."""
        question = " ".join((question or "").split())
        if not question:
            raise ValueError("question is empty")
        return self._retrieval(question, list(history or []), filters)[2]

    # -- pipeline steps ---------------------------------------------------------------------
    def _retrieval(self, question: str, history: list[tuple[str, str]],
                   filters: Filters | None):
        """(queries, their vectors, passages) for a question and the turns before it."""
        hint = parse_time_hint(question)
        if not hint and history and len(content_terms(question)) <= 2:
            # "And before that?" keeps the earlier question's time frame; a question with a
            # subject of its own does not.
            hint = parse_time_hint(history[-1][0])
        queries = self._queries(question, history)
        q_vecs = self.embedder.embed_documents(queries)
        passages = self.retriever.search(queries, self.settings.top_k, hint, vectors=q_vecs,
                                         filters=filters)
        return queries, q_vecs, passages

    @staticmethod
    def _queries(question: str, history: list[tuple[str, str]]) -> list[str]:
        """The question, plus the question joined with the previous one for follow-ups whose
        subject is only in the earlier turn ("And since when?")."""
        queries = [question]
        if history:
            queries.append(f"{history[-1][0]} {question}")
        return queries

    @property
    def llm(self):
        if self._llm is None:
            from .llm import chat_model

            self._llm = chat_model(self.settings, self.backend)
        return self._llm

    def _chain(self):
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.prompts import ChatPromptTemplate

        prompt = ChatPromptTemplate.from_messages([
            ("system", SYSTEM_PROMPT),
            ("human", "Passages:\n\n{passages}\n\n{conversation}Question: {question}"),
        ])
        return prompt | self.llm | StrOutputParser()

    def _generate(self, question: str, history: list[tuple[str, str]], passages: list[Passage],
                  context: Context, ranked) -> Iterator[Event]:
        conversation = "".join(f"Earlier question: {q}\nEarlier answer: {a}\n\n"
                               for q, a in history[-2:])
        raw, shown, verified, checked = "", "", "", 0
        vocabulary = grounding_vocabulary(question, context.passages)
        try:
            pieces = iter(self._chain().stream({"passages": context.text,
                                                "conversation": conversation,
                                                "question": question}))
        except Exception as exc:  # the backend cannot be built (model missing, server down)
            yield Done(self._fallback(exc, question, passages, ranked))
            return
        while True:
            try:
                piece = next(pieces)
            except StopIteration:
                break
            except Exception as exc:  # the model or its server failed: answer without it
                yield Done(self._fallback(exc, question, passages, ranked))
                return
            raw += piece
            # Complete sentences are shown once verified; the sentence being written is shown
            # word by word only while every word is one the question or the passages use.
            _, answer_part = split_reply(raw)
            if answer_part is None:
                continue
            spans = sentence_spans(answer_part)
            complete = spans[-2][1] if len(spans) > 1 else 0
            if complete > checked:
                checked = complete
                head = raw[: len(raw) - len(answer_part) + complete]
                answer = self._finish(head, question, passages, context)
                verified = "" if answer.abstained else answer.text
            text = " ".join(x for x in (verified, grounded_prefix(answer_part[checked:],
                                                                   vocabulary)) if x)
            if text and text != shown:
                shown = text
                yield Partial(shown)
        yield Done(self._finish(raw, question, passages, context))

    def _fallback(self, exc: Exception, question: str, passages: list[Passage],
                  ranked) -> Answer:
        from .llm import describe

        log.debug("answer model failed; answering extractively", exc_info=exc)
        detail = " ".join(str(exc).split())[:300] or type(exc).__name__
        answer = self._extractive(question, passages, ranked)
        answer.notice = (f"The {describe(self.settings, self.backend)} could not answer "
                         f"({detail}). Showing the best evidence sentence instead.")
        return answer

    def _finish(self, raw: str, question: str, passages: list[Passage],
                context: Context) -> Answer:
        """The verified answer; its quotes come from the passages the model was shown."""
        resolved = None if _REFUSAL.search(raw) else resolve(raw, question, context.passages)
        if resolved is None or not resolved.quotes:
            why = resolved.wrong_subject.describe() if resolved and resolved.wrong_subject \
                else None
            return Answer(abstention_text(passages, why=why), [], True, question, passages,
                          draft=raw, context=context.text)
        citations = [_citation(i, q, context.passages) for i, q in enumerate(resolved.quotes, 1)]
        return Answer(resolved.text, citations, False, question, passages, draft=raw,
                      context=context.text)

    def _extractive(self, question: str, passages: list[Passage], ranked) -> Answer:
        """The best evidence sentence, quoted and cited: no LLM involved."""
        ranked = [(score, s) for score, s in ranked if len(s.text.split()) >= 4]
        best = ranked[0][1] if ranked else None
        substitution = best and substituted_subject(question, [best], passages)
        if substitution or not ranked or ranked[0][0] < self.settings.extractive_min_score:
            why = substitution.describe() if substitution else None
            return Answer(abstention_text(passages, why=why), [], True, question, passages)
        citation = _citation(1, ranked[0][1], passages)
        return Answer(f"“{citation.quote}” [1]", [citation], False, question, passages)
