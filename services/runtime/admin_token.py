"""The first admin token: created when the service starts on a data folder with no token.

It is the token ``PDL_ADMIN__TOKEN`` (or ``PDL_ADMIN__TOKEN_FILE``) gives, or else a random
one written to ``<data dir>/admin-token`` with mode 0600, so it never lands in a log that
collects stdout; it is printed only when asked (``pdl serve --print-admin-token``).
"""

import os
from pathlib import Path

from services.identity.tokens import Role, TokenStore, new_token
from services.runtime.settings import Settings

#: How every line announcing a first admin token starts.
CREATED = "Created admin token"


def create_first_admin(tokens: TokenStore, settings: Settings, *, show: bool = False) -> None:
    """With no token at all, create the ``admin`` token and say where it is (stdout)."""
    if tokens.count() > 0:
        return
    given = settings.admin.token
    if given is not None:
        tokens.create("admin", Role.admin, given.get_secret_value())
        print(f"{CREATED} 'admin' from PDL_ADMIN__TOKEN.", flush=True)
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
