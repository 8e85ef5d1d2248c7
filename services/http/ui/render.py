"""Turning a page into HTML: the Jinja environment, its filters, the security headers and
the static files, all served by the service itself (no CDN, no build step).

Every template is autoescaped, so whatever a person typed (``<script>``, quotes, Markdown)
is shown as text. Scripts and styles live in static files only, which the
Content-Security-Policy (:data:`CSP`) enforces: no inline script, no inline style.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from projections.search import snippet_parts

HERE = Path(__file__).parent
STATIC = HERE / "static"

#: Sent with every page: scripts, styles, images, forms and fetches from this service only.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
#: Pages show data a token may read: never kept by a shared cache, nor by the browser.
NO_STORE = {"Cache-Control": "no-store"}
MEDIA_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
               ".svg": "image/svg+xml"}


@dataclass(frozen=True)
class Page:
    """A page to render: its template, what it shows, and the HTTP status it answers with."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)
    status: int = 200


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    version: str


def _assets() -> dict[str, Asset]:
    found = {}
    for path in sorted(STATIC.iterdir()):
        if path.suffix in MEDIA_TYPES:
            body = path.read_bytes()
            found[path.name] = Asset(body, MEDIA_TYPES[path.suffix],
                                     hashlib.sha256(body).hexdigest()[:12])
    return found


ASSETS = _assets()


def static_url(name: str) -> str:
    """The URL of a static file, with its content hash so that a new version is fetched."""
    return f"/ui/static/{name}?v={ASSETS[name].version}"


def asset_response(name: str) -> Response:
    asset = ASSETS.get(name)
    if asset is None:
        return Response("Not found", status_code=404, media_type="text/plain",
                        headers=SECURITY_HEADERS)
    return Response(asset.body, media_type=asset.media_type,
                    headers={**SECURITY_HEADERS, "Cache-Control": "public, max-age=86400"})


# Filters: how values read on a page


def when(value: str | datetime | None) -> str:
    """An instant as a person reads it, in UTC: ``2027-03-01 14:05 UTC``."""
    if value is None or value == "":
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(value: str | datetime | date | None) -> str:
    """An instant as machine-readable text (for ``<time datetime>``)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else value.isoformat()


def picker(value: str | datetime | None) -> str:
    """An instant as the value of a ``datetime-local`` input (UTC, to the second)."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def web_link(value: str) -> str | None:
    """``value`` when it is an http(s) URL that may be a link, else None (shown as text):
    evidence such as ``javascript:…`` never becomes a link."""
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    return value.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def number(value: float | int | None) -> str:
    """A priority or score without a needless ``.0``."""
    if value is None:
        return ""
    return f"{value:g}"


def label(value: str | None) -> str:
    """``in_progress`` -> ``in progress``."""
    return (value or "").replace("_", " ")


def query(base: str, **params: Any) -> str:
    """``base`` with the parameters that have a value, as a query string."""
    given = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{base}?{urlencode(given)}" if given else base


ENTITY_PAGES = {"product": "products", "feature": "features", "release": "releases",
                "decision": "decisions"}


def entity_url(kind: str, entity_id: str) -> str:
    return f"/ui/{ENTITY_PAGES[kind]}/{entity_id}" if kind in ENTITY_PAGES else "/ui"


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      auto_reload=False)
    env.filters.update(when=when, iso=iso, picker=picker, web_link=web_link, number=number,
                       label=label, snippet_parts=snippet_parts)
    env.globals.update(static=static_url, query=query, entity_url=entity_url)
    return env


ENVIRONMENT = _environment()


def html(page: Page, base: dict[str, Any]) -> HTMLResponse:
    """The page rendered with ``base`` (who is signed in, the CSRF token) and its headers."""
    body = ENVIRONMENT.get_template(page.template).render({**base, **page.context})
    return HTMLResponse(body, status_code=page.status, headers={**SECURITY_HEADERS, **NO_STORE})


def redirect(location: str, headers: dict[str, str] | None = None) -> RedirectResponse:
    """``303 See Other``: after a form, the browser GETs the page it lands on."""
    return RedirectResponse(location, status_code=303,
                            headers={**SECURITY_HEADERS, **NO_STORE, **(headers or {})})
