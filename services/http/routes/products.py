"""Products: every route under ``/products``.

The product itself (create, list, read, revise the vision and strategy, retire); what is
created under a product (features, releases, decisions); and the product-wide reads: its
decisions, roadmap, history, feature ranking, the diff between two instants and its slips.

A write returns the log ``position`` it reached, and the views catch up with the log just
after the write commits. So the reads served from the views (the list, decisions, roadmap,
history, diff and slips) accept ``?after=POSITION`` to wait, briefly, until they include
that write: read your own writes. ``?as_of=`` (an ISO instant with a timezone) answers as
things stood then, because the log keeps every change. The list, roadmap and history answer
with JSON serialized once per views position (:mod:`services.http.read_cache`), so their
``response_model`` only documents the shape.
"""

from dataclasses import asdict
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from domain.feature import STATUSES
from projections.diff import render_markdown, roadmap_diff
from projections.features import BACKLOG
from services.http.as_of import AsOf, Instant, not_found_then, version_at
from services.http.decision_schemas import DecisionIn, DecisionListOut, RankingOut
from services.http.deps import (
    MAX_POSITION,
    Editor,
    ExpectedVersion,
    Reads,
    RuntimeDep,
    Viewer,
    ViewsAt,
    ViewsPosition,
)
from services.http.paging import Page
from services.http.problems import Problem
from services.http.query_params import KnownQuery
from services.http.read_cache import VIEWS_POSITION
from services.http.responses import (
    MARKDOWN,
    MarkdownResponse,
    log_position,
    reason,
    tagged,
    written,
)
from services.http.schemas import (
    Change,
    FeatureIn,
    OutcomeOut,
    ProductIn,
    ProductOut,
    ReleaseIn,
    StrategyIn,
    VisionIn,
)

router = APIRouter(prefix="/products", tags=["products"])


# The product


@router.post("", status_code=201, response_model=OutcomeOut)
def create_product(body: ProductIn, who: Editor, runtime: RuntimeDep) -> JSONResponse:
    outcome = runtime.app.create_product(actor=who.name, **body.model_dump())
    return written(runtime, outcome, f"/products/{outcome.id}")


@router.get("", response_model=dict[str, Any])
async def list_products(reads: Reads, as_of: AsOf) -> Response:
    return await reads.answer(lambda: {"items": reads.views.list_products(as_of=as_of)})


@router.get("/{product_id}", response_model=ProductOut)
def get_product(product_id: UUID, who: Viewer, runtime: RuntimeDep,
                response: Response, as_of: AsOf) -> ProductOut:
    log_position(response, runtime)
    product = runtime.app.get_product(
        product_id, version_at(runtime, "product", product_id, as_of))
    tagged(response, product.version)
    return ProductOut.model_validate(product, from_attributes=True)


@router.post("/{product_id}/vision", response_model=OutcomeOut)
def revise_vision(product_id: UUID, body: VisionIn, who: Editor, runtime: RuntimeDep,
                  expected: ExpectedVersion) -> JSONResponse:
    outcome = runtime.app.revise_vision(product_id, body.vision, reason(who, body), expected)
    return written(runtime, outcome)


@router.post("/{product_id}/strategy", response_model=OutcomeOut)
def revise_strategy(product_id: UUID, body: StrategyIn, who: Editor, runtime: RuntimeDep,
                    expected: ExpectedVersion) -> JSONResponse:
    outcome = runtime.app.revise_strategy(product_id, body.strategy, reason(who, body),
                                          expected)
    return written(runtime, outcome)


@router.post("/{product_id}/retire", response_model=OutcomeOut)
def retire_product(product_id: UUID, body: Change, who: Editor, runtime: RuntimeDep,
                   expected: ExpectedVersion) -> JSONResponse:
    outcome = runtime.app.retire_product(product_id, reason(who, body), expected)
    return written(runtime, outcome)


# Created under the product


@router.post("/{product_id}/features", status_code=201, response_model=OutcomeOut)
def propose_feature(product_id: UUID, body: FeatureIn, who: Editor,
                    runtime: RuntimeDep) -> JSONResponse:
    outcome = runtime.app.propose_feature(product_id, actor=who.name, **body.model_dump())
    return written(runtime, outcome, f"/features/{outcome.id}")


@router.post("/{product_id}/releases", status_code=201, response_model=OutcomeOut)
def plan_release(product_id: UUID, body: ReleaseIn, who: Editor,
                 runtime: RuntimeDep) -> JSONResponse:
    outcome = runtime.app.plan_release(product_id, actor=who.name, **body.model_dump())
    return written(runtime, outcome, f"/releases/{outcome.id}")


@router.post("/{product_id}/decisions", status_code=201, response_model=OutcomeOut)
def propose_decision(product_id: UUID, body: DecisionIn, who: Editor,
                     runtime: RuntimeDep) -> JSONResponse:
    """Propose a decision: context, options with pros and cons, the choice and why."""
    outcome = runtime.app.propose_decision(product_id, actor=who.name, **body.model_dump())
    return written(runtime, outcome, f"/decisions/{outcome.id}")


@router.get("/{product_id}/decisions", response_model=DecisionListOut,
            dependencies=[ViewsAt])
def list_decisions(product_id: UUID, who: Viewer, runtime: RuntimeDep,
                   as_of: AsOf) -> dict[str, Any]:
    """The product's decisions and their status (as of ``as_of``), oldest first."""
    items = runtime.views.decisions(product_id, as_of)
    if items is None:
        raise not_found_then("product", product_id, as_of)
    return {"product_id": product_id, "as_of": as_of, "items": items}


# The roadmap, its history and its priorities


@router.get("/{product_id}/roadmap", response_model=dict[str, Any])
async def roadmap(product_id: UUID, reads: Reads, as_of: AsOf) -> Response:
    """Releases in target-date order with their features, the backlog, now / next / later."""

    def read() -> dict[str, Any]:
        found = reads.views.roadmap(product_id, as_of=as_of)
        if found is None:
            raise not_found_then("product", product_id, as_of)
        return found

    return await reads.answer(read)


@router.get("/{product_id}/features", response_model=dict[str, Any], dependencies=[KnownQuery])
async def list_features(
    product_id: UUID, reads: Reads, as_of: AsOf,
    status: Annotated[list[str] | None, Query(
        max_length=len(STATUSES), description="e.g. accepted; repeat it for several")] = None,
    release: Annotated[str | None, Query(
        pattern=f"^({BACKLOG}|[0-9a-fA-F]{{8}}-([0-9a-fA-F]{{4}}-){{3}}[0-9a-fA-F]{{12}})$",
        description="A release id, or backlog for the features in no release.")] = None,
    q: Annotated[str | None, Query(
        min_length=1, max_length=200, description="Text in the title (any case).")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[int, Query(ge=0, le=MAX_POSITION,
                                 description="next_cursor of the previous page")] = 0,
) -> Response:
    """The product's features matching every filter given, by priority (high first), then
    title, a page at a time (see :mod:`projections.features`)."""
    unknown = sorted(set(status or ()) - set(STATUSES))
    if unknown:
        raise Problem(422, "unknown-status", "Unknown feature status",
                      f"No feature status {', '.join(map(repr, unknown))}; the statuses are: "
                      f"{', '.join(STATUSES)}.", unknown=unknown, allowed=list(STATUSES))
    release_id = release if release in (None, BACKLOG) else str(UUID(release))

    def read() -> dict[str, Any]:
        found = reads.views.features(product_id, as_of, statuses=status or (),
                                     release=release_id, q=q, limit=limit, cursor=cursor)
        if found is None:
            raise not_found_then("product", product_id, as_of)
        return found

    return await reads.answer(read)


@router.get("/{product_id}/history", response_model=dict[str, Any])
async def product_history(product_id: UUID, reads: Reads, page: Page,
                          as_of: AsOf) -> Response:
    """Every change to the product and to its features and releases, in log order (or a
    page, see :mod:`services.http.paging`)."""

    def read() -> dict[str, Any]:
        found = reads.views.product_history_page(
            product_id, as_of=as_of, limit=page.limit, cursor=page.cursor,
            newest_first=page.newest_first)
        if not found["exists"]:
            raise not_found_then("product", product_id, as_of)
        return {"product_id": str(product_id), "items": found["items"],
                "next_cursor": found["next_cursor"]}

    return await reads.answer(read)


@router.get("/{product_id}/ranking", response_model=RankingOut)
def ranking(product_id: UUID, who: Viewer, runtime: RuntimeDep,
            as_of: AsOf) -> dict[str, Any]:
    """The open features by priority as of ``as_of`` (default now), each priority
    explained and, when scored, recomputed from its recorded inputs and formula."""
    items = runtime.app.rank_features(product_id, as_of)
    return {"product_id": product_id, "as_of": as_of, "items": [asdict(i) for i in items]}


# The roadmap through time


@router.get("/{product_id}/diff", response_model=None, responses={
    200: {"content": {"application/json": {}, MARKDOWN: {}},
          "description": "The diff as JSON, or as Markdown with format=markdown."}})
def diff(product_id: UUID, who: Viewer, runtime: RuntimeDep, position: ViewsPosition,
         since: Annotated[Instant, Query(alias="from", description="Exclusive start.")],
         until: Annotated[Instant | None, Query(
             alias="to", description="Inclusive end; default now.")] = None,
         format: Literal["json", "markdown"] = "json") -> dict[str, Any] | MarkdownResponse:
    """What changed on the roadmap after ``from`` up to ``to``: the net effect (features
    added, removed, moved; releases added, shipped, cancelled, slipped or pulled in;
    status, priority and requirement changes) and every step, each with who, when and why."""
    found = roadmap_diff(runtime.views, product_id, since, until)
    if found is None:
        raise not_found_then("product", product_id, until)
    if format == "markdown":
        return MarkdownResponse(render_markdown(found),
                                headers={VIEWS_POSITION: str(position)})
    return found


@router.get("/{product_id}/slips", dependencies=[ViewsAt])
def product_slips(product_id: UUID, who: Viewer, runtime: RuntimeDep, as_of: AsOf,
                  limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
    """The releases that slipped most, and how many times each feature was rescheduled."""
    found = runtime.views.product_slips(product_id, as_of, limit)
    if found is None:
        raise not_found_then("product", product_id, as_of)
    return found
