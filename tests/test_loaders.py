import pytest

from ingest import IngestError, load_file
from ingest.loaders import markdown_to_text, normalize_date

from .conftest import SEED, SHARED


def test_seed_header_becomes_metadata():
    a = load_file(SEED)
    assert a.title.startswith("NATO Partners are invaluable assets")
    assert a.date == "2021-07-13"
    assert a.url == "https://www.nato.int/cps/en/natohq/news_185837.htm"
    assert a.source == SEED.name
    assert not a.text.startswith("Title:")
    assert a.text.endswith("with the exception of Russia and Belarus.")


def test_yaml_front_matter_markdown(tmp_path):
    f = tmp_path / "release.md"
    f.write_text(
        "---\ndate: '2025-05-08'\nsource_url: https://example.org/r\n"
        'title: "Deal \\u201Cdone\\u201D"\ntags: articles\n---\n \n'
        "In February, the President\n[promised](https://x.example/p) a deal\n"
        "and **delivered**.\n\n![img](https://x.example/i.png)\n# Heading\nNext para.\n",
        encoding="utf-8",
    )
    a = load_file(f)
    assert a.title == "Deal “done”"
    assert a.date == "2025-05-08"
    assert a.url == "https://example.org/r"
    assert (
        a.text
        == "In February, the President promised a deal and delivered.\n\nHeading\n\nNext para."
    )


def test_plain_text_loses_inline_html_tags_copied_with_it(tmp_path):
    # The shared White House releases say "NATO’s 31<sup>st</sup> Ally": quotes showed the tags
    f = tmp_path / "release.txt"
    f.write_text(
        "Title: Welcome\n\nToday, I welcome Finland as NATO’s 31<sup>st</sup> Ally.\n"
        "We mark the 75<sup>th </sup>anniversary. Keep a < b and <this>.\n"
        '<span style="text-decoration: underline">Read</span> on<br>here, <sub-committee> '
        "and if x <b and y> z.\n",
        encoding="utf-8",
    )
    text = load_file(f).text
    assert "Finland as NATO’s 31st Ally." in text
    assert "the 75th anniversary" in text
    assert "a < b and <this>" in text
    assert "Read on here, <sub-committee> and if x <b and y> z." in text


def test_markdown_link_with_parentheses_in_url():
    assert markdown_to_text("see [the text](https://e.org/a_(b)) now") == "see the text now"


@pytest.mark.parametrize(
    "value,expected",
    [
        ("2021-07-13", "2021-07-13"),
        ("unknown", None),
        ("2021-02-30", None),
        ("2025-05-08 17:40:49-04:00", "2025-05-08"),
        (None, None),
    ],
)
def test_normalize_date(value, expected):
    assert normalize_date(value) == expected


@pytest.mark.parametrize(
    "content,reason",
    [
        (b"", "empty"),
        (b"   \n\t\n", "only whitespace"),
        (b"\x00\x01binary\x00", "binary"),
        (b"Title: T\nDate: 2021-01-01\n\n   \n", "no text"),
    ],
)
def test_bad_files_name_file_and_reason(tmp_path, content, reason):
    f = tmp_path / "bad.txt"
    f.write_bytes(content)
    with pytest.raises(IngestError) as exc:
        load_file(f)
    assert exc.value.source == str(f)
    assert reason in exc.value.reason


def test_bom_and_latin1_are_decoded(tmp_path):
    f = tmp_path / "bom.txt"
    f.write_bytes(
        "\ufeffTitle: Caf\u00e9\nDate: 2022-01-02\nSource: https://e.org\n\nBody.".encode()
    )
    assert load_file(f).title == "Café"
    g = tmp_path / "latin.txt"
    g.write_bytes("Title: Caf\u00e9\n\nBody text.".encode("latin-1"))
    assert load_file(g).title == "Café"


def test_unsupported_suffix(tmp_path):
    f = tmp_path / "x.xlsx"
    f.write_bytes(b"PK\x03\x04")
    with pytest.raises(IngestError, match="unsupported file type '.xlsx'"):
        load_file(f)


@pytest.mark.skipif(not (SHARED / "corpus").exists(), reason="../shared corpus not present")
def test_every_shared_document_loads():
    files = sorted((SHARED / "corpus").rglob("*.txt")) + sorted((SHARED / "corpus").rglob("*.md"))
    files = [f for f in files if not f.name.startswith("PROVENANCE")]
    assert len(files) > 1000
    leftover_links = 0
    for f in files:
        a = load_file(f)
        assert a.title and a.text.strip(), f
        leftover_links += "](http" in a.text
    # Malformed Markdown (unbalanced brackets in a URL) may keep a link target; it must be rare.
    assert leftover_links < len(files) / 100


def _within(seconds: int, work):
    """Run `work`, failing if it takes over `seconds` (a guard against runaway parsing, set far
    above the expected time; not a speed measurement)."""
    import signal

    def stop(*_):
        raise TimeoutError(f"still parsing after {seconds} s")

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        return work()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.security
@pytest.mark.parametrize(
    "hostile",
    ["[a](" * 250_000, "![x](" * 200_000, "<b " * 300_000, "[a](" * 100_000 + " " + ")" * 100_000],
)
def test_markdown_flattening_is_linear_on_hostile_text(hostile):
    # Each of these took the old backtracking patterns minutes (1 MB froze the web server).
    text = _within(30, lambda: markdown_to_text(hostile))
    assert len(text) <= len(hostile)


@pytest.mark.security
def test_links_images_and_nested_images_are_flattened():
    md = "See [the text](http://x.org/a_(b)) and ![img](http://t/p.png) [![i](s)](h) [a](b c) end"
    assert markdown_to_text(md) == "See the text and [a](b c) end"


@pytest.mark.security
def test_feed_with_entity_declarations_is_refused():
    from ingest.formats import feed_articles

    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "' + b"x" * 1000 + b'">]>'
        b"<rss><channel><item><link>http://e.org/1</link><description>"
        + b"&a;" * 1000
        + b"</description></item></channel></rss>"
    )
    with pytest.raises(IngestError, match="DOCTYPE or ENTITY"):
        list(feed_articles(bomb, "http://e.org/feed"))


@pytest.mark.security
def test_titles_are_one_line_and_capped():
    from ingest.article import MAX_TITLE_CHARS, Article

    article = Article(text="t", source="s", title="A\nlong " + "title " * 1000)
    assert len(article.title) <= MAX_TITLE_CHARS and "\n" not in article.title
    assert article.title.startswith("A long title") and article.title.endswith("…")
