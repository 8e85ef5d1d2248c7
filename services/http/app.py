"""The HTTP application: routers, error mapping and middleware around one :class:`Runtime`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from services.http import docs, problems
from services.http.middleware import MAX_BODY_BYTES, BodyLimit, HeadLimits, Idempotency
from services.http.observability import Observability
from services.http.read_cache import CachedReads, ReadCache
from services.http.routes import (
    audit,
    contract,
    decisions,
    features,
    health,
    products,
    releases,
    search,
    tokens,
)
from services.http.schemas import ProblemOut
from services.http.ui import routes as ui_routes
from services.runtime.metrics import registry_for
from services.runtime.readiness import Readiness, fail_readiness_on_signals
from services.runtime.service import Runtime

PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": ProblemOut, "description": what,
             "content": {"application/problem+json": {
                 "schema": {"$ref": "#/components/schemas/ProblemOut"}}}}
    for status, what in [(400, "Malformed JSON or header"), (401, "Missing or invalid token"),
                         (403, "The token's role does not allow this"),
                         (404, "No such entity"), (409, "A domain rule forbids the change"),
                         (412, "If-Match is stale"), (413, "Body over the size limit"),
                         (422, "Invalid request or command"),
                         (503, "The views have not caught up with ?after= yet")]
}

DESCRIPTION = """Record the decisions that shape a product — why, what and when — and read the
roadmap and the audit trail. Every request needs `Authorization: Bearer <token>`.
Writes return `{id, version, position}`: send `If-Match: "<version>"` to refuse stale
writes, `Idempotency-Key` to retry safely, and read views with `?after=<position>`."""


def create_app(runtime: Runtime, max_body_bytes: int = MAX_BODY_BYTES, *,
               close_on_shutdown: bool = False) -> FastAPI:
    """The API over ``runtime``; the views' catch-up runs while the app is being served.
    ``close_on_shutdown``: the app owns the runtime (a worker process of ``pdl serve``)
    and closes every store when the server shuts down."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        # SIGTERM: /readyz fails at once, then the server drains and stops.
        fail_readiness_on_signals(app.state.readiness, runtime.settings.api.shutdown_drain_s)
        try:
            yield
        finally:
            if close_on_shutdown:
                runtime.close()
            else:
                runtime.stop()

    app = FastAPI(title="Product Decision Log", version="1", description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    docs.install(app)  # /docs and /redoc with their assets served from here, not a CDN
    app.state.runtime = runtime
    app.state.read_cache = cache = ReadCache()
    app.state.readiness = Readiness(runtime)
    app.state.metrics = registry_for(runtime)
    problems.install(app)
    # One router per resource, named after the first segment of its paths.
    for module in (products, features, releases, decisions, audit, search, tokens):
        app.include_router(module.router, responses=PROBLEMS)
    app.include_router(health.router)  # needs no token, so it documents none of PROBLEMS
    app.include_router(contract.router)  # the Kafka contract (AsyncAPI, schemas), no token
    app.include_router(ui_routes.router)  # the web app for people, /ui (not in the OpenAPI)

    app.add_middleware(Idempotency, runtime=runtime)
    app.add_middleware(CachedReads, runtime=runtime, cache=cache)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(HeadLimits)
    app.add_middleware(problems.StorageProblems)  # 503 / 507 met outside the routes
    app.add_middleware(Observability)  # outermost: every answer is counted and logged
    return app
