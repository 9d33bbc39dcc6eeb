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
import threading
from dataclasses import replace
from typing import Iterator, Sequence

from ingest.settings import Settings, get_settings
from ingest.text import sentence_spans

from .answers import Answer, Citation, Done, Event, Partial, Retrieved
from .citations import MARKER, WORD_RE, grounded_prefix, grounding_vocabulary, plain_text, resolve
from .context import Context, build_context, interleave, rank_sentences, whole_passages
from .coverage import Coverage, Source, spelled_out, unnamed
from .dates import mentions_year, parse_time_hint, spoken_date
from .evidence import Sentence
from .llm import LlamaCppChat, backend_errors, chat_model, describe
from .questions import (
    bounded_history,
    check_length,
    fits,
    follow_up_query,
    normalize,
    part_queries,
    parts,
    plain_query,
)
from .retrieval import Filters, Passage, Retriever
from .subjects import meant_countries, substituted_subject
from .terms import content_terms

History = Sequence[tuple[str, str]]

NOT_IN_SOURCES = "NOT IN SOURCES"
SYSTEM_PROMPT = f"""You answer questions about NATO and its partner countries and \
organisations using only the numbered sentences the user gives you, taken from news articles \
and official releases.
Answer in one to three short sentences. End each of your sentences with the number of every \
sentence it comes from, like [3] or [2][5].
Give names, numbers and dates as the sentences give them. When the question is about time, \
give the date of the facts.
If the question asks two things and the sentences answer only one, answer that one.
A sentence may give the answer in other words: a capital or government for its country, a \
number in words, a date counted from the article's date ("15 years ago"). Answer whenever one \
does.
Only if no sentence gives the answer, reply only: {NOT_IN_SOURCES}"""

# The second look after a refusal (or a draft that failed every check): the same rules
# without leave to refuse. The model's own
# refusal is a near coin toss on answerable and unanswerable questions alike; whether the
# corpus answers is then left to the checks every answer passes (`_finish`) and to one more
# question put to the model on the cited sentences alone (`CONFIRM_PROMPT`): a forced answer
# to a question the corpus does not answer is most often a near miss (another country's
# date, another parliament's vote), which the model, shown only the cited sentences beside
# the question, rejects more often than a right answer.
FORCED_SYSTEM_PROMPT = SYSTEM_PROMPT.rsplit("\n", 1)[0]
CONFIRM_SYSTEM_PROMPT = (
    "You check whether source sentences support an answer. Reply with one word: Yes or No."
)
CONFIRM_PROMPT = (
    "Source sentences:\n{sources}\n\n{conversation}Question: {question}{note}\n"
    "Proposed answer: {answer}\n\n"
    "Is the proposed answer a correct answer to the question according to the source "
    "sentences alone, with every name, number and date in it stated there for what the "
    "question asks about? Reply Yes or No."
)
ABSTENTION_LEAD = ("The corpus does not answer", "No document in the corpus")
HUMAN_PROMPT = "Sentences:\n\n{passages}\n\n{conversation}Question: {question}{note}"
SECOND_LOOK_SENTENCES = 3
MAX_PARTS = 3  # more parts than this are answered together: each part costs model calls
# A refusal, and a draft whose every claim failed its checks (no backing sentence, a
# question's place or number unmentioned, another country's sentence): each gets a second
# look before the bot declines. A draft citing the wrong sentence is often answerable from
# a better one ranked just below the budget.
SECOND_LOOK_CAUSES = frozenset({"model", "verifier", "coverage", "country"})


def _citation(n: int, quote: Sentence, passages: list[Passage]) -> Citation:
    p = passages[quote.passage]
    return Citation(
        n=n,
        title=p.title,
        date=p.date,
        url=p.url,
        source=p.source,
        quote=quote.text,
        start=p.start + quote.start,
        end=p.start + quote.end,
        page=p.page_at(quote.start),
    )


def empty_store_text(location: str) -> str:
    return (
        f"The corpus does not answer this: the store at {location} holds no documents yet. "
        "Run `partnerbot ingest corpus/` to index the built-in library (or your own files "
        "and folders), or `make run` / `python app.py`, which indexes it on first start."
    )


def abstention_text(
    passages: list[Passage], unmentioned: Sequence[str] = (), why: str | None = None
) -> str:
    if not passages:
        return "The corpus does not answer this: the store holds no documents yet."
    if unmentioned:
        names = ", ".join(f"“{t}”" for t in unmentioned)
        lead = (
            f"The corpus does not answer this question: no article retrieved for it "
            f"mentions {names}. "
        )
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
        return (
            lead + f"The closest article it holds is {nearby[0]}, which does not state the answer."
        )
    return (
        lead
        + "The closest articles it holds are "
        + " and ".join(nearby)
        + ", which do not state the answer."
    )


def with_as_of(answer: Answer) -> Answer:
    """The answer, saying when its facts stood: when neither the question nor the answer
    states a year, "(as of <date of its newest cited source>)" is added at the end (appended,
    so a streamed answer only grows)."""
    dates = sorted(c.date for c in answer.citations if c.date)
    if answer.abstained or not dates or mentions_year(f"{answer.question} {answer.text}"):
        return answer
    when = spoken_date(dates[-1])
    text = answer.text.rstrip()
    answer.text = (
        f"{text} (As of {when}.)"
        if text.endswith((".", "!", "?", "”"))
        else f"{text} (as of {when})"
    )
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

    def __init__(
        self,
        store=None,
        settings: Settings | None = None,
        llm=None,
        backend: str | None = None,
        library=None,
    ):
        from ingest.embedder import get_embedder
        from ingest.store import Store, open_store

        self.settings = settings or get_settings()
        self.backend = backend or self.settings.backend
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r}: use one of " + ", ".join(BACKENDS))
        self.embedder = get_embedder(self.settings)
        db = store if isinstance(store, Store) else open_store(store, self.settings)
        self.retriever = Retriever(db, self.embedder)
        self._llm = llm
        # The built-in library being indexed beside the answers (`ingest.library.Library`,
        # set by the web server): answers say they come from part of it.
        self.library = library
        self._answering = 0
        self._answering_lock = threading.Lock()
        self.failures = 0  # answers that failed on a bug (see `events`)
        if library is None and self.retriever.count() == 0:
            log.warning(empty_store_text(db.location))

    def busy(self) -> bool:
        """True while a question is being answered (background indexing waits for it)."""
        return self._answering > 0

    # -- public API -------------------------------------------------------------------------
    def ask(
        self, question: str, history: History | None = None, filters: Filters | None = None
    ) -> Answer:
        for event in self.events(question, history, filters):
            if isinstance(event, Done):
                return event.answer
        raise RuntimeError("answer pipeline ended without an answer")  # pragma: no cover

    def stream(
        self, question: str, history: History | None = None, filters: Filters | None = None
    ) -> Iterator[str]:
        """Yields the answer text so far; the last value is the final `Answer.text`."""
        for event in self.events(question, history, filters):
            if isinstance(event, Partial):
                yield event.text
            elif isinstance(event, Done):
                yield event.answer.text

    def as_retriever(self, k: int | None = None, filters=None):
        """This bot's retrieval as a LangChain `BaseRetriever` (see `bot.interfaces.runnables`): one
        `Document` per chunk, with title, date, url, source and offsets in its metadata."""
        from .interfaces.runnables import PartnerbotRetriever  # an adapter: built on demand

        return PartnerbotRetriever(
            retriever=self.retriever, k=k or self.settings.top_k, filters=filters
        )

    def as_runnable(self):
        """This bot as a LangChain `Runnable`: `{"question", "history"}` in, the answer as a
        dict out; `stream`/`astream` yield the text as it is generated."""
        from .interfaces.runnables import ChatRunnable  # an adapter: built on demand

        return ChatRunnable(self)

    def events(
        self, question: str, history: History | None = None, filters: Filters | None = None
    ) -> Iterator[Event]:
        """The answer pipeline as events; `filters` limits retrieval to a date range and to
        some sites (see `bot.retrieval.Filters`)."""
        with self._answering_lock:
            self._answering += 1
        try:
            for event in self._events(question, history, filters):
                if isinstance(event, Done):
                    self._note_library(event.answer)
                yield event
        except ValueError:  # a question refused (too long, bad filters): the caller says why
            raise
        except Exception:
            # A bug: never turned into a quiet answer. Logged with its traceback, counted
            # (`failures`) and raised to the interface, which shows an error.
            with self._answering_lock:
                self.failures += 1
            log.warning("the answer pipeline failed on %r", question[:200], exc_info=True)
            raise
        finally:
            with self._answering_lock:
                self._answering -= 1

    def _empty_text(self) -> str:
        library = self.library
        if library is not None and library.running:
            return (
                f"The built-in library is being indexed ({library.status()}) and no document "
                "is searchable yet: ask again in a moment."
            )
        return empty_store_text(self.retriever.store.location)

    def _note_library(self, answer: Answer) -> None:
        library = self.library
        if library is None or not library.running:
            return
        note = (
            f"The built-in library is still being indexed ({library.status()}): this answer "
            "comes from the documents indexed so far."
        )
        answer.notice = f"{answer.notice} {note}" if answer.notice else note

    def _events(
        self, question: str, history: History | None, filters: Filters | None
    ) -> Iterator[Event]:
        question = normalize(question)
        check_length(question, self.settings.max_question_chars)
        history = bounded_history(history, self.settings.max_question_chars)
        asked = parts(question) if not history else [question]
        if (
            self.settings.answer_parts == "each"
            and 1 < len(asked) <= MAX_PARTS
            and self.backend != "extractive"
        ):
            answering = self._by_parts(question, asked, filters)
        else:
            answering = self._answer(question, history, filters)
        for event in answering:
            yield Done(with_as_of(event.answer)) if isinstance(event, Done) else event

    def _by_parts(
        self, question: str, asked: list[str], filters: Filters | None
    ) -> Iterator[Event]:
        """A question of several parts answered part by part, each with its own search and
        citations, the later parts as follow-ups of the earlier ones ("and which number Ally
        was it?"): a small model asked two things at once answers one, or answers the
        question's context clause. A part the corpus does not answer is said to be so."""
        earlier: list[tuple[str, str]] = []
        done: list[Answer] = []
        seen: dict[str, Passage] = {}
        for part in asked:
            part_question = part[:1].upper() + part[1:].rstrip(" ?.") + "?"
            lead = " ".join(_part_text(a, done[:i]) for i, a in enumerate(done))
            shift = sum(len(a.citations) for a in done)
            for event in self._answer(part_question, earlier, filters):
                if isinstance(event, Retrieved):
                    seen.update((p.id, p) for p in event.passages)
                    yield Retrieved(list(seen.values()))
                elif isinstance(event, Partial):
                    yield Partial(f"{lead} {_shifted(event.text, shift)}".strip())
                else:
                    done.append(event.answer)
                    earlier.append((part_question, event.answer.text))
        yield Done(_joined(question, done, list(seen.values())))

    def _answer(
        self, question: str, history: list[tuple[str, str]], filters: Filters | None
    ) -> Iterator[Event]:
        """One question (and the turns before it) through search, the model and the checks."""
        queries, q_vecs, passages = self._retrieval(question, history, filters)
        yield Retrieved(passages)
        if not passages:
            text = (
                f"No document in the corpus matches the filters ({filters.describe()})."
                if filters
                else self._empty_text()
            )
            yield Done(
                Answer(text, [], True, question, passages, cause="filters" if filters else "empty")
            )
            return
        # Places and numbers the question names must appear in what was found; otherwise no
        # model is asked (a small model answers anyway, and invents).
        found = _sources(passages)
        unmentioned = found.missing(question) if self.settings.coverage_gate else []
        if unmentioned and all(found.missing(p) for p in parts(question)):
            yield Done(
                Answer(
                    abstention_text(passages, unmentioned),
                    [],
                    True,
                    question,
                    passages,
                    cause="gate",
                )
            )
            return

        def vectors(sentences):
            return self.retriever.sentence_vectors(passages, sentences)

        if len(queries) > 1 and not history:  # a multi-part question: each part gets its best
            ranked = interleave(
                [rank_sentences([q], passages, [v], vectors) for q, v in zip(queries, q_vecs)]
            )
        else:
            ranked = rank_sentences(queries, passages, q_vecs, vectors)
        if self.backend == "extractive":
            yield Done(self._extractive(question, passages, ranked))
            return
        budget = self.settings.context_tokens
        context = build_context(ranked, passages, budget) if budget else whole_passages(passages)
        yield from self._generate(question, history, passages, context, ranked)

    def retrieve(
        self, question: str, history: History | None = None, filters: Filters | None = None
    ) -> list[Passage]:
        """The passages an answer to `question` would be drawn from (no model is asked)."""
        return self._retrieval(normalize(question), list(history or []), filters)[2]

    # -- pipeline steps ---------------------------------------------------------------------
    def _retrieval(self, question: str, history: list[tuple[str, str]], filters: Filters | None):
        """(queries, their vectors, passages) for a question and the turns before it."""
        hint = parse_time_hint(question)
        if not hint and history and len(content_terms(question)) <= 2:
            # "And before that?" keeps the earlier question's time frame; a question with a
            # subject of its own does not.
            hint = parse_time_hint(history[-1][0])
        k = self.settings.top_k
        by_part = [] if history else part_queries(question)
        if by_part:
            # "When did Finland apply, and when did it join?": each part is searched for on
            # its own, and their best passages take turns.
            queries = [question, *by_part]
            q_vecs = self.embedder.embed_documents(queries)
            found = [
                self.retriever.search(
                    [q], k, parse_time_hint(q) or hint, vectors=[v], filters=filters
                )
                for q, v in zip(queries, q_vecs)
            ]
            by_id = {p.id: p for ps in found for p in ps}
            ids = interleave([[(0.0, p.id) for p in ps] for ps in found])
            return queries, q_vecs, [by_id[i] for _, i in ids[: k + len(by_part) - 1]]
        plain = plain_query(question, meant_countries(question))
        ranking = [question, *([plain] if plain else [])]
        search = list(ranking)
        if history:
            # The search also reads what the earlier answer said (its names); the sentences
            # are ranked without it, or the earlier answer's own sentence would win again.
            search.append(follow_up_query(question, history))
            ranking.append(f"{history[-1][0]} {question}")
        texts = list(dict.fromkeys(search + ranking))
        vectors = dict(zip(texts, self.embedder.embed_documents(texts)))
        passages = self.retriever.search(
            search, k, hint, vectors=[vectors[q] for q in search], filters=filters
        )
        return ranking, [vectors[q] for q in ranking], passages

    @property
    def llm(self):
        if self._llm is None:
            self._llm = chat_model(self.settings, self.backend)
        return self._llm

    def _chain(self, system: str = SYSTEM_PROMPT):
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.prompts import ChatPromptTemplate

        prompt = ChatPromptTemplate.from_messages(
            [
                ("system", system),
                ("human", HUMAN_PROMPT),
            ]
        )
        return prompt | self.llm | StrOutputParser()

    def _generate(
        self,
        question: str,
        history: list[tuple[str, str]],
        passages: list[Passage],
        context: Context,
        ranked,
    ) -> Iterator[Event]:
        # Earlier answers without their markers (their numbers meant other sentences); a
        # refusal is left out (a small model repeats it).
        conversation = "".join(
            f"Earlier question: {q}\n"
            + (
                f"Earlier answer: {MARKER.sub('', a)}\n"
                if a and not a.startswith(ABSTENTION_LEAD)
                else ""
            )
            + "\n"
            for q, a in history[-2:]
        )
        raw, shown, verified, checked = "", "", "", 0
        vocabulary = grounding_vocabulary(question, context.passages)
        inputs = {
            "passages": context.text,
            "conversation": conversation,
            "question": question,
            "note": _note(spelled_out(question)),
        }
        errors = backend_errors()
        try:
            pieces = iter(self._chain().stream(inputs))
        except errors as exc:  # the backend cannot be built (model missing, server down)
            yield Done(self._fallback(exc, question, passages, ranked))
            return
        while True:
            try:
                piece = next(pieces)
            except StopIteration:
                break
            except errors as exc:  # the model or its server failed: answer without it
                yield Done(self._fallback(exc, question, passages, ranked))
                return
            raw += piece
            # Complete sentences are shown once verified; the sentence being written is shown
            # word by word only while every word is one the question or the passages use.
            if NOT_IN_SOURCES.startswith(raw.strip()[: len(NOT_IN_SOURCES)]):
                continue
            spans = sentence_spans(raw)
            complete = spans[-2][1] if len(spans) > 1 else 0
            if complete > checked:
                checked = complete
                answer = self._finish(raw[:complete], question, passages, context)
                verified = "" if answer.abstained else answer.text
            text = " ".join(x for x in (verified, grounded_prefix(raw[checked:], vocabulary)) if x)
            if text and text != shown:
                shown = text
                yield Partial(shown)
        answer = self._finish(raw, question, passages, context)
        if answer.cause in SECOND_LOOK_CAUSES and self.settings.second_look != "off":
            answer = self._second_look(answer, inputs, question, passages, context, ranked)
        elif (
            not answer.abstained
            and (
                self.settings.confirm == "all"
                or (self.settings.confirm == "forced" and _only_quotes(answer.text))
            )
            and not self._confirmed(question, answer, conversation)
        ):
            answer = self._unconfirmed(raw, question, passages, context)
        yield Done(answer)

    def _unconfirmed(
        self, raw: str, question: str, passages: list[Passage], context: Context
    ) -> Answer:
        return Answer(
            abstention_text(passages, why="the sentences found do not state it"),
            [],
            True,
            question,
            passages,
            draft=raw,
            context=context.text,
            cause="unconfirmed",
        )

    def _second_look(
        self,
        declined: Answer,
        inputs: dict,
        question: str,
        passages: list[Passage],
        context: Context,
        ranked,
    ) -> Answer:
        """The model said the sentences do not answer, or its answer failed the checks: ask
        once more, keeping the first decline unless the new answer passes every check.
        'forced': the same sentences and the next best ones, without leave to refuse (and
        the answer confirmed); 'focused': only the few best sentences (a small model misses
        the answer among many)."""
        if self.settings.second_look == "forced":
            # The refusal may be right about what it was shown: the answering sentence is
            # often retrieved but ranked below the budget. The forced look reads twice as
            # many of the best sentences.
            budget = self.settings.context_tokens
            shown = build_context(ranked, passages, 2 * budget) if budget else context
            system = FORCED_SYSTEM_PROMPT
        else:
            system = SYSTEM_PROMPT
            shown = build_context(
                ranked[:SECOND_LOOK_SENTENCES], passages, self.settings.context_tokens or 10**6
            )
        try:
            raw = "".join(self._chain(system).stream({**inputs, "passages": shown.text}))
        except backend_errors() as exc:  # the first refusal stands
            log.warning("second look failed: %s", exc)
            return declined
        answer = self._finish(raw, question, passages, shown)
        if answer.abstained:
            return declined
        if self.settings.second_look == "forced" and self.settings.confirm != "off":
            if not self._confirmed(question, answer, inputs["conversation"]):
                # a failed draft keeps its own reason ("never mention ...", "about Korea,
                # not New Zealand"); a refusal says the sentences do not state it
                if declined.cause != "model":
                    return declined
                return self._unconfirmed(raw, question, passages, shown)
        return answer

    def _confirmed(self, question: str, answer: Answer, conversation: str = "") -> bool:
        """Whether the model, shown only the cited sentences, the question and the answer
        (and a follow-up's earlier turns, which say what "he" or "it" is), says yes, the
        sentences state it (any other reply, or a failing backend, is a no)."""
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.prompts import ChatPromptTemplate

        prompt = ChatPromptTemplate.from_messages(
            [("system", CONFIRM_SYSTEM_PROMPT), ("human", CONFIRM_PROMPT)]
        )
        inputs = {
            "sources": "\n".join(f"- {c.quote}" for c in answer.citations),
            "conversation": conversation,
            "question": question,
            # "Skopje means North Macedonia.": the model checks with the names it answered with
            "note": _note(spelled_out(question)),
            "answer": MARKER.sub("", answer.text).strip(),
        }
        llm = self.llm
        if isinstance(llm, LlamaCppChat) or type(llm).__name__ == "ChatOpenAI":
            llm = llm.bind(max_tokens=4)  # "Yes" or "No": no reasons to wait for
        try:
            reply = "".join((prompt | llm | StrOutputParser()).stream(inputs))
        except backend_errors() as exc:
            log.warning("answer confirmation failed: %s", exc)
            return False
        return reply.strip().lower().startswith("yes")

    def _fallback(self, exc: Exception, question: str, passages: list[Passage], ranked) -> Answer:
        log.warning("answer model failed (%s); answering extractively", exc)
        detail = " ".join(str(exc).split())[:300] or type(exc).__name__
        answer = self._extractive(question, passages, ranked)
        answer.notice = (
            f"The {describe(self.settings, self.backend)} could not answer "
            f"({detail}). Showing the best evidence sentence instead."
        )
        return answer

    def _finish(self, raw: str, question: str, passages: list[Passage], context: Context) -> Answer:
        """The verified answer; its quotes are sentences the model was shown."""

        def declined(cause: str, why: str | None = None, unmentioned=()) -> Answer:
            return Answer(
                abstention_text(passages, list(unmentioned), why),
                [],
                True,
                question,
                passages,
                draft=raw,
                context=context.text,
                cause=cause,
            )

        if raw.strip().upper().startswith(NOT_IN_SOURCES):
            return declined("model")
        resolved = resolve(raw, question, context)
        if not resolved.quotes:
            if resolved.wrong_subject:
                return declined("country", resolved.wrong_subject.describe())
            return declined(
                "model" if resolved.declined and not resolved.unsupported else "verifier"
            )
        # The articles the answer stands on must name the question's places and numbers:
        # "32 partners [1]" from a 2021 article does not answer a question about 2022.
        if not fits(
            question, MARKER.sub("", resolved.text), " ".join(q.text for q in resolved.quotes)
        ):
            # "How many dollars did the US contribute?" answered "by facilitating access"
            return declined("verifier")
        cited = [context.passages[i] for i in dict.fromkeys(q.passage for q in resolved.quotes)]
        text = resolved.text
        unmentioned = self._unmentioned(question, cited)
        if unmentioned:
            # A question of two parts may be answered in one: say which part is not.
            open_parts = [p for p in parts(question) if self._unmentioned(p, cited)]
            if len(open_parts) == len(parts(question)):
                names = ", ".join(f"“{t}”" for t in unmentioned)
                return declined("coverage", f"the passages closest to it never mention {names}")
            # the part is the user's own text: echoed without links, images or HTML
            text += " " + " ".join(
                f"The corpus found does not answer “{plain_text(p).strip()}?”" for p in open_parts
            )
        citations = [_citation(i, q, context.passages) for i, q in enumerate(resolved.quotes, 1)]
        return Answer(text, citations, False, question, passages, draft=raw, context=context.text)

    def _unmentioned(self, question: str, cited: list[Passage]) -> list[str]:
        """The places, numbers and names of `question` the cited passages never mention: "32
        partners [1]" from a 2021 article does not answer a question about 2022, nor a
        sentence on Australia's aid one about "the Comprehensive Assistance Package". An
        author the question names may be anywhere in the article."""
        # a chunk counts its section's heading with its title ("### Libya intervention")
        sources = [
            Source(p.text, f"{p.title}\n{self.retriever.heading_of(p)}", p.date, p.url)
            for p in cited
        ]
        return Coverage(sources).missing(question) or unnamed(
            question, sources, [self.retriever.article_text(p.source) for p in cited]
        )

    def _extractive(self, question: str, passages: list[Passage], ranked) -> Answer:
        """The best evidence sentence, quoted and cited: no LLM involved."""
        ranked = [(score, s) for score, s in ranked if len(s.text.split()) >= 4]
        best = ranked[0][1] if ranked else None
        substitution = best and substituted_subject(question, [best], passages)
        if substitution or not ranked or ranked[0][0] < self.settings.extractive_min_score:
            why = substitution.describe() if substitution else None
            return Answer(
                abstention_text(passages, why=why),
                [],
                True,
                question,
                passages,
                cause="country" if substitution else "extractive",
            )
        citation = _citation(1, ranked[0][1], passages)
        # the quote as plain text: a source's link or image never becomes one in the chat
        return Answer(
            f"“{plain_text(citation.quote).strip()}” [1]", [citation], False, question, passages
        )


_QUOTED = re.compile(r"“[^”]*”(?:\s*\[\d+\])*")


def _only_quotes(text: str) -> bool:
    """Whether an answer is only quoted sentences: the model pointed at sentences, or wrote
    nothing the question did not say, and its sentences stand in for an answer. Nobody
    checked that they answer: such answers are confirmed like forced ones (tune pb-30, a
    sentence on the trilateral agreement for the commitments made in it)."""
    return bool(_QUOTED.search(text)) and not WORD_RE.search(_QUOTED.sub("", text))


def _part_text(answer: Answer, before: list[Answer]) -> str:
    """A part's answer as it reads in the whole: its markers shifted past the citations of
    the parts before it, or, declined, which part the corpus does not answer."""
    if answer.abstained:
        return f"The corpus found does not answer “{plain_text(answer.question)}”"
    shift = sum(len(a.citations) for a in before)
    text = _shifted(answer.text, shift).rstrip()
    return text if text.endswith((".", "!", "?", "”", ")")) else f"{text}."


_QUOTE_OR_MARKER = re.compile(rf"“[^”]*”|{MARKER.pattern}", re.IGNORECASE)


def _shifted(text: str, shift: int) -> str:
    """`text` with each marker's numbers raised by `shift`; a quoted sentence's own "[12]"
    is left as it is."""

    def shifted(m: re.Match) -> str:
        if m[0].startswith("“"):
            return m[0]
        return re.sub(r"\d+", lambda d: str(int(d[0]) + shift), m[0])

    return _QUOTE_OR_MARKER.sub(shifted, text)


def _joined(question: str, answers: list[Answer], passages: list[Passage]) -> Answer:
    """The parts' answers as one: their texts in order, their citations numbered on."""
    if all(a.abstained for a in answers):
        # the first part's refusal says why (empty store, filters, a name never mentioned)
        return replace(answers[0], question=question, passages=passages)
    citations: list[Citation] = []
    texts: list[str] = []
    for i, a in enumerate(answers):
        texts.append(_part_text(a, answers[:i]))
        shift = len(citations)
        citations += [replace(c, n=c.n + shift) for c in a.citations]
    return Answer(
        " ".join(texts),
        citations,
        False,
        question,
        passages,
        draft="\n\n".join(a.draft for a in answers),
        context="\n\n".join(a.context for a in answers),
        notice=" ".join(dict.fromkeys(a.notice for a in answers if a.notice)) or None,
    )


def _note(text: str) -> str:
    return f"\n({text})" if text else ""


def _sources(passages: list[Passage]) -> Coverage:
    return Coverage([Source(p.text, p.title, p.date, p.url) for p in passages])
