"""``/docs`` (Swagger UI) and ``/redoc``, with every script, style and image served by the
service itself: they work where the internet cannot be reached (no CDN, no web fonts).

The assets are the ones the ``fastapi-offline`` package ships (Swagger UI and ReDoc, MIT).
ReDoc's bundle names one image on a CDN (the "API docs by Redocly" logo); the copy served
here shows an empty inline image instead.
"""

from functools import cache
from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

#: Where the assets are served.
ASSETS = "/docs-assets"
STATIC = files("fastapi_offline") / "static"
#: The image ReDoc would fetch from its CDN, and what the served copy shows instead.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_IMAGE = "data:image/svg+xml,%3Csvg%20xmlns='http://www.w3.org/2000/svg'/%3E"


def install(app: FastAPI) -> None:
    """Serve ``/docs``, ``/redoc`` and their assets on ``app`` (made with
    ``docs_url=None, redoc_url=None``)."""
    assert app.openapi_url is not None
    spec, title = app.openapi_url, app.title

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=spec, title=f"{title} - Swagger UI",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png")

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=spec, title=f"{title} - ReDoc", redoc_js_url=f"{ASSETS}/redoc.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png", with_google_fonts=False)

    @app.get(f"{ASSETS}/redoc.js", include_in_schema=False)
    def redoc_script() -> Response:
        return Response(redoc_bundle(), media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})

    app.mount(ASSETS, StaticFiles(directory=str(STATIC)), name="docs-assets")


@cache
def redoc_bundle() -> bytes:
    """ReDoc's standalone bundle, its one CDN image replaced by an inline one."""
    script = (STATIC / "redoc.standalone.js").read_text(encoding="utf-8")
    return script.replace(REDOC_LOGO, EMPTY_IMAGE).encode()
