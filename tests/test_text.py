from ingest.text import sentence_spans

from .conftest import SEED


def _sentences(text):
    return [text[s:e] for s, e in sentence_spans(text)]


def test_abbreviations_and_dates_do_not_end_sentences():
    text = (
        "On 13 Jul. 2021 the U.S. Senate met Lt. Gen. Smith. It voted 95 to 1. "
        "“Partners matter,” he said. Next came 3.5 percent growth!"
    )
    assert _sentences(text) == [
        "On 13 Jul. 2021 the U.S. Senate met Lt. Gen. Smith.",
        "It voted 95 to 1.",
        "“Partners matter,” he said.",
        "Next came 3.5 percent growth!",
    ]


def test_line_breaks_end_sentences_and_offsets_are_exact():
    text = "• 13 Jul. 2021 -\n• |\n\nFirst sentence here. Second one.\n"
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == [
        "• 13 Jul. 2021 -",
        "• |",
        "First sentence here.",
        "Second one.",
    ]


def test_seed_last_sentence_is_one_unit():
    text = SEED.read_text(encoding="utf-8")
    last = _sentences(text)[-1]
    assert last.startswith("All partners from the Euro-Atlantic Partnership Council")
    assert last.endswith("with the exception of Russia and Belarus.")
