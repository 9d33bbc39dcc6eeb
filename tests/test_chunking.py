from ingest.chunking import chunk_article, embedding_text
from ingest.embedder import MAX_TOKENS, get_embedder
from ingest.loaders import load_file
from ingest.text import sentence_spans

from .conftest import SEED


def _check(text, title, budget):
    emb = get_embedder()
    chunks = chunk_article(text, title, budget, emb.count_tokens)
    boundaries = {s for s, _ in sentence_spans(text)} | {e for _, e in sentence_spans(text)}
    for c in chunks:
        assert c.text == text[c.start : c.end]
        cost = emb.count_tokens([embedding_text(title, c.text)])[0] + 2  # [CLS] and [SEP]
        assert cost <= MAX_TOKENS
        assert cost <= budget + 8  # joining adds a token or two at most
    # contiguous, ordered, nothing dropped but whitespace
    covered = "".join(text[c.start : c.end] for c in chunks)
    assert "".join(covered.split()) == "".join(text.split())
    return chunks, boundaries


def test_seed_chunks_fit_window_and_keep_sentences_whole():
    a = load_file(SEED)
    chunks, boundaries = _check(a.text, a.title, 200)
    assert len(chunks) >= 3
    for c in chunks:
        assert c.start in boundaries and c.end in boundaries


def test_overlong_sentence_is_cut_at_words_and_nothing_lost():
    text = "Intro sentence. " + " ".join(f"word{i}" for i in range(900)) + ". Outro."
    chunks, _ = _check(text, "A title", 120)
    assert len(chunks) > 5
    assert chunks[-1].text.endswith("Outro.")
