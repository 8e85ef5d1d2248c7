"""Bearer tokens: who is calling, and what their role lets them do.

A token is 32 random bytes (256 bits) from :mod:`secrets`, shown once when it is
created. Only its SHA-256 digest is stored: with that much entropy nobody can
guess a token from its digest, so a slow password hash (bcrypt, scrypt) would add
cost without adding safety. Digests are compared with :func:`hmac.compare_digest`.
"""

import hashlib
import hmac
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from services.identity import service_db

TOKEN_PREFIX = "pdl_"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$"


class Role(StrEnum):
    """What a token may do; each role includes the ones before it."""

    viewer = "viewer"
    editor = "editor"
    admin = "admin"

    def allows(self, needed: "Role") -> bool:
        return ROLE_ORDER.index(self) >= ROLE_ORDER.index(needed)


ROLE_ORDER = [Role.viewer, Role.editor, Role.admin]


class TokenNameTaken(Exception):
    """A token with that name already exists."""


class LastAdminToken(Exception):
    """Revoking this token would leave nobody able to manage tokens."""


@dataclass(frozen=True)
class Identity:
    """The caller a token stands for; ``name`` is the actor recorded in events."""

    name: str
    role: Role
    created_at: str


def digest(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh, unguessable token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
)
"""


class TokenStore:
    """Tokens in a SQLite file, safe to share between threads and processes.

    Every request is authenticated against the file itself, not a copy in memory, so a
    token revoked by any process (``DELETE /tokens/{name}``, another server on the same
    data dir) is refused by the very next request everywhere. The lookup is an indexed
    read of a few microseconds on its own connection: in WAL mode it never waits for a
    writer, so the HTTP layer runs it on the event loop. (A cache in front would save
    those microseconds at the price of a window in which a revoked token still works.)
    """

    def __init__(self, path: Path) -> None:
        self._db = service_db.connect(path, SCHEMA)
        self._lock = threading.Lock()
        self._reader = service_db.connect(path)
        self._read_lock = threading.Lock()

    def close(self) -> None:
        with self._lock, self._read_lock:
            self._reader.close()
            self._db.close()

    def create(self, name: str, role: Role, token: str | None = None) -> tuple[str, Identity]:
        """Create a token named ``name`` (``token``: its value, else a fresh one); returns
        the token itself (it is not stored)."""
        token = token or new_token()
        identity = Identity(name=name, role=role, created_at=datetime.now(tz=UTC).isoformat())
        try:
            with self._lock:
                self._db.execute(
                    "INSERT INTO tokens (name, role, token_sha256, created_at) VALUES (?, ?, ?, ?)",
                    (name, role.value, digest(token), identity.created_at),
                )
        except sqlite3.IntegrityError:
            raise TokenNameTaken(f"A token named '{name}' already exists.") from None
        return token, identity

    def authenticate(self, token: str) -> Identity | None:
        """The identity behind ``token``, or ``None`` when it is unknown or revoked."""
        wanted = digest(token)
        with self._read_lock:
            row = self._reader.execute(
                "SELECT name, role, token_sha256, created_at FROM tokens WHERE token_sha256 = ?",
                (wanted,),
            ).fetchone()
        if row is None or not hmac.compare_digest(row[2], wanted):
            return None
        return Identity(name=row[0], role=Role(row[1]), created_at=row[3])

    def list(self) -> list[Identity]:
        """Every token's name, role and creation time (never the token)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT name, role, created_at FROM tokens ORDER BY name"
            ).fetchall()
        return [Identity(name=n, role=Role(r), created_at=c) for n, r, c in rows]

    def revoke(self, name: str) -> bool:
        """Delete the token named ``name``; ``False`` when there was none. The last admin
        token is never deleted (:class:`LastAdminToken`): the check and the delete are one
        transaction, so two admins revoking each other cannot both succeed."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")  # the write lock, before reading
            try:
                row = self._db.execute("SELECT role, (SELECT COUNT(*) FROM tokens WHERE "
                                       "role = 'admin') FROM tokens WHERE name = ?",
                                       (name,)).fetchone()
                if row is not None and row[0] == Role.admin.value and row[1] <= 1:
                    raise LastAdminToken(
                        f"'{name}' is the last admin token: create another admin token "
                        "before revoking this one, or nobody could manage tokens.")
                if row is not None:
                    self._db.execute("DELETE FROM tokens WHERE name = ?", (name,))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return row is not None

    def count(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT COUNT(*) FROM tokens").fetchone()
        return int(n)
