"""Thumbs up/down from the web chat, kept with the question, answer and citations they rate.

One SQLite file (`PARTNERBOT_FEEDBACK_DB`); `partnerbot feedback export` prints it as JSONL.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

_SCHEMA = """CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    abstained INTEGER NOT NULL,
    citations TEXT NOT NULL,
    user TEXT NOT NULL DEFAULT ''
)"""
MAX_COMMENT_CHARS = 2000


class FeedbackLog:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(_SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(feedback)")}
            if "user" not in columns:  # a file written before ratings carried their user
                db.execute("ALTER TABLE feedback ADD COLUMN user TEXT NOT NULL DEFAULT ''")

    @contextmanager
    def _connect(self):
        db = sqlite3.connect(self.path, timeout=10)
        try:
            with db:  # commits, or rolls back on error
                yield db
        finally:
            db.close()

    def record(self, rating: str, answer: dict, comment: str = "", user: str = "") -> int:
        """Store one rating of `answer` (`Answer.to_dict()` plus its `question`) by `user`
        (empty without logins); its id."""
        if rating not in ("up", "down"):
            raise ValueError(f"rating: {rating!r} is neither 'up' nor 'down'")
        with self._lock, self._connect() as db:
            cur = db.execute(
                "INSERT INTO feedback (created, rating, comment, question, answer, abstained, "
                "citations, user) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    rating,
                    comment[:MAX_COMMENT_CHARS],
                    answer["question"],
                    answer["text"],
                    int(answer["abstained"]),
                    json.dumps(answer["citations"], ensure_ascii=False),
                    user,
                ),
            )
            return cur.lastrowid

    def comment(self, feedback_id: int, text: str) -> None:
        with self._lock, self._connect() as db:
            db.execute(
                "UPDATE feedback SET comment = ? WHERE id = ?",
                (text[:MAX_COMMENT_CHARS], feedback_id),
            )

    def export(self) -> Iterator[dict]:
        """Every rating, oldest first."""
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            rows = [dict(r) for r in db.execute("SELECT * FROM feedback ORDER BY id")]
        for item in rows:
            item["abstained"] = bool(item["abstained"])
            item["citations"] = json.loads(item["citations"])
            yield item
