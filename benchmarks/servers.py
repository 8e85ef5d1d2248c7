"""The two HTTP servers the HTTP benchmarks compare, each run in its own process.

- ``bare``: a bare FastAPI app — ``/hello`` returns a hello JSON (GET or POST), ``/row/{id}``
  returns a precomputed JSON row from SQLite.
- ``ours``: the decision log API (``services.http.app.create_app``) over an existing data dir.

Both are served by uvicorn with the same options (one worker, access log off), so the only
difference is the application. ``python -m benchmarks.servers bare|ours PORT DATA_DIR``.
"""

import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Response

ROWS_DB = "rows.db"


def bare_app(data_dir: Path) -> FastAPI:
    app = FastAPI()
    local = threading.local()

    def rows() -> sqlite3.Connection:
        if not hasattr(local, "conn"):
            local.conn = sqlite3.connect(data_dir / ROWS_DB)
        conn: sqlite3.Connection = local.conn
        return conn

    @app.get("/hello")
    @app.post("/hello")
    def hello() -> dict[str, Any]:
        return {"hello": "world"}

    @app.get("/row/{row_id}")
    def row(row_id: str) -> Response:
        found = rows().execute("SELECT body FROM rows WHERE id = ?", (row_id,)).fetchone()
        return Response(found[0], media_type="application/json")

    return app


def our_app(data_dir: Path) -> FastAPI:
    from services.http.app import create_app
    from services.runtime.service import build_runtime
    from services.runtime.settings import Settings

    return create_app(build_runtime(Settings(data_dir=data_dir)))


def main() -> None:
    kind, port, data_dir = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    app = bare_app(data_dir) if kind == "bare" else our_app(data_dir)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
