"""Accounts of a shared server: roles, hashed passwords, API keys, and a real app process
that asks for them (extractive answers: no LLM needed)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from bot.interfaces.accounts import Accounts, RateLimit, User, login_required

from .conftest import CORPUS, ROOT, child_env, served
from .scripted import QUESTION

pytestmark = pytest.mark.security

PASSWORD = "correct horse battery"


def test_users_roles_passwords_and_keys(tmp_path):
    accounts = Accounts(tmp_path / "accounts.sqlite")
    assert not accounts and accounts.users() == []
    key = accounts.add("rita", PASSWORD, "reader")
    editor_key = accounts.add("ed", PASSWORD, "editor")
    assert key.startswith("pb_") and key != editor_key
    assert [u["name"] for u in accounts.users()] == ["ed", "rita"]
    assert accounts.check_password("rita", PASSWORD)
    assert not accounts.check_password("rita", PASSWORD + "!")
    assert not accounts.check_password("nobody", PASSWORD)
    assert accounts.user_for_key(key) == User("rita", "reader")
    assert accounts.user_for_key("pb_guess") is None and accounts.user_for_key("") is None
    assert User("ed", "editor").can("reader") and not User("rita", "reader").can("editor")
    # Nothing secret is stored as given.
    raw = (tmp_path / "accounts.sqlite").read_bytes()
    assert PASSWORD.encode() not in raw and key.encode() not in raw
    new = accounts.new_key("rita")
    assert accounts.user_for_key(key) is None and accounts.user_for_key(new).name == "rita"
    for args, field in [
        (("rita", PASSWORD), "exists already"),
        (("a b", PASSWORD), "name:"),
        (("x", "short"), "password: at least"),
        (("y", PASSWORD, "root"), "role:"),
        (("z", "é" * 40), "at most 72 bytes"),
    ]:
        with pytest.raises(ValueError, match=field):
            accounts.add(*args)
    assert accounts.remove("rita") and not accounts.remove("rita")


def test_network_host_needs_accounts_or_no_auth(tmp_path):
    empty = Accounts(tmp_path / "none.sqlite")
    assert login_required("127.0.0.1", empty, no_auth=False) is False
    with pytest.raises(SystemExit, match="refusing to serve on 0.0.0.0 without accounts"):
        login_required("0.0.0.0", empty, no_auth=False)
    assert login_required("0.0.0.0", empty, no_auth=True) is False
    full = Accounts(tmp_path / "some.sqlite")
    full.add("admin", PASSWORD, "admin")
    assert login_required("127.0.0.1", full, no_auth=False) is True
    # The command refuses before loading anything.
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.interfaces.cli",
            "serve",
            "--host",
            "0.0.0.0",
            "--store",
            str(tmp_path / "store"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=child_env(PARTNERBOT_ACCOUNTS_DB=str(tmp_path / "none.sqlite")),
    )
    assert run.returncode != 0 and "without accounts" in run.stderr
    assert not (tmp_path / "store").exists()


def test_rate_limit_counts_each_user_alone():
    limit = RateLimit(2)
    assert limit.allow("a") and limit.allow("a") and not limit.allow("a")
    assert limit.allow("b")
    assert all(RateLimit(0).allow("a") for _ in range(100))


def test_users_command(tmp_path):
    db = tmp_path / "accounts.sqlite"

    def users(*args, stdin=""):
        return subprocess.run(
            [sys.executable, "-m", "bot.interfaces.cli", "users", *args, "--db", str(db)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            input=stdin,
            timeout=120,
            env=child_env(),
        )

    added = users("add", "ed", "--role", "editor", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip().rsplit(" ", 1)[-1]
    assert Accounts(db).user_for_key(key) == User("ed", "editor")
    again = users("add", "ed", "--password-stdin", stdin=PASSWORD + "\n")
    assert again.returncode == 2 and "exists already" in again.stderr
    listed = users("list", "--json")
    assert json.loads(listed.stdout)[0] | {"created": None} == {
        "name": "ed",
        "role": "editor",
        "created": None,
    }
    assert users("remove", "ed").returncode == 0 and users("remove", "ed").returncode == 1


@pytest.fixture(scope="module")
def locked_server(tmp_path_factory):
    """`partnerbot serve` with accounts: a reader and an editor."""
    from ingest import ingest_paths

    home = tmp_path_factory.mktemp("accounts")
    accounts = Accounts(home / "accounts.sqlite")
    keys = {
        "rita": accounts.add("rita", PASSWORD, "reader"),
        "ed": accounts.add("ed", PASSWORD, "editor"),
    }
    store = home / "store"
    assert ingest_paths([CORPUS], store=store).added == 1
    with served(
        ["-m", "bot.interfaces.cli", "serve", "--store", str(store)],
        home,
        PARTNERBOT_BACKEND="extractive",
        PARTNERBOT_RATE_PER_MINUTE="5",
        PARTNERBOT_ACCOUNTS_DB=str(home / "accounts.sqlite"),
        PARTNERBOT_UPLOADS=str(home / "uploads"),
        PARTNERBOT_FEEDBACK_DB=str(home / "feedback.sqlite"),
    ) as (url, _):
        yield {"url": url, "keys": keys, "home": home}


def _api(url: str, key: str | None, question: str = QUESTION) -> tuple[int, dict]:
    body = json.dumps(
        {"model": "partnerbot", "messages": [{"role": "user", "content": question}]}
    ).encode()
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url + "/v1/chat/completions", data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_api_needs_a_key_and_limits_each_user(locked_server):
    url, keys = locked_server["url"], locked_server["keys"]
    assert _api(url, None)[0] == 401
    assert _api(url, "pb_not-a-real-key")[0] == 401
    status, reply = _api(url, keys["rita"])
    assert status == 200 and reply["citations"], reply
    statuses = [_api(url, keys["rita"])[0] for _ in range(5)]  # the limit is 5 a minute
    assert statuses.count(429) >= 1 and statuses[0] == 200
    assert _api(url, keys["ed"])[0] == 200  # another user is not held back


def test_web_chat_needs_a_login_and_only_editors_add(locked_server, tmp_path):
    from gradio_client import Client, handle_file

    url = locked_server["url"] + "/"
    with pytest.raises(Exception, match="credentials were not provided. Please login"):
        Client(url, verbose=False).predict(QUESTION, api_name="/ask")
    with pytest.raises(ValueError, match="Could not login"):
        Client(url, auth=("rita", "wrong password"), verbose=False)
    for path in ("config", "gradio_api/info"):  # the app's description is closed too
        with pytest.raises(urllib.error.HTTPError, match="401"):
            urllib.request.urlopen(url + path, timeout=10)
    reader = Client(url, auth=("rita", PASSWORD), verbose=False)
    doc = tmp_path / "accord.txt"
    doc.write_text(
        "Title: Accord\n\nThe Zanzibar Accord was signed in Tallinn in 2026 by "
        "NATO and Freedonia.\n"
    )
    with pytest.raises(Exception, match="needs an editor account"):
        reader.predict([handle_file(str(doc))], "", api_name="/add_documents")
    editor = Client(url, auth=("ed", PASSWORD), verbose=False)
    summary, _ = editor.predict([handle_file(str(doc))], "", api_name="/add_documents")
    assert "Added 1" in summary
    # Kept under the uploader's own folder: another user's accord.txt cannot replace it.
    assert (locked_server["home"] / "uploads" / "ed" / "accord.txt").is_file()


def test_ratings_carry_their_user(tmp_path):
    from bot.interfaces.feedback import FeedbackLog

    path = tmp_path / "feedback.sqlite"
    with sqlite3.connect(path) as db:  # a file from before ratings carried a user
        db.execute(
            "CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, created TEXT "
            "NOT NULL, rating TEXT NOT NULL, comment TEXT NOT NULL DEFAULT '', question "
            "TEXT NOT NULL, answer TEXT NOT NULL, abstained INTEGER NOT NULL, citations "
            "TEXT NOT NULL)"
        )
    log = FeedbackLog(path)
    log.record(
        "up", {"question": "q", "text": "a", "abstained": False, "citations": []}, user="rita"
    )
    assert [r["user"] for r in log.export()] == ["rita"]
