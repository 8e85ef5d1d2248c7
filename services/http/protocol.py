"""The HTTP/1.1 protocol ``pdl serve`` runs: uvicorn's h11 protocol, answering a request head
too large to parse with ``414`` or ``431`` rather than a reset connection.

The server buffers at most :data:`MAX_HEAD_BYTES` of a request head (h11's
``max_incomplete_event_size``); smaller heads reach the app, where
:class:`services.http.middleware.HeadLimits` holds them to tighter limits. A larger head makes
uvicorn answer ``400`` and close the connection while the client is still sending: the kernel
then resets the connection, and the client never reads the answer. Here the answer is a
problem document (``414`` if the request line alone is too long, else ``431``), and the
connection is closed the lingering way: the server stops writing, then reads and drops what
the client still sends (up to :data:`MAX_DRAIN_BYTES`, for at most :data:`LINGER_S`), so the
client finishes sending and reads the answer.
"""

import json
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from services.http.middleware import HEADERS_TOO_LARGE, MAX_URL_BYTES, URL_TOO_LONG
from services.http.problems import MEDIA_TYPE, TYPE_PREFIX

#: The largest request head the server reads (h11's ``max_incomplete_event_size``).
MAX_HEAD_BYTES = 64 * 1024
#: How long, and how much, a refused client may go on sending before the server closes.
LINGER_S = 5.0
MAX_DRAIN_BYTES = 16 * 1024 * 1024


class LimitedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, answering an oversize request head with a problem document."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.draining: int | None = None  # bytes dropped since the answer, once refused

    def data_received(self, data: bytes) -> None:
        if self.draining is None:
            return super().data_received(data)
        self.draining += len(data)
        if self.draining > MAX_DRAIN_BYTES:
            self.transport.close()
        return None

    def send_400_response(self, msg: str) -> None:
        head, _ = self.conn.trailing_data
        if len(head) <= MAX_HEAD_BYTES:
            return super().send_400_response(msg)  # malformed, not too large
        line_end = head.find(b"\r\n")
        status, slug, title, detail = (
            URL_TOO_LONG if line_end < 0 or line_end > MAX_URL_BYTES else HEADERS_TOO_LARGE)
        body = json.dumps({"type": TYPE_PREFIX + slug, "title": title, "status": status,
                           "detail": detail}).encode()
        headers = [(b"content-type", MEDIA_TYPE.encode()), (b"connection", b"close"),
                   (b"content-length", str(len(body)).encode())]
        self.transport.write(self.conn.send(h11.Response(status_code=status, headers=headers))
                             or b"")
        self.transport.write(self.conn.send(h11.Data(data=body)) or b"")
        self.transport.write(self.conn.send(h11.EndOfMessage()) or b"")
        self.logger.warning("Refused a request head over %d bytes (%d)", MAX_HEAD_BYTES, status)
        self.draining = 0
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_S, self.transport.close)
