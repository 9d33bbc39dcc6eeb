"""The `partnerbot` command: `ingest`, `docs`, `ask`, `eval`, `feedback`, `users`, `serve`. A thin adapter over ingest and ChatBot.

Exit codes: 0 success, 1 failure (some files failed, store unusable, model missing),
2 usage error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from ingest import cli as ingest_cli

BACKENDS = ("local", "openai", "ollama", "extractive")  # bot.chatbot.BACKENDS, without its imports


def _ask(args: argparse.Namespace) -> int:
    from ..answers import text_deltas
    from ..chatbot import ChatBot
    from ..model_file import ModelUnavailableError

    history = list(zip(args.history[0::2], args.history[1::2])) if args.history else None
    # An empty store is reported once, below, as the answer (not also as ChatBot's warning).
    logging.getLogger("bot.chatbot").addFilter(lambda r: "holds no documents" not in r.msg)
    try:
        bot = ChatBot(
            store=args.store, backend=args.backend, settings=ingest_cli.settings_from(args)
        )
        if args.json:
            print(json.dumps(bot.ask(args.question, history=history).to_dict(), ensure_ascii=False))
            return 0
        answer = None
        for piece in text_deltas(bot.events(args.question, history=history)):
            if isinstance(piece, str):
                print(piece, end="", flush=True)
            else:
                answer = piece
    except (*ingest_cli.STORE_ERRORS, ModelUnavailableError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print()
    if answer is None:  # the stream always ends with the answer
        return 1
    if answer.notice:
        print(f"note: {answer.notice}", file=sys.stderr)
    if answer.citations:
        print("\n" + answer.sources_text().replace("\n[", "\n\n["))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from ..evaluate import QuestionFileError, format_summary, run_eval

    if not args.questions.is_file():
        print(f"error: no such questions file: {args.questions}", file=sys.stderr)
        return 2
    if args.out:
        args.out.write_text("")
    try:  # the file is checked before anything is ingested
        summary = run_eval(
            args.questions,
            args.corpus,
            backend=args.backend,
            out=args.out,
            log=lambda line: print(line, file=sys.stderr, flush=True),
        )
    except QuestionFileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(summary) if args.json else format_summary(summary))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .web import serve

    try:
        serve(
            store=args.store,
            corpus=args.corpus,
            host=args.host,
            port=args.port,
            settings=ingest_cli.settings_from(args),
            no_auth=args.no_auth,
        )
    except ingest_cli.STORE_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _feedback_export(args: argparse.Namespace) -> int:
    from .feedback import FeedbackLog

    path = args.db or ingest_cli.settings_from(args).feedback_db
    if not path.is_file():
        print(f"error: no feedback file at {path}", file=sys.stderr)
        return 1
    for item in FeedbackLog(path).export():
        print(json.dumps(item, ensure_ascii=False))
    return 0


def _users(args: argparse.Namespace) -> int:
    import getpass

    from .accounts import Accounts

    accounts = Accounts(args.db or ingest_cli.settings_from(args).accounts_db)
    try:
        if args.action == "add":
            if args.password_stdin:
                password = sys.stdin.readline().rstrip("\n")
            else:
                password = getpass.getpass(f"password for {args.name}: ")
                if getpass.getpass("again: ") != password:
                    print("error: the passwords differ", file=sys.stderr)
                    return 2
            key = accounts.add(args.name, password, args.role)
            print(f"added {args.name} ({args.role}); API key for /v1 (shown once): {key}")
        elif args.action == "remove":
            if not accounts.remove(args.name):
                print(f"error: no user {args.name!r}", file=sys.stderr)
                return 1
            print(f"removed {args.name}")
        elif args.action == "key":
            print(
                f"new API key for {args.name} (the old one no longer works): "
                f"{accounts.new_key(args.name)}"
            )
        else:
            users = accounts.users()
            if args.json:
                print(json.dumps(users))
            for u in users if not args.json else []:
                print(f"{u['name']}\t{u['role']}\t{u['created']}")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="partnerbot", description="Cited answers about NATO partnerships."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p_ingest = sub.add_parser("ingest", help="add files, folders, URLs or feeds to the store")
    ingest_cli.add_store_argument(p_ingest)
    ingest_cli.add_arguments(p_ingest)
    p_ingest.set_defaults(func=lambda args: ingest_cli.run(args, p_ingest.error))

    p_docs = sub.add_parser("docs", help="list or remove stored documents")
    ingest_cli.add_docs_arguments(p_docs)
    p_docs.set_defaults(func=ingest_cli.run_docs)

    p_ask = sub.add_parser("ask", help="ask one question")
    ingest_cli.add_store_argument(p_ask)
    p_ask.add_argument("question")
    p_ask.add_argument(
        "--json", action="store_true", help='print {"text", "citations", "abstained"} as JSON'
    )
    p_ask.add_argument(
        "--backend",
        choices=BACKENDS,
        default=None,
        help="local (packaged LLM), openai (an OpenAI-compatible server), ollama, "
        "or extractive (no LLM); default: PARTNERBOT_BACKEND or local",
    )
    p_ask.add_argument(
        "--history",
        nargs="*",
        metavar="TURN",
        default=None,
        help="earlier turns as alternating question and answer",
    )
    p_ask.set_defaults(func=_ask)

    p_eval = sub.add_parser("eval", help="measure answers on a question set")
    p_eval.add_argument("questions", type=Path, metavar="QUESTIONS.jsonl")
    p_eval.add_argument(
        "--corpus",
        type=Path,
        nargs="+",
        default=[Path("corpus")],
        metavar="DIR",
        help="folders ingested into a temporary store (default: corpus/)",
    )
    p_eval.add_argument("--backend", choices=BACKENDS, default=None)
    p_eval.add_argument("--out", type=Path, default=None, help="write every answer as JSONL")
    p_eval.add_argument("--json", action="store_true", help="print the summary as JSON")
    p_eval.set_defaults(func=_eval)

    p_feedback = sub.add_parser("feedback", help="what web chat users rated")
    fb_sub = p_feedback.add_subparsers(dest="action", required=True)
    p_export = fb_sub.add_parser("export", help="print every rating as JSONL")
    p_export.add_argument(
        "--db", type=Path, default=None, help="feedback file (default: PARTNERBOT_FEEDBACK_DB)"
    )
    p_export.set_defaults(func=_feedback_export)

    p_users = sub.add_parser(
        "users", help="accounts of a shared server (roles: reader, editor, admin)"
    )
    users_sub = p_users.add_subparsers(dest="action", required=True)
    p_add = users_sub.add_parser("add", help="add a user; prints their API key once")
    p_add.add_argument("name")
    p_add.add_argument("--role", choices=("reader", "editor", "admin"), default="reader")
    p_add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin (else: prompt)",
    )
    p_remove = users_sub.add_parser("remove", help="remove a user")
    p_remove.add_argument("name")
    p_key = users_sub.add_parser("key", help="replace a user's API key")
    p_key.add_argument("name")
    p_list = users_sub.add_parser("list", help="list users and their roles")
    p_list.add_argument("--json", action="store_true")
    for p in (p_add, p_remove, p_key, p_list):
        p.add_argument(
            "--db", type=Path, default=None, help="accounts file (default: PARTNERBOT_ACCOUNTS_DB)"
        )
        p.set_defaults(func=_users)

    p_serve = sub.add_parser("serve", help="start the web chat")
    ingest_cli.add_store_argument(p_serve)
    p_serve.add_argument(
        "--port",
        type=int,
        default=None,
        help="port (default: PARTNERBOT_PORT, GRADIO_SERVER_PORT or 7860)",
    )
    p_serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on; other than loopback, accounts are "
        "required (partnerbot users add) unless --no-auth",
    )
    p_serve.add_argument(
        "--no-auth",
        action="store_true",
        help="serve without logins even on a network address (warns)",
    )
    p_serve.add_argument(
        "--corpus", type=Path, default=None, help="folder to ingest first when the store is empty"
    )
    p_serve.set_defaults(func=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "history", None) and len(args.history) % 2:
        print("error: --history takes pairs of question and answer", file=sys.stderr)
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
