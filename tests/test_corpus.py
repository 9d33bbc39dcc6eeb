"""The built-in library in `corpus/`: every file loads as a dated, titled, linked document;
the notes beside it are not documents."""

import re

from ingest.discovery import iter_files
from ingest.loaders import load_file

from .conftest import ROOT

LIBRARY = ROOT / "corpus"


def test_every_bundled_file_loads_with_a_title_a_date_and_a_link():
    files = iter_files(LIBRARY)
    assert len(files) == 370, len(files)
    by_folder: dict[str, int] = {}
    for path in files:
        article = load_file(path)
        assert article.title.strip(), path
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", article.date or ""), (path, article.date)
        assert (article.url or "").startswith("https://"), (path, article.url)
        assert len(article.text) > 200, path
        folder = path.relative_to(LIBRARY).parts[0]
        by_folder[folder] = by_folder.get(folder, 0) + 1
    assert by_folder == {"nato": 1, "us-government": 21, "whitehouse-cc0": 347, "wikipedia": 1}


def test_the_library_notes_are_skipped_and_name_each_licence():
    names = {p.relative_to(LIBRARY).as_posix() for p in iter_files(LIBRARY)}
    assert "README.md" not in names and not any(n.startswith("LICENSES/") for n in names)
    readme = (LIBRARY / "README.md").read_text(encoding="utf-8")
    for needed in (
        "CC0 1.0",
        "CC BY-SA 4.0",
        "https://en.wikipedia.org/wiki/NATO",
        "public domain",
    ):
        assert needed in readme, needed
    assert (LIBRARY / "LICENSES" / "CC0-1.0.txt").read_text().startswith("Creative Commons")
    # Only texts that may be redistributed: no commentary pieces, no Swedish speech.
    assert not any("swedish-pm-speech" in n or "conundrum" in n for n in names)


def test_a_folder_ignore_file_takes_globs_and_comments(tmp_path):
    (tmp_path / "keep.txt").write_text("Title: A\n\nText.")
    (tmp_path / "notes.md").write_text("# notes")
    (tmp_path / "drafts").mkdir()
    (tmp_path / "drafts" / "d.txt").write_text("draft")
    (tmp_path / "drafts" / "old").mkdir()
    (tmp_path / "drafts" / "old" / "e.txt").write_text("older draft")
    (tmp_path / ".partnerbotignore").write_text("# not documents\n/notes.md\n\ndrafts/\n")
    assert [p.name for p in iter_files(tmp_path)] == ["keep.txt"]
    (tmp_path / ".partnerbotignore").unlink()
    (tmp_path / ".partnerbotignore").symlink_to("/dev/zero")  # never read: not a regular file
    assert len(iter_files(tmp_path)) == 4
