"""The answer pipeline with a scripted LLM: real store, real embeddings, real retrieval."""

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

from bot import ChatBot

LAST = ("All partners from the Euro-Atlantic Partnership Council, the Mediterranean Dialogue, the "
        "Istanbul Cooperation Initiative and the Partners across the globe framework were invited "
        "to this meeting with the exception of Russia and Belarus.")
QUESTION = "Which partners were not invited to the July 2021 meeting?"


def scripted(*replies):
    return GenericFakeChatModel(messages=iter(replies))


def _which_passage(bot, question, needle):
    passages = bot.retriever.search([question], bot.settings.top_k)
    return next(i for i, p in enumerate(passages, 1) if needle in p.text), passages


def _assert_quotes_verbatim(answer):
    for c in answer.citations:
        assert any(c.quote in p.text for p in answer.passages), c.quote


def test_cited_answer_quotes_the_exact_sentence(seed_store):
    probe = ChatBot(store=seed_store, llm=scripted())
    n, _ = _which_passage(probe, QUESTION, "Russia and Belarus")
    bot = ChatBot(store=seed_store, llm=scripted(f"Russia and Belarus were not invited [{n}]."))
    answer = bot.ask(QUESTION)
    assert not answer.abstained
    assert answer.text == "Russia and Belarus were not invited [1]."
    [c] = answer.citations
    assert (c.n, c.quote, c.date, c.source) == (1, LAST, "2021-07-13", "2021-07-13-nato-partners-invaluable-assets.txt")
    assert c.url == "https://www.nato.int/cps/en/natohq/news_185837.htm"
    assert c.title.startswith("NATO Partners are invaluable assets")
    _assert_quotes_verbatim(answer)


def test_quote_offsets_point_into_the_article(seed_store):
    from ingest.loaders import load_file
    from .conftest import SEED

    probe = ChatBot(store=seed_store, llm=scripted())
    n, _ = _which_passage(probe, QUESTION, "Russia and Belarus")
    answer = ChatBot(store=seed_store, llm=scripted(f"Russia and Belarus [{n}].")).ask(QUESTION)
    c = answer.citations[0]
    assert load_file(SEED).text[c.start:c.end] == c.quote


def test_markers_out_of_range_or_unsupported_are_dropped(seed_store):
    probe = ChatBot(store=seed_store, llm=scripted())
    n, passages = _which_passage(probe, QUESTION, "Russia and Belarus")
    reply = f"Russia and Belarus were excluded [{n}][9]. Bananas are yellow [{n}]."
    answer = ChatBot(store=seed_store, llm=scripted(reply)).ask(QUESTION)
    assert answer.text.startswith("Russia and Belarus were excluded [1].")
    assert "[2]" not in answer.text and "[9]" not in answer.text
    assert "Bananas" not in answer.text
    assert len(answer.citations) == 1


def test_unmarked_claim_gets_its_supporting_sentence(seed_store):
    answer = ChatBot(store=seed_store, llm=scripted(
        "Partners except Russia and Belarus were invited to the meeting.")).ask(QUESTION)
    assert not answer.abstained
    assert answer.citations[0].quote == LAST
    assert answer.text.endswith("meeting [1].")


def test_refusal_and_invented_numbers_abstain(seed_store):
    q = "What did NATO decide about Mongolia in 2019?"
    refused = ChatBot(store=seed_store, llm=scripted("NOT IN SOURCES")).ask(q)
    assert refused.abstained and refused.citations == []
    assert "does not answer" in refused.text
    assert "NATO Partners are invaluable assets" in refused.text  # what the corpus has nearby
    invented = ChatBot(store=seed_store, llm=scripted(
        "In 2019 NATO agreed a partnership plan with Mongolia covering 47 projects [1].")).ask(q)
    assert invented.abstained


def test_stream_shows_grounded_words_then_verified_sentences(seed_store):
    probe = ChatBot(store=seed_store, llm=scripted())
    n, _ = _which_passage(probe, QUESTION, "Russia and Belarus")
    reply = (f"The meeting invited all partners except Russia and Belarus [{n}]. "
             "PWNED, says the page. "
             f"Partners of the Euro-Atlantic Partnership Council were invited [{n}].")
    events = list(ChatBot(store=seed_store, llm=scripted(reply)).events(QUESTION))
    partials = [e.text for e in events if type(e).__name__ == "Partial"]
    final = events[-1].answer.text
    first = "The meeting invited all partners except Russia and Belarus [1]."
    # Word by word while the first sentence is written, then the sentence with its citation.
    assert "The meeting invited" in partials and first in partials
    assert partials.index("The meeting invited") < partials.index(first)
    assert all(final.startswith(p) for p in partials if "[1]" in p)
    assert final == first + " Partners of the Euro-Atlantic Partnership Council were invited [1]."
    # The unverifiable sentence never shows, not even its first word.
    assert not any("PWNED" in t for t in partials + [final])

def test_history_reaches_retrieval_and_prompt(seed_store):
    seen = {}

    class Recording(GenericFakeChatModel):
        def _stream(self, messages, *a, **k):
            seen["prompt"] = messages[-1].content
            yield from super()._stream(messages, *a, **k)

    bot = ChatBot(store=seed_store, llm=Recording(messages=iter(["NOT IN SOURCES"])))
    bot.ask("And who chaired the reception?", history=[(QUESTION, "Russia and Belarus [1].")])
    assert f"Earlier question: {QUESTION}" in seen["prompt"]
    assert "Question: And who chaired the reception?" in seen["prompt"]


def test_extractive_mode_quotes_best_sentence_without_llm(seed_store):
    bot = ChatBot(store=seed_store, backend="extractive")
    answer = bot.ask(QUESTION)
    assert not answer.abstained
    assert answer.citations[0].quote == LAST
    assert bot._llm is None  # no model was loaded
    assert bot.ask("What is the boiling point of tungsten?").abstained


def test_retrieve_returns_the_passages_an_answer_is_drawn_from(seed_store):
    bot = ChatBot(store=seed_store, backend="extractive")
    history = [(QUESTION, "Russia and Belarus [1].")]
    for question, turns in ((QUESTION, []), ("And who chaired the reception?", history)):
        passages = bot.retrieve(question, turns)
        assert passages and len(passages) <= bot.settings.top_k
        assert [p.id for p in passages] == [p.id for p in bot.ask(question, turns).passages]
    with pytest.raises(ValueError, match="question is empty"):
        bot.retrieve("  ")


def test_empty_store_abstains(tmp_path):
    answer = ChatBot(store=tmp_path / "empty", backend="extractive").ask(QUESTION)
    assert answer.abstained and "no documents" in answer.text


# -- evidence-first replies -------------------------------------------------------------------

def test_evidence_copy_is_verified_and_the_real_sentence_quoted(seed_store):
    partial_copy = ("Evidence [2]: All partners from the Euro-Atlantic Partnership Council were "
                    "invited to this meeting with the exception of Russia and Belarus.\n"
                    "Answer: Russia and Belarus [2]")
    answer = ChatBot(store=seed_store, llm=scripted(partial_copy)).ask(QUESTION)
    assert not answer.abstained
    assert answer.text == "Russia and Belarus [1]"
    assert [c.quote for c in answer.citations] == [LAST]


def test_evidence_with_words_the_source_lacks_is_rejected(seed_store):
    # The copy swaps in a country the real sentence does not name: a fabricated quote.
    forged = ("Evidence [1]: All partners from the Euro-Atlantic Partnership Council were invited "
              "to this meeting with the exception of Mongolia.\nAnswer: Mongolia [1]")
    answer = ChatBot(store=seed_store, llm=scripted(forged)).ask(QUESTION)
    assert answer.abstained and answer.citations == []


@pytest.mark.parametrize("years", [
    "40",  # in no sentence
    "32",  # in a shown sentence that shares nothing else with the claim (32 representatives)
])
def test_answer_number_must_come_from_the_evidence(seed_store, years):
    reply = ("Evidence [1]: Over more than 25 years, the Alliance has developed a network of "
             "partnerships that contribute to improved security for the broader international "
             f"community.\nAnswer: For {years} years [1]")
    answer = ChatBot(store=seed_store, llm=scripted(reply)).ask(
        "For how long has the Alliance been developing partnerships?")
    assert answer.abstained


def test_a_number_from_another_shown_sentence_is_cited_from_it(seed_store):
    # The model quotes the sentence about the host but takes the head count from another
    # sentence it was shown: that sentence is cited too, instead of the answer being dropped.
    question = ("Who hosted the first in-person meeting with NATO Partners at NATO HQ since the "
                "start of the pandemic, and how many partner representatives attended it?")
    reply = ("Evidence [1]: On 13 July 2021, the Director General of the NATO International "
             "Military Staff (IMS), Lieutenant General Hans-Werner Wiermann under the auspices of "
             "the Cooperative Security Division hosted the first in-person meeting with NATO "
             "Partners at NATO HQ since the start of pandemic.\nAnswer: Lieutenant General "
             "Wiermann hosted it, and 32 partner military representatives attended [1].")
    answer = ChatBot(store=seed_store, llm=scripted(reply)).ask(question)
    assert not answer.abstained
    assert "32 partner military representatives attended [1][2]" in answer.text
    assert "32 participating partner military representatives" in answer.citations[1].quote
    _assert_quotes_verbatim(answer)


def test_stream_hides_evidence_lines(seed_store):
    reply = ("Evidence [1]: All partners from the Euro-Atlantic Partnership Council, the "
             "Mediterranean Dialogue, the Istanbul Cooperation Initiative and the Partners across "
             "the globe framework were invited to this meeting with the exception of Russia and "
             "Belarus.\nAnswer: Russia and Belarus were not invited [1].")
    texts = list(ChatBot(store=seed_store, llm=scripted(reply)).stream(QUESTION))
    assert all("Evidence" not in t and "Euro-Atlantic" not in t for t in texts)
    assert texts[-1] == "Russia and Belarus were not invited [1]."


def test_verify_quote_tolerates_omissions_moves_and_an_inserted_word_but_not_swaps():
    from bot.citations import verify_quote
    from bot.evidence import Sentence

    real = ("In June, the ROK contributed $12 million to the NATO Comprehensive Assistance "
            "Package for Ukraine.")
    other = "President Biden and Prime Minister Kristersson discussed a new agreement."
    sentences = [Sentence(0, 0, len(real), real), Sentence(1, 0, len(other), other)]
    partial = "The ROK contributed $12 million to the NATO Comprehensive Assistance Package."
    assert verify_quote(partial, 1, sentences) is sentences[0]
    inserted = "President Biden and Swedish Prime Minister Kristersson discussed a new agreement."
    assert verify_quote(inserted, 2, sentences) is sentences[1]
    swapped = ("In June, New Zealand contributed $12 million to the NATO Comprehensive "
               "Assistance Package for Ukraine.")
    about_nz = {"new", "zealand", "contribute", "12", "million"}
    assert verify_quote(swapped, 1, sentences, claimed=about_nz) is None
    framed = ("A 2018 survey found that the ROK contributed $12 million to the NATO "
              "Comprehensive Assistance Package.")
    assert verify_quote(framed, 1, sentences, claimed={"rok", "12", "million"}) is sentences[0]
    assert verify_quote(framed, 1, sentences, claimed={"2018"}) is None
    moved = "The ROK contributed $12 million to the NATO Comprehensive Assistance Package in June."
    assert verify_quote(moved, 1, sentences, claimed={"june"}) is sentences[0]
    moved_and_swapped = "New Zealand contributed $12 million to the NATO package in June."
    assert verify_quote(moved_and_swapped, 1, sentences, claimed=about_nz) is None
    assert verify_quote("July 5, 2022", None, [Sentence(0, 0, 12, "July 11, 2022"), Sentence(
        1, 0, 40, "It was signed on July 5, 2022, in Brussels.")]).passage == 1


def test_question_about_something_no_passage_names_abstains_without_the_model(seed_store):
    class Forbidden(GenericFakeChatModel):
        def _stream(self, *a, **k):
            raise AssertionError("the model must not be asked")

    bot = ChatBot(store=seed_store, llm=Forbidden(messages=iter([])))
    answer = bot.ask("What did NATO decide about Mongolia in 2019?")
    assert answer.abstained
    assert "no article retrieved for it mentions “Mongolia”, “2019”." in answer.text
    # a demonym still finds its country: "Swedish" is covered by "Sweden"
    from bot.evidence import uncovered_terms
    from bot.retrieval import Passage
    p = Passage("x", "Sweden joined NATO in 2024.", "T", "2024-03-07", None, "s", 0, 27, 1.0)
    assert uncovered_terms("When did the Swedish bid succeed in March 2024?", [p]) == []
    assert uncovered_terms("When did Kuwait join in 2019?", [p]) == ["Kuwait", "2019"]


def test_evidence_block_may_span_lines_with_a_copied_header():
    from bot.citations import split_reply

    reply = ("Evidence [1]: Some Title (2024-07-11)\nFirst copied sentence. Second one.\n"
             "Evidence [2]: Another sentence here.\nAnswer: It is so [1].")
    evidence, answer = split_reply(reply)
    assert evidence == [(1, "Some Title (2024-07-11)\nFirst copied sentence. Second one."),
                        (2, "Another sentence here.")]
    assert answer == "It is so [1]."
    assert split_reply("Evidence [1]: still copying")[1] is None
    assert split_reply("Plain answer [1].") == ([], "Plain answer [1].")


def test_prompt_holds_the_best_sentences_within_the_budget(seed_store):
    from bot.context import build_context, estimate_tokens, rank_sentences

    bot = ChatBot(store=seed_store, backend="extractive")
    passages = bot.retriever.search([QUESTION], 4)
    ranked = rank_sentences([QUESTION], passages, bot.embedder.embed_documents([QUESTION]),
                            lambda ss: bot.retriever.sentence_vectors(passages, ss))
    assert ranked[0][1].text == LAST  # the stored sentence vectors rank the answer first
    whole = sum(estimate_tokens(p.text) for p in passages)
    context = build_context(ranked, passages, 120)
    assert LAST in context.text
    assert estimate_tokens(context.text) <= 120 + 10 < whole  # headers are counted too
    assert "…" in context.text
    for p in context.passages:  # what the model sees is verbatim text of its passages
        body = context.text.split(f"{p.title}", 1)[1].split("\n", 2)[1]
        for piece in body.split("…"):
            assert not piece.strip() or piece.strip() in p.text


def test_evidence_copied_across_the_prompts_gaps_is_verified_sentence_by_sentence(seed_store):
    probe = ChatBot(store=seed_store, llm=scripted())
    n, passages = _which_passage(probe, QUESTION, "Russia and Belarus")
    other = next(s for s in passages[n - 1].text.split(". ") if "Russia" not in s
                 and len(s.split()) > 6)
    reply = (f"Evidence [{n}]: {other}. … {LAST} …\n"
             f"Answer: Russia and Belarus were not invited [{n}].")
    answer = ChatBot(store=seed_store, llm=scripted(reply)).ask(QUESTION)
    assert not answer.abstained
    assert [c.quote for c in answer.citations] == [LAST]


def test_filters_limit_retrieval_to_dates_and_sites_and_skip_undated_articles(tmp_path):
    from bot.retrieval import Filters
    from ingest import ingest_paths

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "dated.txt").write_text("Title: Harbour drill\nDate: 2020-05-02\nSource: "
                                    "https://www.example.org/drill\n\nThe harbour drill with "
                                    "partner navies took place in Gdynia.\n")
    (docs / "undated.txt").write_text("Title: Harbour drill notes\n\nThe harbour drill with "
                                      "partner navies was praised by observers.\n")
    ingest_paths([docs], store=tmp_path / "store")
    bot = ChatBot(store=tmp_path / "store", backend="extractive")

    def titles(filters):
        return {p.title for p in bot.retriever.search(["harbour drill partner navies"], 4,
                                                      filters=filters)}

    assert titles(None) == {"Harbour drill", "Harbour drill notes"}
    assert titles(Filters.parse(until="2020")) == {"Harbour drill"}
    assert titles(Filters.parse(since="2020-05-03")) == set()
    assert titles(Filters.parse(sites=["example.org"])) == {"Harbour drill"}
    assert titles(Filters.parse(sites=["local files"])) == {"Harbour drill notes"}
    assert bot.retriever.sites() == ["example.org", "local files"]


def test_a_running_bot_sees_documents_ingested_after_it_started(tmp_path):
    """Counts, the BM25 index and filtered id sets are cached per store generation: a write
    by another process (here: another store handle) must show up in the next search."""
    from bot.retrieval import Filters
    from ingest import ingest_paths

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Title: Harbour drill\nDate: 2020-05-02\n\nThe harbour drill "
                                "with partner navies took place in Gdynia.\n")
    ingest_paths([docs / "a.txt"], store=tmp_path / "store")
    bot = ChatBot(store=tmp_path / "store", backend="extractive")
    since = Filters.parse(since="2021")
    assert bot.retriever.count() == 1
    assert bot.retriever.search(["Zgorzelec logistics hub"], 4, filters=since) == []
    before = {p.title for p in bot.retrieve("Zgorzelec logistics hub")}

    (docs / "b.txt").write_text("Title: Logistics hub\nDate: 2021-03-04\n\nThe Zgorzelec "
                                "logistics hub opened to partner convoys.\n")
    ingest_paths([docs / "b.txt"], store=tmp_path / "store")
    assert bot.retriever.count() == 2
    assert bot.retriever.lexical().search(["Zgorzelec"], 4)  # BM25 rebuilt with the new word
    assert [p.title for p in bot.retrieve("Zgorzelec logistics hub")][0] == "Logistics hub"
    assert "Logistics hub" not in before
    assert [p.title for p in bot.retriever.search(["Zgorzelec logistics hub"], 4,
                                                  filters=since)] == ["Logistics hub"]


def test_an_answer_about_another_country_than_the_one_asked_is_declined(tmp_path):
    # The right topic about the wrong country: asked about New Zealand, a small model quotes
    # the sentence on the ROK's contribution. Asked about the Republic of Korea (or which
    # partner gave it), the same reply is the answer.
    from ingest import ingest_paths

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "rok.txt").write_text(
        "Title: Indo-Pacific partners support Ukraine\nDate: 2024-07-11\n\nThe Republic of "
        "Korea is a close partner of the Alliance. In June, the ROK contributed $12 million to "
        "the NATO Comprehensive Assistance Package for Ukraine. It also pledged generators for "
        "the energy sector.\n")
    (docs / "nz.txt").write_text(
        "Title: New Zealand extends its deployment\nDate: 2024-07-11\n\nNew Zealand has "
        "provided more than NZ$ 100 million in support to Ukraine since 2022. Its personnel "
        "help train Ukrainian soldiers in the United Kingdom.\n")
    ingest_paths([docs], store=tmp_path / "store")
    reply = ("Evidence [1]: In June, the ROK contributed $12 million to the NATO Comprehensive "
             "Assistance Package for Ukraine.\nAnswer: $12 million [1]")

    def ask(question, **kw):
        return ChatBot(store=tmp_path / "store", llm=scripted(reply), **kw).ask(question)

    topic = "contributed to the NATO Comprehensive Assistance Package for Ukraine?"
    declined = ask(f"How much has New Zealand {topic}")
    assert declined.abstained
    assert "say this of the Republic of Korea, not of New Zealand" in declined.text
    for question in (f"How much has the Republic of Korea {topic}",
                     f"Which partner country {topic}"):
        answer = ask(question)
        assert not answer.abstained, question
        assert answer.citations[0].quote.startswith("In June, the ROK contributed $12 million")
    extractive = ChatBot(store=tmp_path / "store", backend="extractive").ask(
        f"How much has New Zealand {topic}")
    assert extractive.abstained and "not of New Zealand" in extractive.text


def test_an_answer_that_only_repeats_the_question_shows_its_quote(seed_store):
    # "Which part of the International Military Staff ...?" answered "The IMS": the initials
    # of the question's own name. The backing sentence is shown instead.
    sentence = ("The IMS by means of its Cooperative Security Division holds regular meetings "
                "with NATO Partners to assess these ongoing partnerships.")
    reply = f"Evidence [1]: {sentence}\nAnswer: The IMS [1]"
    answer = ChatBot(store=seed_store, llm=scripted(reply)).ask(
        "Which part of the International Military Staff organises the recurring "
        "get-togethers with partner nations?")
    assert not answer.abstained
    assert answer.text == f"“{sentence}” [1] (as of 13 July 2021)"
    assert answer.citations[0].quote == sentence


def test_a_claim_is_cited_from_the_shown_sentence_that_says_it(seed_store):
    # The model copies one sentence as evidence but answers from another it was shown: the
    # sentence that says what the answer says is cited, not the copied one.
    ims = ("The IMS by means of its Cooperative Security Division holds regular meetings with "
           "NATO Partners to assess these ongoing partnerships.")
    reply = ("Evidence [1]: Over more than 25 years, the Alliance has developed a network of "
             "partnerships that contribute to improved security for the broader international "
             "community.\nAnswer: Its Cooperative Security Division holds regular meetings to "
             "assess these ongoing partnerships [1].")
    answer = ChatBot(store=seed_store, llm=scripted(reply)).ask(
        "Who in the International Military Staff keeps the partnerships under review?")
    assert not answer.abstained
    assert [c.quote for c in answer.citations] == [ims]


def test_countries_are_recognised_by_their_short_names_and_adjectives():
    from bot.citations import echoes
    from bot.subjects import countries_in

    assert countries_in("In June, the ROK contributed") == {"South Korea"}
    assert countries_in("the Republic of Korea’s budget; Korean troops") == {"South Korea"}
    assert countries_in("North Korea's missiles") == {"North Korea"}
    assert countries_in("the U.S.-Sweden Defense Cooperation Agreement") == {"United States",
                                                                              "Sweden"}
    assert countries_in("Papua New Guinea") == {"Papua New Guinea"}
    assert countries_in("NATO Allies and us") == set()
    question = "Which part of the International Military Staff organises the meetings?"
    assert echoes("The IMS", question)
    assert not echoes("The Cooperative Security Division", question)


def test_an_answer_without_a_year_says_as_of_when():
    from bot.chatbot import Answer, Citation, with_as_of

    def answer(question, text, *dates, abstained=False):
        cites = [Citation(n, "T", d, None, "s.txt", "q", 0, 1) for n, d in enumerate(dates, 1)]
        return with_as_of(Answer(text, cites, abstained, question)).text

    assert answer("Who vetoed the mission?", "Germany [1]", "2024-07-10") == \
        "Germany [1] (as of 10 July 2024)"
    assert answer("Who joined?", "Finland and Sweden joined [1][2].", "2025-03-17",
                  "2022-06-29") == "Finland and Sweden joined [1][2]. (As of 17 March 2025.)"
    assert answer("Who joined in 2023?", "Finland [1]", "2025-03-17") == "Finland [1]"
    assert answer("Who joined?", "Finland, in 2023 [1]", "2025-03-17") == "Finland, in 2023 [1]"
    assert answer("Who joined?", "Finland [1]", None) == "Finland [1]"
    assert answer("Who joined?", "No.", abstained=True) == "No."
