"""The web server: the Gradio chat (a thin adapter that renders `ChatBot.events`), the "Add
documents" tab (a thin adapter over `ingest_paths`), feedback, and the OpenAI-compatible API,
all on one FastAPI app. The only module that imports gradio (lazily, with an install hint).

Everything shown comes from documents or a model, so it is escaped here (`html.escape`) or
rendered by Gradio's sanitising Markdown; links are only ever http(s).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import threading
import unicodedata
from pathlib import Path

from ..answers import Done, Partial, Retrieved
from ..chatbot import ChatBot
from ..questions import check_length
from ..retrieval import Filters
from .accounts import LOOPBACK_HOSTS, Accounts, RateLimit, login_required
from .admission import BUSY_MESSAGE, Busy, Gate
from .render import EMPTY_PANEL, answer_html, chat_markdown, panel_html, retrieved_html

# Drawn from what the built-in library answers (tests/test_first_start.py asks each one).
EXAMPLES = [
    "Who did Allies welcome as the next NATO Secretary General?",
    "How much did Japan give to NATO's Comprehensive Assistance Package?",
    "When did the Republic of Korea establish its NATO mission?",
    "Which NATO Ally number did Sweden become?",
    "How much baseline funding did Allies pledge Ukraine in Washington?",
    "At which summit did President Trump announce a surge in defense investment from NATO Allies?",
    "Which partners were not invited to the July 2021 meeting?",
]

_CSS = """
#sources .src { border-left: 3px solid #888; padding: 4px 10px; margin: 0 0 12px 0; }
#sources .src.active { border-left-color: #d97706; background: rgba(253, 230, 138, 0.25); }
#sources .src .title { font-weight: 600; margin: 0 0 2px 0; }
#sources .meta { color: #666; font-size: 0.85em; margin-bottom: 4px; }
#sources .passage { font-size: 0.92em; line-height: 1.45; white-space: pre-wrap; }
#sources mark { background: #fff3a3; padding: 0 2px; }
#sources .src.active mark { background: #fbbf24; }
#sources .not-in-corpus { border: 1px solid #c2410c; border-radius: 6px; padding: 6px 10px;
                          margin-bottom: 10px; }
#sources details > summary { cursor: pointer; color: #666; margin: 8px 0; }
"""

# Citations in answers are links to "#source-<turn>-<n>": open that source in the panel,
# unfold the earlier turn it belongs to, highlight it. Nothing else on the page is scripted.
_HEAD = """<script>
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest('a[href^="#source-"]');
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  const target = document.getElementById(link.getAttribute("href").slice(1));
  if (!target) return;
  document.querySelectorAll("#sources .src.active").forEach((el) => el.classList.remove("active"));
  const fold = target.closest("details");
  if (fold) fold.open = true;
  target.classList.add("active");
  target.scrollIntoView({behavior: "smooth", block: "center"});
}, true);
</script>"""


def safe_name(name: str) -> str:
    """An uploaded file's name reduced to a harmless base name (no folders, no leading dots,
    no control or shell characters), its suffix kept."""
    base = unicodedata.normalize("NFKC", Path(name or "").name)
    base = re.sub(r"[^\w.\- ]+", "_", base).strip(" .")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem[:100] or "upload"
    return f"{stem}.{suffix[:10]}" if suffix else stem


def build_app(
    bot: ChatBot,
    gate: Gate | None = None,
    feedback=None,
    db=None,
    accounts: Accounts | None = None,
    per_user: RateLimit | None = None,
):
    """The Blocks app; `db` (the open, writable store) enables the "Add documents" tab;
    `accounts` means users log in: readers chat, editors also add documents; `per_user`
    counts each user's questions (shared with the API)."""
    try:
        import gradio as gr
    except ImportError as exc:  # pragma: no cover - gradio is a core dependency
        raise SystemExit("the web chat needs gradio: pip install -e .") from exc

    settings = bot.settings
    gate = gate or Gate(settings.workers, settings.queue_size)
    limit = settings.max_question_chars
    per_user = per_user or RateLimit(settings.rate_per_minute if accounts else 0)

    def respond(message, chat, turns, records, panels, since, until, sites, request=None):
        message = " ".join((message or "").split())
        if not message:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        try:
            check_length(message, limit)
        except ValueError as exc:
            raise gr.Error(f"The {str(exc).removeprefix('the ')}.") from None
        if not per_user.allow(_username(request)):
            raise gr.Error(
                f"You have asked {settings.rate_per_minute} questions in the last "
                "minute; please wait a moment."
            )
        try:
            filters = Filters.parse(since, until, sites)
        except ValueError as exc:
            raise gr.Error(f"Filter {exc}") from None
        chat = chat + [{"role": "user", "content": message}]
        try:
            ticket = gate.admit()
        except Busy:
            chat.append({"role": "assistant", "content": f"⚠ {BUSY_MESSAGE}"})
            yield chat, gr.skip(), "", gr.skip(), turns, records + [None], panels
            return
        try:
            chat.append({"role": "assistant", "content": "…"})
            yield chat, gr.skip(), "", gr.skip(), turns, records, panels
            turn = len(records) + 1
            with ticket:
                for event in bot.events(message, history=turns, filters=filters or None):
                    if isinstance(event, Retrieved):
                        yield (
                            chat,
                            panel_html(panels, retrieved_html(event.passages)),
                            "",
                            gr.skip(),
                            turns,
                            records,
                            panels,
                        )
                    elif isinstance(event, Partial):
                        chat[-1] = {"role": "assistant", "content": event.text}
                        yield chat, gr.skip(), "", gr.skip(), turns, records, panels
                    elif isinstance(event, Done):
                        a = event.answer
                        chat[-1] = {"role": "assistant", "content": chat_markdown(a, turn)}
                        panels = panels + [answer_html(a, turn)]
                        yield (
                            chat,
                            panel_html(panels),
                            "",
                            a.text_with_sources(),
                            turns + [(a.question, a.text)],
                            records + [{"question": a.question, **a.to_dict()}],
                            panels,
                        )
        finally:
            ticket.cancel()

    respond.__annotations__["request"] = gr.Request  # Gradio passes the caller by this type

    def new_chat():
        return [], EMPTY_PANEL, "", "", [], [], [], None, ""

    def rate(records, data, request=None):
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        record = records[index // 2] if index % 2 and index // 2 < len(records) else None
        if record is None or feedback is None or data.liked in (None, ""):
            return None, gr.skip()
        rating = "up" if data.liked in (True, "Like") else "down"
        fid = feedback.record(rating, record, user=_username(request))
        return fid, (
            f"Thanks — rated {'👍' if rating == 'up' else '👎'}. Add a comment below if you like."
        )

    rate.__annotations__["data"] = gr.LikeData  # Gradio passes the rating by this type
    rate.__annotations__["request"] = gr.Request

    def send_comment(fid, text):
        text = (text or "").strip()
        if fid is None:
            return gr.skip(), "Rate an answer with 👍 or 👎 first."
        if not text:
            return gr.skip(), "The comment is empty."
        feedback.comment(fid, text)
        return "", "Comment saved with your rating."

    with gr.Blocks(title="Partnerbot") as demo:
        gr.Markdown(
            "## Partnerbot\nAnswers about NATO and its partners, each sentence quoted "
            "from the corpus. Click a citation to see it in its article."
        )
        library = bot.library
        library_status = gr.Markdown(_library_line(library), elem_id="library-status")
        if library is not None:
            # Polled while the built-in library is indexed; the timer stops once it is done.
            ticker = gr.Timer(2.0, active=library.running)

            def show_progress():
                return _library_line(library), gr.Timer(active=library.running)

            ticker.tick(show_progress, None, [library_status, ticker], api_visibility="private")
            demo.load(show_progress, None, [library_status, ticker], api_visibility="private")
        turns, records, panels, rated = gr.State([]), gr.State([]), gr.State([]), gr.State(None)
        with gr.Tab("Chat"):
            with gr.Row():
                with gr.Column(scale=3):
                    chat = gr.Chatbot(
                        elem_id="chat",
                        label="Chat",
                        height=480,
                        buttons=["copy"],
                        feedback_options=("Like", "Dislike"),
                    )
                    question = gr.Textbox(
                        elem_id="question",
                        label="Question",
                        show_label=False,
                        lines=1,
                        max_length=limit,
                        placeholder="Ask about NATO partnerships…",
                    )
                    with gr.Row():
                        ask = gr.Button("Ask", variant="primary", elem_id="ask")
                        clear = gr.Button("New chat", elem_id="new-chat")
                        copy = gr.Button("Copy answer with sources", elem_id="copy")
                    answer_copy = gr.Textbox(
                        visible="hidden", elem_id="answer-copy", label="Answer with sources"
                    )
                    gr.Examples(EXAMPLES, inputs=question)
                    with gr.Accordion("Filters", open=False):
                        with gr.Row():
                            since = gr.Textbox(
                                "", label="From (YYYY, YYYY-MM or YYYY-MM-DD)", elem_id="since"
                            )
                            until = gr.Textbox("", label="To", elem_id="until")
                        sites = gr.Dropdown(
                            bot.retriever.sites(),
                            multiselect=True,
                            label="Sources (any if empty)",
                            elem_id="sites",
                        )
                    with gr.Accordion("Comment on your rating", open=False):
                        comment = gr.Textbox(
                            show_label=False,
                            lines=2,
                            max_length=2000,
                            placeholder="What was right or wrong?",
                            elem_id="comment",
                        )
                        send = gr.Button("Send comment", size="sm")
                    feedback_status = gr.Markdown(elem_id="feedback-status")
                with gr.Column(scale=2):
                    sources = gr.HTML(EMPTY_PANEL, elem_id="sources", label="Sources")
        if db is not None:
            tab = _documents_tab(gr, bot, db, sites, accounts)
            if accounts is not None:  # shown to editors only (and refused to others anyway)

                def editor_view(request: gr.Request):
                    user = accounts.user(_username(request))
                    return gr.update(visible=bool(user and user.can("editor")))

                demo.load(editor_view, None, tab, api_visibility="private")

        args = [question, chat, turns, records, panels, since, until, sites]
        outputs = [chat, sources, question, answer_copy, turns, records, panels]
        # The gate, not Gradio's queue, decides who waits: one queue for chat and API.
        ask.click(respond, args, outputs, api_name="ask", concurrency_limit=None)
        question.submit(respond, args, outputs, api_visibility="private", concurrency_limit=None)
        clear.click(new_chat, None, outputs + [rated, feedback_status], api_visibility="private")
        chat.clear(new_chat, None, outputs + [rated, feedback_status], api_visibility="private")
        copy.click(
            None,
            [answer_copy],
            None,
            api_visibility="private",
            js="(text) => { if (text) navigator.clipboard.writeText(text); return []; }",
        )
        chat.like(rate, [records], [rated, feedback_status], api_visibility="private")
        send.click(
            send_comment, [rated, comment], [comment, feedback_status], api_visibility="private"
        )
    return demo


def _library_line(library) -> str:
    """What the chat says about the built-in library while it is indexed (empty after)."""
    if library is None:
        return ""
    if library.running:
        return (
            f"**Built-in library:** {library.status()}. Answers come from what is indexed so far."
        )
    if library.error:  # the reason is on the server's terminal, not for every visitor
        return "⚠ The built-in library could not be indexed; the server's log says why."
    return ""


def _username(request) -> str:
    return getattr(request, "username", None) or ""


def _folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) if folder.is_dir() else 0


def _documents_tab(gr, bot: ChatBot, db, sites, accounts: Accounts | None = None):
    from ingest import ingest_paths
    from ingest.fetch import is_url
    from ingest.loaders import SUPPORTED_SUFFIXES
    from ingest.lock import StoreBusyError

    settings = bot.settings
    quota = int(settings.upload_quota_mb * 1e6)
    # One addition at a time, held until its ingest really ends (it runs on after the client
    # leaves): Gradio's concurrency limit alone does not see that thread.
    adding = threading.Lock()

    def add(files, url, request=None):
        who = _username(request)
        if accounts is not None:
            user = accounts.user(who)
            if user is None or not user.can("editor"):
                raise gr.Error("Adding documents needs an editor account.")
        if bot.library is not None and bot.library.running:
            raise gr.Error(
                f"The built-in library is still being indexed ({bot.library.status()}): "
                "add documents when it is done."
            )
        url = (url or "").strip()
        if url and not is_url(url):
            raise gr.Error(f"URL: {url!r} is not an http(s) address.")
        inputs: list[str | Path] = []
        # Each uploader has a folder: one user's "accord.txt" never replaces another's.
        folder = settings.uploads / (safe_name(who) if who else "local")
        folder.mkdir(parents=True, exist_ok=True)
        incoming = sum(Path(f).stat().st_size for f in files or [])
        if _folder_bytes(folder) + incoming > quota:
            raise gr.Error(
                f"Your uploads would take over {settings.upload_quota_mb:g} MB "
                "(PARTNERBOT_UPLOAD_QUOTA_MB); remove documents first."
            )
        for f in files or []:
            name = safe_name(getattr(f, "orig_name", None) or Path(f).name)
            target = folder / name
            shutil.copyfile(f, target)  # the app's own copy: a re-upload updates it
            inputs.append(target)
        if url:
            inputs.append(url)
        if not inputs:
            raise gr.Error("Choose files to upload or paste a URL or feed first.")
        if not adding.acquire(blocking=False):
            raise gr.Error("Another addition is still running; try again when it is done.")
        lines: list[str] = []
        done = threading.Event()
        result = {}

        def name(label: str) -> str:  # the upload's name, not where the app keeps it
            return label if is_url(label) else Path(label).name

        def progress(label, outcome, report):
            lines.append(f"- {outcome}: {name(label)}")

        def run():
            try:
                with db.writing():  # waits for no one: another replica writing is an error
                    result["report"] = ingest_paths(
                        inputs, settings=settings, db=db, progress=progress
                    )
            except StoreBusyError as exc:
                result["error"] = str(exc)
            except Exception as exc:  # the store keeps what it had; details go to the log
                logging.getLogger(__name__).exception("adding documents failed")
                result["error"] = f"{type(exc).__name__}; the server's log has the details"
            finally:
                adding.release()
                done.set()

        threading.Thread(target=run, daemon=True).start()
        shown = -1
        while not done.wait(0.5):
            if len(lines) != shown:
                shown = len(lines)
                yield "**Adding…**\n" + "\n".join(lines), gr.skip()
        if "error" in result:
            raise gr.Error(f"Adding failed ({result['error']}); nothing stored was lost.")
        r = result["report"]
        for f in r.failed:  # a file that did not go in is not kept
            path = Path(f.source)
            if path.parent == folder and path in inputs:
                path.unlink(missing_ok=True)
        summary = (
            f"**Done.** Added {r.added}, updated {r.updated}, unchanged {r.unchanged}, "
            f"duplicate {r.duplicate}, failed {len(r.failed)}; {r.chunks} chunks. "
            "New documents can be asked about now."
        )
        failures = [f"- failed: {name(f.source)}: {f.reason}" for f in r.failed]
        text = "\n".join([summary, *lines, *failures])
        yield text, gr.update(choices=bot.retriever.sites())

    add.__annotations__["request"] = gr.Request

    with gr.Tab("Add documents") as tab:
        gr.Markdown(
            "Upload articles (" + ", ".join(SUPPORTED_SUFFIXES) + f"; up to "
            f"{settings.max_file_mb:g} MB each) or paste the address of a page or "
            "an RSS/Atom feed."
        )
        files = gr.File(
            None,
            file_count="multiple",
            file_types=list(SUPPORTED_SUFFIXES),
            label="Files",
            elem_id="upload",
        )
        url = gr.Textbox("", label="URL or feed", placeholder="https://…", elem_id="url")
        go = gr.Button("Add to the corpus", variant="primary", elem_id="add-docs")
        log = gr.Markdown(elem_id="ingest-log", label="Summary")
        go.click(add, [files, url], [log, sites], api_name="add_documents", concurrency_limit=1)
    return tab


def create_server(bot: ChatBot, db=None, feedback=None, accounts: Accounts | None = None):
    """The FastAPI app serving the chat at `/` and the OpenAI-compatible API at `/v1`."""
    import gradio as gr
    from fastapi import FastAPI

    from .openai_api import router

    settings = bot.settings
    gate = Gate(settings.workers, settings.queue_size)
    # One count of each user's questions for the chat and the API together.
    per_user = RateLimit(settings.rate_per_minute if accounts else 0)
    demo = build_app(bot, gate, feedback, db, accounts, per_user)
    # Questions are admitted by the gate; the rest (ratings, uploads) wait in Gradio's queue.
    demo.queue(default_concurrency_limit=1, max_size=4 * settings.queue_size)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(
        router(
            bot,
            gate,
            settings.max_question_chars,
            accounts,
            per_user,
        )
    )
    return gr.mount_gradio_app(
        app,
        demo,
        path="",
        css=_CSS,
        head=_HEAD,
        show_error=False,
        auth=accounts.check_password if accounts is not None else None,
        auth_message="Partnerbot: log in with your account.",
        max_file_size=f"{settings.max_file_mb:g}mb",
        footer_links=["api"],
    )


def _terminal():
    """The process's stdout as it is now, on a descriptor of its own: llama.cpp points fds 1
    and 2 at /dev/null while it loads a model (in a thread here), which would swallow what
    other threads print meanwhile. Plain stdout where it has no descriptor."""
    try:
        return os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    except (AttributeError, OSError, ValueError):
        return sys.stdout


def _print_progress(library, out, every: float = 10.0) -> None:
    """The library's progress on the terminal, every `every` seconds until it is done."""
    while not library.wait(every):
        print(f"built-in library: {library.status()}", file=out, flush=True)
    print(f"built-in library: {library.status()}", file=out, flush=True)


def serve(
    store: str | Path | None = None,
    corpus: str | Path | None = None,
    host: str = "127.0.0.1",
    port: int | None = None,
    settings=None,
    no_auth: bool = False,
) -> None:
    """Serve the chat and the API; ingest `corpus` first when the store is empty.

    Logins are on when the accounts file holds a user; without one, only a loopback host may
    be served, unless `no_auth`."""
    import uvicorn

    from ingest import get_settings
    from ingest.library import Library
    from ingest.store import open_store

    from .feedback import FeedbackLog

    settings = settings or get_settings()
    port = port or settings.port
    accounts = Accounts(settings.accounts_db)
    logins = login_required(host, accounts, no_auth)  # before anything slow: it may refuse
    if no_auth and host not in LOOPBACK_HOSTS:
        print(
            f"warning: serving on {host} with no logins (--no-auth): anyone who can reach "
            "it can ask, add and replace documents",
            file=sys.stderr,
            flush=True,
        )
    # An embedded store (a directory) has one writer, this app, for its lifetime: a concurrent
    # `partnerbot ingest` is told who holds it. A Chroma server may be shared by several
    # replicas: each takes the server's writer lock only while it adds documents.
    shared = store is None and bool(settings.chroma_url)
    db = open_store(store, settings, write=not shared)
    # The built-in library is indexed in the background: the chat serves at once and answers
    # from what is indexed so far. A restart resumes; a complete store is left alone.
    library = Library(corpus, db, settings, pause=lambda: bot.busy()) if corpus else None
    if library is not None and not library.needed():
        library = None
    bot = ChatBot(store=db, settings=settings, library=library)
    terminal = _terminal()
    if library is not None:
        library.start()
        threading.Thread(target=_print_progress, args=(library, terminal), daemon=True).start()
    if bot.backend == "local":
        # Load the model while the page opens, not on the first question.
        threading.Thread(target=lambda: bot.llm, daemon=True).start()
    app = create_server(
        bot,
        db=db,
        feedback=FeedbackLog(settings.feedback_db),
        accounts=accounts if logins else None,
    )
    print(
        f"Partnerbot: chat at http://{host}:{port}/ , OpenAI-compatible API at "
        f"http://{host}:{port}/v1",
        file=terminal,
        flush=True,
    )
    # Open event streams must not keep a stopping server alive.
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=3)
    finally:
        if terminal is not sys.stdout:
            terminal.close()
