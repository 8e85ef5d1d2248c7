"""The first admin token: created when the service starts with no token at all.

It is the token ``PDL_BOOTSTRAP__ADMIN_TOKEN_FILE`` (or ``PDL_ADMIN__TOKEN``) gives. Without
one, on SQLite (one host), a random one is written to ``<data dir>/admin-token`` with mode
0600, so it never lands in a log that collects stdout; it is printed only when asked
(``pdl serve --print-admin-token``). On PostgreSQL no replica makes one of its own (each
would make another): the first admin comes from the secret file, or from
``pdl token create --role admin NAME`` run once against the database.
"""

import logging
import os
from pathlib import Path

from services.identity.pg_stores import PgTokenStore
from services.identity.tokens import Role, TokenNameTaken, TokenStore, new_token
from services.runtime.settings import Settings

log = logging.getLogger(__name__)

#: How every line announcing a first admin token starts.
CREATED = "Created admin token"


def create_first_admin(tokens: TokenStore | PgTokenStore, settings: Settings, *,
                       show: bool = False) -> None:
    """With no token at all, create the ``admin`` token and say where it is (stdout)."""
    if tokens.count() > 0:
        return
    given, source = settings.bootstrap.admin_token, "PDL_BOOTSTRAP__ADMIN_TOKEN"
    if given is None:
        given, source = settings.admin.token, "PDL_ADMIN__TOKEN"
    if given is not None:
        try:
            tokens.create("admin", Role.admin, given.get_secret_value())
        except TokenNameTaken:
            return  # another replica, starting at the same time, created it
        print(f"{CREATED} 'admin' from {source}.", flush=True)
        return
    if settings.postgres:
        log.warning("No token exists yet. Create the first admin once, for every replica: "
                    "`pdl token create --role admin NAME` with the same PDL_STORE__DSN, or "
                    "start with PDL_BOOTSTRAP__ADMIN_TOKEN_FILE.")
        return
    token, path = new_token(), settings.admin_token_path
    write_private(path, token + "\n")  # before it counts: a crash in between loses nothing
    tokens.create("admin", Role.admin, token)
    if show or settings.admin.print_token:
        print(f"{CREATED} (also in {path}): {token}", flush=True)
    else:
        print(f"{CREATED} 'admin'; only in the file (mode 0600): {path}", flush=True)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only, replacing it whole."""
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        os.fchmod(file.fileno(), 0o600)  # whatever the umask
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, path)
