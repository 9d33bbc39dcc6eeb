"""Accounts for a shared server: users with a role, a bcrypt-hashed password and an API key.

Roles, each allowed what the one before it is:
- `reader` asks questions (web chat, `/v1` with `Authorization: Bearer <key>`) and rates answers;
- `editor` also adds documents in the web chat;
- `admin` also manages users (`partnerbot users ...`) and exports ratings.

One SQLite file (`PARTNERBOT_ACCOUNTS_DB`). API keys are shown once, when made, and stored as
their SHA-256 (a 256-bit random key needs no slow hash); passwords are stored as bcrypt hashes.
`partnerbot serve` turns logins on when the file holds a user.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import threading
import time
from collections import defaultdict, deque
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROLES = ("reader", "editor", "admin")
KEY_PREFIX = "pb_"
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_BYTES = 72  # bcrypt reads no further; longer passwords are refused, not cut
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_SCHEMA = """CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('reader', 'editor', 'admin')),
    password TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL
)"""


@dataclass(frozen=True)
class User:
    name: str
    role: str

    def can(self, role: str) -> bool:
        """Whether this user has `role` or a higher one."""
        return ROLES.index(self.role) >= ROLES.index(role)


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


class Accounts:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    @contextmanager
    def _connect(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10)
        try:
            with db:
                db.execute(_SCHEMA)
                yield db
        finally:
            db.close()

    def add(self, name: str, password: str, role: str = "reader") -> str:
        """Create a user; returns their API key (shown once). ValueError names the bad field."""
        if not _NAME.match(name or ""):
            raise ValueError(
                f"name: {name!r} must be 1-64 letters, digits or . _ @ -, "
                "starting with a letter or digit"
            )
        if role not in ROLES:
            raise ValueError(f"role: {role!r} is not one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD_CHARS:
            raise ValueError(f"password: at least {MIN_PASSWORD_CHARS} characters")
        if len(password.encode()) > MAX_PASSWORD_BYTES:
            raise ValueError(f"password: at most {MAX_PASSWORD_BYTES} bytes")
        import bcrypt

        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self._lock, self._connect() as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise ValueError(f"name: a user {name!r} exists already")
            db.execute(
                "INSERT INTO users VALUES (?, ?, ?, ?, ?)",
                (name, role, hashed, _key_hash(key), time.strftime("%Y-%m-%dT%H:%M:%S%z")),
            )
        return key

    def remove(self, name: str) -> bool:
        with self._lock, self._connect() as db:
            return db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount > 0

    def new_key(self, name: str) -> str:
        """Replace a user's API key (the old one stops working); the new key."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self._lock, self._connect() as db:
            if not db.execute(
                "UPDATE users SET key_hash = ? WHERE name = ?", (_key_hash(key), name)
            ).rowcount:
                raise ValueError(f"name: no user {name!r}")
        return key

    def users(self) -> list[dict]:
        if not self.path.is_file():
            return []
        with self._connect() as db:
            return [
                {"name": n, "role": r, "created": c}
                for n, r, c in db.execute("SELECT name, role, created FROM users ORDER BY name")
            ]

    def __bool__(self) -> bool:
        return bool(self.users())

    def user(self, name: str) -> User | None:
        if not self.path.is_file():
            return None
        with self._connect() as db:
            row = db.execute("SELECT name, role FROM users WHERE name = ?", (name,)).fetchone()
        return User(*row) if row else None

    def check_password(self, name: str, password: str) -> bool:
        import bcrypt

        if not self.path.is_file():
            return False
        with self._connect() as db:
            row = db.execute("SELECT password FROM users WHERE name = ?", (name,)).fetchone()
        encoded = (password or "").encode()
        if row is None or len(encoded) > MAX_PASSWORD_BYTES:
            return False
        return bcrypt.checkpw(encoded, row[0].encode())

    def user_for_key(self, key: str) -> User | None:
        if not key.startswith(KEY_PREFIX) or not self.path.is_file():
            return None
        with self._connect() as db:
            row = db.execute(
                "SELECT name, role FROM users WHERE key_hash = ?", (_key_hash(key),)
            ).fetchone()
        return User(*row) if row else None


class RateLimit:
    """At most `per_minute` questions per user in any 60 seconds (0: no limit)."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self._times: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, who: str) -> bool:
        if self.per_minute <= 0:
            return True
        now = time.monotonic()
        with self._lock:
            times = self._times[who]
            while times and now - times[0] > 60:
                times.popleft()
            if len(times) >= self.per_minute:
                return False
            times.append(now)
            return True


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def login_required(host: str, accounts: Accounts, no_auth: bool) -> bool:
    """Whether the server asks for logins; SystemExit when it may not start at all.

    With users in the accounts file, logins are on unless `no_auth`. Without users, a server
    on a loopback address starts open (one person's laptop); on any other address it refuses
    to start unless `no_auth` says the operator means it."""
    if no_auth:
        return False
    if accounts:
        return True
    if host in LOOPBACK_HOSTS:
        return False
    raise SystemExit(
        f"error: refusing to serve on {host} without accounts: anyone who can "
        "reach it could read and change the corpus. Add a user first "
        "(partnerbot users add NAME --role admin), or pass --no-auth."
    )
