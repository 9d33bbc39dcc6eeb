"""The web chat as users meet it: `python app.py` in its own process, the real model, real
HTTP through gradio_client, and Debian's Chromium driven by Playwright."""

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import CHROMIUM, OUTPUT, ROOT, child_env, free_port
from .scripted import LAST, QUESTION

pytestmark = pytest.mark.llm


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    store = tmp_path_factory.mktemp("web-store")
    home = tmp_path_factory.mktemp("web-home")
    log = open(home / "app.log", "w+")
    proc = subprocess.Popen(
        # the seed article as the library: a small corpus of its own, indexed on start
        [sys.executable, "app.py", "--store", str(store), "--corpus", "corpus/nato"],
        cwd=ROOT,
        env=child_env(
            PARTNERBOT_PORT=str(port),
            PARTNERBOT_UPLOADS=str(home / "uploads"),
            PARTNERBOT_FEEDBACK_DB=str(home / "feedback.sqlite"),
        ),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 300
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200 and "built-in library: indexed" in Path(log.name).read_text():
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            log.seek(0)
            pytest.fail(f"app.py did not start (exit {proc.poll()}):\n{log.read()[-3000:]}")
        time.sleep(1)
    yield url, log, home
    proc.terminate()
    proc.wait(timeout=30)


def _bot_text(message) -> str:
    content = message["content"]
    return content if isinstance(content, str) else "".join(p.get("text", "") for p in content)


def test_app_ingests_corpus_and_streams_cited_answer(server):
    from gradio_client import Client

    url, log, _ = server
    startup = Path(log.name).read_text()
    assert "built-in library: indexed 1 document (1 added)" in startup
    client = Client(url, verbose=False)
    job = client.submit(QUESTION, api_name="/ask")
    texts, sources = [], []
    for chat, html, _, copied in job:  # noqa: B007 - the last "copied" is checked below
        texts.append(_bot_text(chat[-1]))
        if isinstance(html, str):
            sources.append(html)
    final = texts[-1]
    assert len({t for t in texts if t not in ("…", "")}) > 2, "the answer did not stream"
    assert "Russia" in final and "Belarus" in final and "(#source-1-1)" in final
    assert "Belarus" in copied and "[1]" in copied and "Sources:\n[1] NATO" in copied
    assert "Retrieved" in sources[0]  # sources appear before the answer
    panel = sources[-1]
    assert LAST in panel and "2021-07-13" in panel
    assert 'href="https://www.nato.int/cps/en/natohq/news_185837.htm"' in panel


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed (make browser)")
def test_browser_asks_clicks_citation_rates_uploads_and_asks_again(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, _, home = server
    OUTPUT.mkdir(exist_ok=True)
    article = tmp_path / "zanzibar-accord.txt"
    article.write_text(
        "Title: Zanzibar Accord signed\nDate: 2026-11-01\n\n"
        "The Zanzibar Accord between NATO and the Republic of Freedonia was "
        "signed in Tallinn on 1 November 2026.\nIt covers maritime security "
        "training for coast guard crews.\n"
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url.rstrip("/"))
        page = context.new_page()
        page.goto(url, wait_until="load")

        # ask: sources first, then the answer streams, with a clickable citation
        page.locator("#question textarea").fill(QUESTION)
        page.locator("#ask").click()
        expect(page.locator("#sources")).to_contain_text("Retrieved", timeout=60_000)
        bot = page.locator('[data-testid="bot"]').last
        expect(bot).to_contain_text("Belarus", timeout=240_000)
        citation = bot.locator('a[href="#source-1-1"]')
        expect(citation).to_have_text("[1]", timeout=60_000)
        citation.click()
        active = page.locator("#sources .src.active")
        expect(active.locator("mark")).to_contain_text("with the exception of Russia and Belarus")
        expect(active.locator(".passage")).to_contain_text("Cooperative Security Division")
        expect(active).to_contain_text("2021-07-13")
        page.screenshot(path=str(OUTPUT / "web-chat.png"))

        # copy the answer with its sources
        page.locator("#copy").click()
        page.wait_for_function("navigator.clipboard.readText().then(t => t.length > 0)")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert "Belarus" in copied and "\n\nSources:\n[1] NATO Partners" in copied

        # rate it, with a comment
        page.locator('#chat button[aria-label="Like"]').last.click()
        expect(page.locator("#feedback-status")).to_contain_text("Thanks", timeout=30_000)
        page.get_by_text("Comment on your rating").click()
        page.locator("#comment textarea").fill("Exactly the sentence I needed.")
        page.get_by_role("button", name="Send comment").click()
        expect(page.locator("#feedback-status")).to_contain_text("Comment saved", timeout=30_000)

        # add a document, then ask about it in the same chat
        page.get_by_role("tab", name="Add documents").click()
        page.locator("#upload input[type=file]").set_input_files(str(article))
        page.locator("#add-docs").click()
        expect(page.locator("#ingest-log")).to_contain_text("Added 1", timeout=120_000)
        page.get_by_role("tab", name="Chat").click()
        page.locator("#question textarea").fill("Where was the Zanzibar Accord signed?")
        page.locator("#ask").click()
        bot = page.locator('[data-testid="bot"]').nth(1)
        expect(bot).to_contain_text("Tallinn", timeout=240_000)
        expect(bot.locator('a[href="#source-2-1"]')).to_have_count(1, timeout=60_000)
        expect(page.locator("#sources .src").first).to_contain_text("Zanzibar Accord signed")
        page.screenshot(path=str(OUTPUT / "web-chat-upload.png"), full_page=True)
        browser.close()

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.interfaces.cli",
            "feedback",
            "export",
            "--db",
            str(home / "feedback.sqlite"),
        ],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    [row] = [json.loads(line) for line in out.stdout.splitlines()]
    assert row["rating"] == "up" and row["comment"] == "Exactly the sentence I needed."
    assert row["question"] == QUESTION and "Belarus" in row["answer"]
    assert row["citations"][0]["quote"] == LAST
