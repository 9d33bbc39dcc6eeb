import json
import re
import subprocess
import sys

import pytest

from bot.dates import parse_time_hint, time_ranking
from bot.evaluate import answer_correct, citation_ok
from ingest.loaders import load_file

from .conftest import CORPUS, ROOT, SHARED, child_env
from .scripted import LAST, QUESTION


def test_time_hints():
    h = parse_time_hint("What happened at the July 2021 meeting?")
    assert h.years == {2021} and h.months == {(2021, 7)}
    assert parse_time_hint("What is the latest on Sweden?").latest
    b = parse_time_hint("Which partners joined before 2023?")
    assert b.before == 20230101 and not b.years
    assert not parse_time_hint("Who chaired the reception?")


def test_time_ranking_votes_for_matching_dates_only():
    ids = ["a", "b", "c", "d"]
    dates = {"a": 20240711, "b": 20210713, "c": 0, "d": 20210601}
    assert time_ranking(ids, dates, parse_time_hint("in July 2021")) == ["b", "d"]
    assert time_ranking(ids, dates, parse_time_hint("the latest news")) == ["a", "b", "d"]
    assert time_ranking(ids, dates, parse_time_hint("after 2022")) == ["a"]


@pytest.mark.parametrize(
    "text,gold,ok",
    [
        (
            "Australia, Japan, New Zealand and the Republic of Korea [1].",
            "Australia, Japan, New Zealand, and the Republic of Korea",
            True,
        ),
        (
            "Japan and Australia [1].",
            "Australia, Japan, New Zealand, and the Republic of Korea",
            False,
        ),
        ("It rose by 4.2 percent [1].", "4.2 percent (to $44.45 billion)", True),
        ("It rose by 4.2% [1].", "4.2 percent (to $44.45 billion)", True),
        ("It rose by 3 percent [1].", "4.2 percent (to $44.45 billion)", False),
        ("16 [1]", "Sixteen", True),
        ("15 [1]", "Sixteen", False),
        ("It became the 32nd Ally [1].", "Thirty-second Ally", True),
    ],
)
def test_answer_correctness_rule(text, gold, ok):
    assert answer_correct(text, gold) is ok


def test_citation_precision_rule():
    assert citation_ok(LAST, [LAST], "Russia and Belarus")
    assert citation_ok("Russia and Belarus were not invited.", [], "Russia and Belarus")
    assert not citation_ok("Admiral Bauer spoke at the reception.", [LAST], "Russia and Belarus")


def test_a_bad_question_file_line_is_named_before_anything_is_ingested(tmp_path):
    from bot.evaluate import QuestionFileError, load_questions

    good = {"id": "a", "question": "Who?", "answer": "NOT IN CORPUS"}
    cases = [
        ({"id": "b", "question": "When?", "answer": None}, "line 2: field 'answer'"),
        ({"id": "b", "answer": "x"}, "line 2: field 'question'"),
        ({"id": "b", "question": "Q", "answer": "x", "evidence": 3}, "line 2: field 'evidence'"),
        ({"id": "b", "question": "Q", "answer": "x", "history": "Q0"}, "line 2: field 'history'"),
        ("[1, 2]", "line 2: not a JSON object"),
        ("{oops", "line 2: not JSON"),
    ]
    path = tmp_path / "q.jsonl"
    for bad, message in cases:
        path.write_text(
            json.dumps(good) + "\n" + (bad if isinstance(bad, str) else json.dumps(bad))
        )
        with pytest.raises(QuestionFileError, match=re.escape(f"{path}, {message}")):
            load_questions(path)
    path.write_text(json.dumps(good) + "\n\n" + json.dumps(dict(good, evidence=["s"], history=[])))
    assert len(load_questions(path)) == 2
    # the command says so at once, with no store built: the corpus given does not even exist
    path.write_text(json.dumps(good) + "\n" + json.dumps({"question": "When?", "answer": None}))
    run = subprocess.run(
        [sys.executable, "-m", "bot.interfaces.cli", "eval", str(path), "--corpus", "nowhere/"],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and f"{path}, line 2: field 'answer'" in run.stderr
    assert "NOT IN CORPUS" in run.stderr and "Traceback" not in run.stderr


def test_eval_command_prints_metrics(tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        "\n".join(
            json.dumps(d)
            for d in [
                {
                    "id": "a",
                    "question": QUESTION,
                    "answer": "Russia and Belarus",
                    "kind": "fact",
                    "evidence": LAST,
                },
                {
                    "id": "b",
                    "question": "What is the boiling point of tungsten?",
                    "answer": "NOT IN CORPUS",
                    "kind": "unanswerable",
                    "evidence": None,
                },
                # answerable in this test's eyes, but it names a place no article mentions
                {
                    "id": "c",
                    "question": "Which partners did Mongolia invite in July 2021?",
                    "answer": "Russia and Belarus",
                    "kind": "fact",
                    "evidence": LAST,
                },
            ]
        )
    )
    out = tmp_path / "answers.jsonl"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.interfaces.cli",
            "eval",
            str(questions),
            "--corpus",
            str(CORPUS),
            "--backend",
            "extractive",
            "--json",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    overall = summary["overall"]
    assert overall["evidence_recall"] == 1.0
    assert overall["answer_correct"] == 0.5 and overall["false_abstention"] == 0.5
    assert overall["wrong_answer"] == 0.0
    assert overall["abstention_accuracy"] == 1.0
    assert overall["citation_precision"] == 1.0
    assert overall["quotes_outside_chunks"] == 0
    # every refusal of an answerable question is listed with its cause
    assert summary["false_abstention_causes"] == {"gate": ["c"]}
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", "c"] and rows[1]["abstained"] is True
    assert [r["cause"] for r in rows] == [None, "extractive", "gate"]
    from bot.evaluate import format_summary  # what `eval` prints without --json

    table = format_summary(summary)
    assert "| gate | 1 | c |" in table and "| overall | 3 |" in table


DEV = SHARED / "eval" / "dev-questions.jsonl"


@pytest.mark.llm
@pytest.mark.skipif(not DEV.exists(), reason="../shared dev questions not present")
def test_every_quote_of_the_dev_eval_run_is_in_a_retrieved_chunk(tmp_path):
    """The real model answers all dev questions; every citation it shows must quote a chunk
    retrieved for that turn (counted by eval) and sit at its offsets in the article."""
    out = tmp_path / "answers.jsonl"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.interfaces.cli",
            "eval",
            str(DEV),
            "--corpus",
            str(SHARED / "corpus" / "partnerships"),
            "--json",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["backend"] == "local"
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == len(DEV.read_text().splitlines())
    cited = 0
    for row in rows:
        assert row["quotes_outside_chunks"] == 0, row
        for c in row["citations"]:
            article = load_file(SHARED / "corpus" / "partnerships" / c["source"])
            assert article.text[c["start"] : c["end"]] == c["quote"], c
            cited += 1
    assert cited >= len(rows) // 2  # the run really cited something


_CITIES = ["Madrid", "Vilnius", "Washington", "Brussels", "Warsaw", "Lisbon", "Riga", "Oslo"]


def _top_four_of(tmp_path, many, one: tuple[str, str, str, str], question: str):
    """A store of 24 articles, `many(i, city)` -> (title, date, text), and `one` (file name,
    title, date, text); returns a function giving the files of the top four for `question`."""
    from bot import ChatBot
    from ingest import ingest_paths

    docs = tmp_path / "docs"
    docs.mkdir()
    articles = [(f"many-{i}.md", *many(i, _CITIES[i % len(_CITIES)])) for i in range(24)]
    for name, title, date, text in [*articles, one]:
        (docs / name).write_text(f"---\ntitle: {title}\ndate: {date}\n---\n{text}\n", "utf-8")
    store = tmp_path / "store"
    assert ingest_paths([docs], store=store).added == 25
    bot = ChatBot(store=store, backend="extractive")
    return lambda: [p.source.rsplit("/", 1)[-1] for p in bot.retrieve(question)]


def test_a_year_in_the_question_searches_that_years_documents(tmp_path, monkeypatch):
    """Many summit articles of other years outrank, in every plain ranking, the one 2026
    release that says where that year's meeting was (it never says "summit"). The searches
    among the year's chunks must bring it to the top four; without them it is not there."""
    import bot.retrieval as retrieval

    top_four = _top_four_of(
        tmp_path,
        lambda i, city: (
            f"NATO summit held in {city}",
            f"{2018 + i % 8}-07-{1 + i:02d}",
            f"The NATO summit was held in {city}. Allied leaders met at the summit in {city} "
            "and agreed on the next steps for the Alliance at this summit meeting.",
        ),
        (
            "release-2026.md",
            "Fact sheet on the President's travel",
            "2026-07-08",
            "The President traveled to Ankara, where the heads of state of the Allies gathered "
            "for their annual meeting and announced a surge in defense investment.",
        ),
        "Where was NATO's 2026 summit held?",
    )
    assert "release-2026.md" in top_four()
    monkeypatch.setattr(retrieval.Retriever, "_year_rankings", lambda *a, **k: [])
    assert "release-2026.md" not in top_four()


def test_an_article_reporting_the_year_keeps_its_place_against_that_years_documents(
    tmp_path, monkeypatch
):
    """A 2025 commentary is the one article that says what was agreed at the 2008 Bucharest
    summit; two dozen articles dated 2008 speak of other meetings. The plain search finds the
    commentary, which names 2008, so no search among the 2008 chunks pushes it out."""
    import bot.retrieval as retrieval

    top_four = _top_four_of(
        tmp_path,
        lambda i, city: (
            f"Ministers meet in {city}",
            f"2008-{1 + i % 12:02d}-{1 + i:02d}",
            f"Ministers in {city} discussed budgets, logistics and training with partner nations.",
        ),
        (
            "commentary.md",
            "Looking back on Bucharest",
            "2025-03-01",
            "At the 2008 Bucharest summit, NATO leaders agreed that Ukraine and Georgia will "
            "become members of NATO.",
        ),
        "What did NATO leaders agree at the 2008 Bucharest summit?",
    )
    assert "commentary.md" in top_four()
    monkeypatch.setattr(retrieval.Retriever, "_names_a_year", lambda *a, **k: False)
    assert "commentary.md" not in top_four()


def test_only_years_the_question_itself_names_search_among_their_chunks():
    """A follow-up's other queries repeat the earlier question, and "before that" must not
    search the earlier year; years apart would search the years between. Neither reaches
    the store (the retriever here has none)."""
    from bot.retrieval import Retriever

    def searches(queries, hint_text):
        return Retriever._year_rankings(
            None, queries, [], 4, 12, parse_time_hint(hint_text), None, []
        )  # type: ignore[arg-type]

    assert searches(["And before that?", "Who hosted the 2023 summit? before that"], "2023") == []
    assert searches(["What changed between 2014 and 2022?"], "between 2014 and 2022") == []


def test_the_filter_cache_drops_the_least_recently_used_filter():
    # Year questions add filters of their own; a user's filter in steady use must not be
    # scanned again each time the cache fills (it was cleared whole).
    from bot.retrieval import MAX_CACHED_FILTERS, Filters, Retriever

    class Store:  # one chunk per year; counts the scans
        scans: list[Filters] = []

        def generation(self):
            return 1

        def counts(self):
            return (3, 0)

        def chunk_records(self, where=None, documents=False):
            Store.scans.append(where)
            return [(f"c{y}", {"url": None}, "") for y in (2021, 2022, 2023)]

    retriever = Retriever(Store(), embedder=None)
    mine = Filters.parse(since="2022")
    retriever.allowed(mine)
    for year in range(2000, 2000 + 2 * MAX_CACHED_FILTERS):
        retriever.allowed(Filters.parse(since=str(year), until=str(year)))
        retriever.allowed(mine)
    assert Store.scans.count(mine.where()) == 1
    assert len(retriever._allowed) == MAX_CACHED_FILTERS


PARTNERSHIPS = SHARED / "corpus" / "partnerships"


@pytest.mark.skipif(not PARTNERSHIPS.exists(), reason="../shared partnerships corpus not present")
def test_every_committed_question_quotes_its_articles_verbatim():
    """The question sets a figure is quoted from: every file loads, ids are unique across
    files, an unanswerable question has no evidence, and every evidence sentence of an
    answerable one is in one of the articles it lists (whitespace aside)."""
    from bot.evaluate import UNANSWERABLE, load_questions
    from ingest.loaders import load_documents

    def flat(text):
        return " ".join(text.split())

    articles = {}
    for f in PARTNERSHIPS.iterdir():
        articles[f.name] = [flat(f.read_text(encoding="utf-8"))]
        articles[f.name] += [flat(a.text) for a in load_documents(f)]
    files = sorted((ROOT / "bench" / "questions").glob("*.jsonl"))
    assert len(files) >= 4
    seen, checked = set(), 0
    for path in files:
        for item in load_questions(path):
            where = f"{path.name} {item.get('id')}"
            assert item.get("id") and item["id"] not in seen, where
            seen.add(item["id"])
            evidence = item.get("evidence")
            evidence = [evidence] if isinstance(evidence, str) else evidence or []
            if item["answer"] == UNANSWERABLE:
                assert not evidence, where
                continue
            assert evidence and item.get("sources"), where
            for sentence in evidence:
                assert any(
                    flat(sentence) in text
                    for source in item["sources"]
                    for text in articles.get(source, [])
                ), f"{where}: {sentence[:60]!r} is not in {item['sources']}"
                checked += 1
    assert checked >= 200


def test_gold_evidence_copied_with_inline_tags_is_found_in_the_loaded_text():
    # The shared releases say "NATO’s 31<sup>st</sup> Ally"; loaded, the text says "31st",
    # and a gold sentence copied from the raw file must still be found in it.
    from bot.evaluate import evidence_found, evidence_in_prompt

    gold = ["Today, I am proud to welcome Finland as NATO’s 31<sup>st</sup> Ally."]
    chunk = "Title\nToday, I am proud to welcome Finland as NATO's 31st Ally. More text."
    assert evidence_found(gold, [chunk]) == 1
    assert (
        evidence_in_prompt(gold, "[1] Today, I am proud to welcome Finland as NATO’s 31st Ally.")
        == 1
    )
    assert evidence_found(gold, ["Finland joined as the 32nd Ally."]) == 0
