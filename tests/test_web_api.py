"""The web server as clients and attackers meet it, without the LLM: `python app.py` in its
own process over a real store (extractive answers, so 20 concurrent chats take seconds),
reached over real HTTP by gradio_client, the `openai` package, raw requests and Chromium."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import CHROMIUM, CORPUS, OUTPUT, ROOT, child_env, free_port, served
from .scripted import LAST, QUESTION

BUSY = "Partnerbot is busy"
SECRET = "do-not-serve-this-secret-7731"
XSS_ARTICLE = """Title: Harbour Partnership Review
Date: 2025-03-04
Source: https://example.org/harbour-review

The Harbour Partnership Review was published by the Kettleby Institute on 4 March 2025.
The review's annex is titled <script>window.__xss = 1</script> and covers port security.
Its appendix <img src=x onerror="window.__xss = 2"> lists the harbour partners.
The summary links <a href="javascript:window.__xss=3">the partners</a> to port authorities.
"""
ACCORD = """Title: Zanzibar Accord signed
Date: 2026-11-01

The Zanzibar Accord between NATO and the Republic of Freedonia was signed in Tallinn on 1 November 2026.
It covers maritime security training for coast guard crews.
"""


@pytest.mark.security
@pytest.mark.parametrize(
    "name, safe",
    [
        ("../../etc/passwd", "passwd"),
        (".env", "env"),
        ("a<script>b.txt", "a_script_b.txt"),
        ("report (final).PDF", "report _final_.PDF"),
        ("..", "upload"),
        ("x" * 300 + ".txt", "x" * 100 + ".txt"),
    ],
)
def test_upload_names_are_reduced_to_a_harmless_base_name(name, safe):
    from bot.interfaces.web import safe_name

    assert safe_name(name) == safe


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    """app.py with extractive answers, one worker and room for 4 waiting questions, a 1 MB
    upload limit, started in a folder holding a `.env` it must never serve."""
    from ingest import ingest_paths

    home = tmp_path_factory.mktemp("web-api")
    (home / ".env").write_text(f"OPENAI_API_KEY={SECRET}\n")
    articles = home / "articles"
    articles.mkdir()
    (articles / "harbour-review.txt").write_text(XSS_ARTICLE)
    store = home / "store"
    report = ingest_paths([CORPUS, articles], store=store)
    assert report.added == 2 and not report.failed
    with served(
        [str(ROOT / "app.py"), "--store", str(store)],
        home,
        PARTNERBOT_BACKEND="extractive",
        PARTNERBOT_WORKERS="1",
        PARTNERBOT_QUEUE_SIZE="4",
        PARTNERBOT_MAX_FILE_MB="1",
        PARTNERBOT_UPLOADS=str(home / "uploads"),
        PARTNERBOT_FEEDBACK_DB=str(home / "feedback.sqlite"),
    ) as (url, proc):
        yield {"url": url, "home": home, "proc": proc}


def _client(url):
    from gradio_client import Client

    return Client(url + "/", verbose=False)


def _text(message) -> str:
    content = message["content"]
    return content if isinstance(content, str) else "".join(p.get("text", "") for p in content)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def test_gradio_api_answers_with_citation_and_quote_in_its_passage(app_server):
    chat, panel, question, copied = _client(app_server["url"]).predict(QUESTION, api_name="/ask")
    answer = _text(chat[-1])
    assert "Russia and Belarus" in answer and "(#source-1-1)" in answer
    assert question == ""
    # the panel shows the quoted sentence marked inside its passage, with title, date, link
    assert f"<mark>{LAST}" in panel and "2021-07-13" in panel
    assert 'href="https://www.nato.int/cps/en/natohq/news_185837.htm"' in panel
    assert panel.index("<mark>") > panel.index('class="passage">') + 20
    # what "Copy answer with sources" copies
    assert copied.startswith("“All partners") and "\n\nSources:\n[1] NATO Partners" in copied


def test_filters_limit_retrieval_by_date_and_source(app_server):
    client = _client(app_server["url"])
    chat, *_ = client.predict(QUESTION, [], "2027", "", [], api_name="/ask")
    assert "No document in the corpus matches the filters (from 2027-01-01)" in _text(chat[-1])
    chat, panel, *_ = client.predict(
        "Who published the Harbour Partnership Review?",
        [],
        "2025-03",
        "2025-03",
        ["example.org"],
        api_name="/ask",
    )
    assert "Kettleby Institute" in _text(chat[-1])
    assert "nato.int" not in panel
    with pytest.raises(Exception, match="since: '03/2025' is not a date"):
        client.predict(QUESTION, [], "03/2025", "", [], api_name="/ask")


def test_openai_endpoint_answers_with_citations_streaming_and_not(app_server):
    import openai

    client = openai.OpenAI(base_url=app_server["url"] + "/v1", api_key="unused", max_retries=0)
    assert [m.id for m in client.models.list()] == ["partnerbot"]
    reply = client.chat.completions.create(
        model="partnerbot", messages=[{"role": "user", "content": QUESTION}]
    )
    text = reply.choices[0].message.content
    assert "Russia and Belarus" in text and "\n\nSources:\n[1] NATO Partners" in text
    citations = reply.model_extra["citations"]
    assert citations[0]["quote"] == LAST and citations[0]["date"] == "2021-07-13"
    assert reply.model_extra["abstained"] is False

    pieces, last = [], None
    for chunk in client.chat.completions.create(
        model="partnerbot",
        stream=True,
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Who hosted the meeting?"},
            {"role": "assistant", "content": "The director."},
            {"role": "user", "content": QUESTION},
        ],
    ):
        pieces.append(chunk.choices[0].delta.content or "")
        last = chunk
    assert "".join(pieces) == text
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"][0]["quote"] == LAST


@pytest.mark.security
def test_openai_endpoint_names_the_field_of_a_bad_request(app_server):
    import openai

    client = openai.OpenAI(base_url=app_server["url"] + "/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.BadRequestError, match="the last message must be the user's"):
        client.chat.completions.create(
            model="partnerbot", messages=[{"role": "assistant", "content": "hi"}]
        )
    with pytest.raises(
        openai.BadRequestError,
        match=r"messages\[0\].content: the question is "
        r"2001 characters long; the limit is 2000",
    ):
        client.chat.completions.create(
            model="partnerbot", messages=[{"role": "user", "content": "x" * 2001}]
        )
    with pytest.raises(openai.BadRequestError, match="filters.until: 'soon' is not a date"):
        client.chat.completions.create(
            model="partnerbot",
            extra_body={"filters": {"until": "soon"}},
            messages=[{"role": "user", "content": QUESTION}],
        )


def _post(url: str, body: bytes, ctype: str) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.mark.security
def test_api_takes_only_json_of_bounded_size(app_server):
    url = app_server["url"] + "/v1/chat/completions"
    ok = json.dumps({"model": "partnerbot", "messages": [{"role": "user", "content": QUESTION}]})
    # text/plain and forms are what another site's page may post without asking
    for ctype in ("text/plain", "application/x-www-form-urlencoded"):
        status, text = _post(url, ok.encode(), ctype)
        assert status == 415 and "application/json" in text, (ctype, status, text)
    big = json.dumps({"messages": [{"role": "user", "content": "x" * 300_000}]}).encode()
    status, text = _post(url, big, "application/json")
    assert status == 413 and "KB" in text
    many = [{"role": r, "content": "hi"} for r in ("user", "assistant") * 40] + [
        {"role": "user", "content": QUESTION}
    ]
    status, text = _post(url, json.dumps({"messages": many}).encode(), "application/json")
    assert status == 400 and "81 messages; the limit is 64" in text
    status, text = _post(url, b"[" * 100_000, "application/json")
    assert status == 400 and "not valid JSON" in text
    assert app_server["proc"].poll() is None  # still serving


@pytest.mark.security
def test_gradio_refuses_a_question_over_the_length_limit(app_server):
    with pytest.raises(Exception, match="2001 characters long; the limit is 2000"):
        _client(app_server["url"]).predict("y" * 2001, api_name="/ask")


@pytest.mark.security
def test_twenty_concurrent_chats_get_an_answer_or_the_busy_message(app_server):
    import openai

    url = app_server["url"]
    client = _client(url)
    jobs = [client.submit(QUESTION, api_name="/ask") for _ in range(20)]
    outcomes = []
    for job in jobs:
        text = _text(job.result(timeout=120)[0][-1])
        assert "Russia and Belarus" in text or BUSY in text, text
        outcomes.append(BUSY not in text)

    api = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=120)

    def one(_):
        try:
            reply = api.chat.completions.create(
                model="partnerbot", messages=[{"role": "user", "content": QUESTION}]
            )
            assert "Russia and Belarus" in reply.choices[0].message.content
            return True
        except openai.RateLimitError as exc:
            assert BUSY in str(exc)
            return False

    with ThreadPoolExecutor(20) as pool:
        api_outcomes = list(pool.map(one, range(20)))
    print(
        f"gradio: {sum(outcomes)} answered, {20 - sum(outcomes)} busy; "
        f"openai: {sum(api_outcomes)} answered, {20 - sum(api_outcomes)} busy"
    )
    assert any(outcomes) and any(api_outcomes)
    # still up, and the gate let everyone go: a lone question is answered, not refused
    assert app_server["proc"].poll() is None
    assert "Russia and Belarus" in _text(_client(url).predict(QUESTION, api_name="/ask")[0][-1])


@pytest.mark.security
@pytest.mark.parametrize(
    "path",
    [
        "/gradio_api/file=/etc/passwd",
        "/gradio_api/file=../../../../etc/passwd",
        "/gradio_api/file=%2Fetc%2Fpasswd",
        "/gradio_api/file=.env",
        "/gradio_api/file=./.env",
        "/gradio_api/file=app.py",
        "/file=/etc/passwd",
        "/gradio_api/file=..%2F..%2Fetc%2Fpasswd",
        "/static/../../../etc/passwd",
        "/.env",
        "/../.env",
    ],
)
def test_no_file_outside_the_app_is_served(app_server, path):
    status, body = _get(app_server["url"] + path)
    assert status in (400, 403, 404, 405), (status, body[:200])
    assert "root:" not in body and SECRET not in body


@pytest.mark.security
def test_upload_gets_a_safe_name_and_is_answerable_at_once(app_server, tmp_path):
    from gradio_client import handle_file

    odd = tmp_path / "..evil name;$(rm -rf ~)<b>.txt"
    odd.write_text(ACCORD)
    client = _client(app_server["url"])
    summary, _ = client.predict([handle_file(str(odd))], "", api_name="/add_documents")
    assert "Added 1" in summary and "failed 0" in summary
    [stored] = [p.name for p in (app_server["home"] / "uploads" / "local").iterdir()]
    assert re.fullmatch(r"[\w][\w .-]*\.txt", stored) and "evil name" in stored
    chat, panel, *_ = client.predict("Where was the Zanzibar Accord signed?", api_name="/ask")
    assert "Tallinn" in _text(chat[-1]) and "Zanzibar Accord signed" in panel


@pytest.mark.security
def test_upload_over_the_size_limit_is_refused_and_nothing_is_lost(app_server, tmp_path):
    from gradio_client import handle_file

    big = tmp_path / "big.txt"
    big.write_text("Title: Big\n\n" + "NATO partners met again. " * 60_000)  # ~1.5 MB
    client = _client(app_server["url"])
    with pytest.raises(Exception, match="(?i)size|too large|exceeds"):
        client.predict([handle_file(str(big))], "", api_name="/add_documents")
    assert "Russia and Belarus" in _text(client.predict(QUESTION, api_name="/ask")[0][-1])


def test_feedback_is_stored_and_exported_as_jsonl(tmp_path):
    from bot.interfaces.feedback import FeedbackLog

    db = tmp_path / "fb.sqlite"
    log = FeedbackLog(db)
    answer = {
        "question": "Q?",
        "text": "A [1]",
        "abstained": False,
        "citations": [{"n": 1, "quote": "A.", "title": "T"}],
    }
    fid = log.record("down", answer)
    log.comment(fid, "wrong date")
    log.record("up", answer)
    with pytest.raises(ValueError, match="rating: 'meh'"):
        log.record("meh", answer)
    out = subprocess.run(
        [sys.executable, "-m", "bot.interfaces.cli", "feedback", "export", "--db", str(db)],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["rating"], r["comment"]) for r in rows] == [("down", "wrong date"), ("up", "")]
    assert rows[0]["question"] == "Q?" and rows[0]["citations"][0]["quote"] == "A."
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.interfaces.cli",
            "feedback",
            "export",
            "--db",
            str(tmp_path / "none.sqlite"),
        ],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 1 and "no feedback file at" in missing.stderr


@pytest.mark.security
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed (make browser)")
def test_document_text_shows_as_text_and_runs_nothing(app_server):
    from playwright.sync_api import expect, sync_playwright

    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(app_server["url"] + "/", wait_until="load")
        page.locator("#question textarea").fill("What is the review's annex titled?")
        page.locator("#ask").click()
        panel = page.locator("#sources .passage").first
        expect(panel).to_contain_text("<script>window.__xss = 1</script>", timeout=60_000)
        expect(panel).to_contain_text('<img src=x onerror="window.__xss = 2">')
        expect(panel).to_contain_text('<a href="javascript:window.__xss=3">the partners</a>')
        page.wait_for_timeout(500)
        assert page.evaluate("window.__xss") is None and not dialogs
        assert page.locator('a[href^="javascript:"], #sources img, #chat img[src="x"]').count() == 0
        page.screenshot(path=str(OUTPUT / "web-xss.png"), full_page=True)
        browser.close()


@pytest.mark.security
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed (make browser)")
def test_tracking_pixel_and_phishing_link_in_a_document_never_load_or_click(app_server, tmp_path):
    """An uploaded article carries a tracking pixel and a phishing link, in HTML, Markdown and
    bare form; its sentence is quoted in the answer. A real Chromium loads nothing from the
    attacker's server and offers no link to it."""
    import http.server
    import threading

    from gradio_client import handle_file
    from playwright.sync_api import expect, sync_playwright

    hits = []

    class Attacker(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    attacker = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Attacker)
    threading.Thread(target=attacker.serve_forever, daemon=True).start()
    evil = f"http://127.0.0.1:{attacker.server_address[1]}"
    article = tmp_path / "grant.txt"
    article.write_text(
        "Title: Quillon Grant notice\nDate: 2026-10-02\n\n"
        f"The Quillon Grant for partner coast guards opens on 3 October 2026 "
        f'<img src="{evil}/pixel.png?who=reader"> and applicants must log in at '
        f'<a href="{evil}/phish">the grant portal</a> or [here]({evil}/md-phish) or {evil}/bare '
        f"before 30 November 2026.\n"
    )
    summary, _ = _client(app_server["url"]).predict(
        [handle_file(str(article))], "", api_name="/add_documents"
    )
    assert "Added 1" in summary, summary
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(app_server["url"] + "/", wait_until="load")
            page.locator("#question textarea").fill("When does the Quillon Grant open?")
            page.locator("#ask").click()
            expect(page.locator("#sources .passage").first).to_contain_text(
                "Quillon", timeout=60_000
            )
            expect(page.locator('[data-testid="bot"]').last).to_contain_text(
                "3 October 2026", timeout=60_000
            )
            page.wait_for_timeout(1000)
            links = page.locator(f'a[href^="{evil}"]').count()
            images = page.locator(f'img[src^="{evil}"]').count()
            browser.close()
    finally:
        attacker.shutdown()
    assert hits == [] and links == 0 and images == 0, (hits, links, images)


@pytest.mark.security
def test_hostile_uploads_fail_alone_and_the_server_keeps_answering(app_server, tmp_path):
    from gradio_client import handle_file

    bomb = tmp_path / "bomb.md"
    bomb.write_text(
        "---\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "title: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n---\nBody.\n"
    )
    good = tmp_path / "good.txt"
    good.write_text(
        "Title: Ostrava Compact\nDate: 2026-09-09\n\nThe Ostrava Compact on "
        "river patrols was agreed by NATO and Moldova in Chisinau in September 2026.\n"
    )
    client = _client(app_server["url"])
    summary, _ = client.predict(
        [handle_file(str(p)) for p in (bomb, good)], "", api_name="/add_documents"
    )
    assert "failed: bomb.md: YAML front matter uses anchors or aliases" in summary, summary
    assert "Added 1" in summary
    chat, *_ = client.predict("Where was the Ostrava Compact agreed?", api_name="/ask")
    assert "Chisinau" in _text(chat[-1])
    # what was there before still answers (a new session: not a follow-up of the above)
    chat, *_ = _client(app_server["url"]).predict(QUESTION, api_name="/ask")
    assert "Belarus" in _text(chat[-1])
    assert not (app_server["home"] / "uploads" / "local" / "bomb.md").exists()  # not kept


@pytest.mark.security
def test_a_pasted_url_cannot_reach_the_servers_own_network(app_server):
    client = _client(app_server["url"])
    for url in (
        app_server["url"] + "/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:22/",
    ):
        summary, _ = client.predict(None, url, api_name="/add_documents")
        assert "local or private address" in summary and "Added 0" in summary, summary
        assert "Connection refused" not in summary  # no port scanning through the server
    chat, *_ = _client(app_server["url"]).predict(QUESTION, api_name="/ask")
    assert "Belarus" in _text(chat[-1])


@pytest.mark.security
def test_gate_gives_a_cancelled_place_back_once():
    from bot.interfaces.admission import Busy, Gate

    gate = Gate(workers=1, queue_size=0)
    ticket = gate.admit()
    ticket.cancel()  # the asker left while waiting...
    with ticket:  # ...and the answer ran anyway: its place must not be given back twice
        pass
    gate.admit()
    with pytest.raises(Busy):
        gate.admit()
