"""The Gradio web chat: a thin adapter that renders `ChatBot.events` as a streaming chat and
a sources panel. The only module that imports gradio (lazily, with an install hint).
"""

from __future__ import annotations

import html
import threading
from pathlib import Path

from .chatbot import Answer, ChatBot, Done, Partial, Retrieved
from .retrieval import Passage

EXAMPLES = [
    "Which partners were not invited to the July 2021 meeting?",
    "Who hosted the first in-person meeting with NATO Partners at NATO HQ since the start of the pandemic?",
    "What did the Chair of the NATO Military Committee say about partners?",
]
MAX_QUESTION_CHARS = 2000

_CSS = """
#sources .src { border-left: 3px solid #888; padding: 4px 10px; margin: 0 0 12px 0; }
#sources .src .title { font-weight: 600; margin: 0 0 2px 0; }
#sources .meta { color: #666; font-size: 0.85em; margin-bottom: 4px; }
#sources mark { background: #fff3a3; padding: 0 2px; }
"""


def _link(url: str | None, text: str) -> str:
    if url and url.lower().startswith(("http://", "https://")):
        return (f'<a href="{html.escape(url, quote=True)}" target="_blank" '
                f'rel="noopener noreferrer">{html.escape(text)}</a>')
    return html.escape(text)


def _meta_line(date: str | None, source: str, url: str | None, page: int | None = None) -> str:
    bits = [html.escape(date or "undated"), html.escape(source)]
    if page:
        bits.append(f"p. {page}")
    if url:
        bits.append(_link(url, url))
    return '<div class="meta">' + " · ".join(bits) + "</div>"


def retrieved_html(passages: list[Passage]) -> str:
    if not passages:
        return "<p>No sources found in the store.</p>"
    items = [f'<div class="src"><div class="title">{_link(p.url, p.title)}</div>'
             f"{_meta_line(p.date, p.source, p.url)}</div>" for p in passages]
    return "<p><b>Retrieved — answering…</b></p>" + "".join(items)


def answer_html(answer: Answer) -> str:
    if answer.abstained:
        head = "<p><b>Not in the corpus.</b> No retrieved sentence answers this question.</p>"
        return head + "".join(
            f'<div class="src"><div class="title">{_link(p.url, p.title)}</div>'
            f"{_meta_line(p.date, p.source, p.url)}</div>" for p in answer.passages)
    items = []
    for c in answer.citations:
        items.append(
            f'<div class="src" id="source-{c.n}"><div class="title">[{c.n}] {_link(c.url, c.title)}</div>'
            f"{_meta_line(c.date, c.source, c.url, c.page)}"
            f"<blockquote><mark>{html.escape(c.quote)}</mark></blockquote></div>")
    return "<p><b>Sources</b></p>" + "".join(items)


def build_app(bot: ChatBot):
    try:
        import gradio as gr
    except ImportError as exc:  # pragma: no cover - gradio is a core dependency
        raise SystemExit("the web chat needs gradio: pip install -e .") from exc

    def respond(message: str, chat: list, turns: list):
        message = (message or "").strip()
        if not message:
            yield chat, gr.skip(), turns, ""
            return
        if len(message) > MAX_QUESTION_CHARS:
            raise gr.Error(f"The question is {len(message)} characters long; "
                           f"the limit is {MAX_QUESTION_CHARS}.")
        chat = chat + [{"role": "user", "content": message},
                       {"role": "assistant", "content": "…"}]
        yield chat, gr.skip(), turns, ""
        for event in bot.events(message, history=turns):
            if isinstance(event, Retrieved):
                yield chat, retrieved_html(event.passages), turns, ""
            elif isinstance(event, Partial):
                chat[-1] = {"role": "assistant", "content": event.text}
                yield chat, gr.skip(), turns, ""
            elif isinstance(event, Done):
                text = event.answer.text
                if event.answer.notice:
                    text = f"⚠ {event.answer.notice}\n\n{text}"
                chat[-1] = {"role": "assistant", "content": text}
                turns = turns + [(event.answer.question, event.answer.text)]
                yield chat, answer_html(event.answer), turns, ""

    def new_chat():
        return [], "<p>Sources appear here.</p>", [], ""

    with gr.Blocks(title="Partnerbot") as demo:
        gr.Markdown("## Partnerbot\nAnswers about NATO and its partners, quoted from the corpus.")
        turns = gr.State([])
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(elem_id="chat", label="Chat", height=480)
                question = gr.Textbox(elem_id="question", show_label=False, lines=1,
                                      placeholder="Ask about NATO partnerships…")
                with gr.Row():
                    ask = gr.Button("Ask", variant="primary", elem_id="ask")
                    clear = gr.Button("New chat", elem_id="new-chat")
                gr.Examples(EXAMPLES, inputs=question)
            with gr.Column(scale=2):
                sources = gr.HTML("<p>Sources appear here.</p>", elem_id="sources")
        outputs = [chat, sources, turns, question]
        ask.click(respond, [question, chat, turns], outputs, api_name="ask")
        question.submit(respond, [question, chat, turns], outputs, api_name=False)
        clear.click(new_chat, None, outputs, api_name=False)
    return demo, _CSS


def serve(store: str | Path | None = None, corpus: str | Path | None = None,
          host: str = "127.0.0.1", port: int | None = None, settings=None) -> None:
    """Serve the chat; ingest `corpus` first when the store is empty."""
    from ingest import get_settings, ingest_paths
    from ingest.store import open_store

    settings = settings or get_settings()
    port = port or settings.port
    # The app is the store's one writer for its lifetime (documents added through it go in
    # without a second writer); a concurrent `partnerbot ingest` is told who holds the store.
    db = open_store(store, settings, write=True)
    bot = ChatBot(store=db, settings=settings)
    if corpus is not None and bot.retriever.count() == 0:
        report = ingest_paths([corpus], settings=settings, db=db)
        print(f"ingested {corpus}: added {report.added}, {report.chunks} chunks, "
              f"failed {len(report.failed)}", flush=True)
    if bot.backend == "local":
        # Load the model while the page opens, not on the first question.
        threading.Thread(target=lambda: bot.llm, daemon=True).start()
    demo, css = build_app(bot)
    demo.queue(default_concurrency_limit=2, max_size=32)
    demo.launch(server_name=host, server_port=port, css=css, show_error=True)
