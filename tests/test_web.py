"""The web chat as users meet it: `python app.py` in its own process, the real model, real
HTTP through gradio_client, and Debian's Chromium driven by Playwright."""

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import CHROMIUM, OUTPUT, ROOT, child_env, free_port
from .test_bot import LAST, QUESTION

pytestmark = pytest.mark.llm


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    store = tmp_path_factory.mktemp("web-store")
    log = open(tmp_path_factory.mktemp("web-log") / "app.log", "w+")
    proc = subprocess.Popen([sys.executable, "app.py", "--store", str(store)], cwd=ROOT,
                            env=child_env(PARTNERBOT_PORT=str(port)), stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 300
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            log.seek(0)
            pytest.fail(f"app.py did not start (exit {proc.poll()}):\n{log.read()[-3000:]}")
        time.sleep(1)
    yield url, log
    proc.terminate()
    proc.wait(timeout=30)


def _bot_text(message) -> str:
    content = message["content"]
    return content if isinstance(content, str) else "".join(p.get("text", "") for p in content)


def test_app_ingests_corpus_and_streams_cited_answer(server):
    from gradio_client import Client

    url, log = server
    startup = Path(log.name).read_text()
    assert "ingested" in startup and "added 1" in startup
    client = Client(url, verbose=False)
    job = client.submit(QUESTION, api_name="/ask")
    texts, sources = [], []
    for chat, html, _ in job:
        texts.append(_bot_text(chat[-1]))
        if isinstance(html, str):
            sources.append(html)
    final = texts[-1]
    assert len({t for t in texts if t not in ("…", "")}) > 2, "the answer did not stream"
    assert "Russia" in final and "Belarus" in final and "[1]" in final
    assert "Retrieved" in sources[0]  # sources appear before the answer
    panel = sources[-1]
    assert LAST in panel and "2021-07-13" in panel
    assert 'href="https://www.nato.int/cps/en/natohq/news_185837.htm"' in panel


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed (make browser)")
def test_browser_asks_and_sees_answer_with_highlighted_quote(server):
    from playwright.sync_api import expect, sync_playwright

    url, _ = server
    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-gpu",
                                          "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url, wait_until="load")
        page.locator("#question textarea").fill(QUESTION)
        page.locator("#ask").click()
        bot = page.locator('[data-testid="bot"]').last
        expect(bot).to_contain_text("Belarus", timeout=240_000)
        quote = page.locator("#sources mark")
        expect(quote).to_contain_text("with the exception of Russia and Belarus", timeout=60_000)
        expect(page.locator("#sources")).to_contain_text("2021-07-13")
        page.screenshot(path=str(OUTPUT / "web-chat.png"), full_page=True)
        browser.close()
