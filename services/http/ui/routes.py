"""The web app's routes, under ``/ui``: sign-in, the pages, the forms, the static files.

Every page needs a signed-in person (else it sends them to sign in and back); every form
post needs one too, with the CSRF token of its page and, to change anything, the editor
role: the server refuses what the page would not have offered (``403``). A form that
succeeds redirects (``303``) to the page to look at next, which waits until the views include
the write; one that fails shows its page again with the reason, the values typed, and, for
a stale page (``412``), what changed meanwhile.
"""

from collections.abc import Callable
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from domain.errors import InvalidCommand, RuleViolation
from projections.release_notes import ReleaseNotShipped
from services.http.deps import arrival
from services.http.read_cache import Key, ReadCache
from services.http.ui import actions, forms, pages
from services.http.ui.actions import NOTICES, Done
from services.http.ui.forms import Form, FormError
from services.http.ui.render import (
    NO_STORE,
    SECURITY_HEADERS,
    Page,
    asset_response,
    html,
    query,
    redirect,
)
from services.http.ui.session import (
    CSRF_FIELD,
    SIGN_IN_COOKIE,
    Session,
    end_session,
    keep_session,
    keep_sign_in_nonce,
    safe_next,
    same,
    session_of,
    sign_in_nonce,
)
from services.store.errors import NotFound, VersionConflict

router = APIRouter(prefix="/ui", include_in_schema=False)

Build = Callable[[Session], Page]
Act = Callable[[Session, Form, UUID], Done]


# Signing in and out


@router.get("/sign-in")
def sign_in_page(request: Request, next: str | None = None) -> Response:
    return _sign_in(request, safe_next(next))


def _sign_in(request: Request, target: str, error: str | None = None,
             status: int = 200) -> Response:
    nonce = sign_in_nonce(request)
    response = html(Page("sign_in.html", {"next": target, "errors": [error] if error else []},
                         status), _base(None, nonce))
    keep_sign_in_nonce(response, request, nonce)
    return response


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await _form(request)
    nonce = request.cookies.get(SIGN_IN_COOKIE)
    if form is None or not nonce or not same(form.get(CSRF_FIELD), nonce):
        return _refused(None, "The sign-in form has expired or did not come from this site; "
                              "open the sign-in page and try again.")
    target = safe_next(form.get("next"))
    token = form.get("token").strip()
    identity = await run_in_threadpool(request.app.state.runtime.tokens.authenticate,
                                       token) if token else None
    if identity is None:
        return _sign_in(request, target, "That token is not valid (unknown or revoked). Paste "
                                         "the whole token, starting with pdl_.", 401)
    response = redirect(target)
    keep_session(response, request, token)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    form, session = await _form(request), await session_of(request)
    if form is None or session is None or not same(form.get(CSRF_FIELD), session.csrf):
        return _refused(session, "This form did not come from your session; reload the page.")
    response = redirect("/ui/sign-in")
    end_session(response)
    return response


@router.get("/static/{name}")
async def static(name: str) -> Response:
    return asset_response(name)


# Pages: each reads its own query (plain text: a malformed value is told on the page, not
# refused as JSON), and its ids inside ``build``, so that an unknown one is a page too.


@router.get("")
async def home(request: Request) -> Response:
    return await _show(request, pages.home)


@router.get("/products/{product_id}")
async def product(request: Request, product_id: str) -> Response:
    as_of = request.query_params.get("as_of", "")

    def build(s: Session) -> Page:
        pid = _id(product_id)
        try:
            moment = forms.instant(as_of, "As of")
        except FormError as error:
            return _with(pages.product(s, pid), 422, errors=error.messages)
        return pages.product(s, pid, moment)

    return await _show(request, build, from_views=True)


@router.get("/products/{product_id}/changes")
async def changes(request: Request, product_id: str) -> Response:
    params = request.query_params

    def build(s: Session) -> Page:
        pid = _id(product_id)
        try:
            start = forms.instant(params.get("since", ""), "Since")
            end = forms.instant(params.get("until", ""), "Until")
            if start is None:
                raise FormError("Since: pick the instant to compare the roadmap with.")
            return pages.changes(s, pid, start, end)
        except (FormError, InvalidCommand) as error:
            return _with(pages.product(s, pid), 422, errors=_messages(error))

    return await _show(request, build)


@router.get("/products/{product_id}/decisions/new")
async def new_decision(request: Request, product_id: str) -> Response:
    return await _show(request, lambda s: pages.new_decision(s, _id(product_id)))


@router.get("/features/{feature_id}")
async def feature(request: Request, feature_id: str) -> Response:
    return await _show(request, lambda s: pages.feature(s, _id(feature_id)))


@router.get("/releases/{release_id}")
async def release(request: Request, release_id: str) -> Response:
    return await _show(request, lambda s: pages.release(s, _id(release_id)))


@router.get("/decisions/{decision_id}")
async def decision(request: Request, decision_id: str) -> Response:
    return await _show(request, lambda s: pages.decision(s, _id(decision_id)))


@router.get("/audit")
async def audit(request: Request) -> Response:
    params = request.query_params

    def build(s: Session) -> Page:
        filters: dict[str, Any] = {k: params.get(k, "") for k in (
            "product", "entity", "actor", "type", "from", "to")}
        try:
            shown = {**filters, "product": _optional_id(filters["product"], "Product"),
                     "entity": _optional_id(filters["entity"], "Entity"),
                     "from": forms.instant(filters["from"], "From"),
                     "to": forms.instant(filters["to"], "To")}
            cursor = params.get("cursor", "")
            return pages.audit(s, shown, int(cursor) if cursor.isdigit() else None)
        except FormError as error:
            empty = {**filters, "product": None, "entity": None, "from": None, "to": None}
            return _with(pages.audit(s, empty, None), 422, errors=error.messages)

    return await _show(request, build)


@router.get("/search")
async def search(request: Request) -> Response:
    params = request.query_params
    q, kind, offset = (params.get(k, "") for k in ("q", "kind", "offset"))

    def build(s: Session) -> Page:
        start = int(offset) if offset.isdigit() and len(offset) < 9 else 0
        try:
            return pages.search(s, q, _optional_id(params.get("product", ""), "Product"),
                                kind if kind in pages.SEARCH_KINDS else None, start)
        except FormError as error:
            return _with(pages.search(s, "", None, None, 0), 422, errors=error.messages,
                         q=q)

    return await _show(request, build)


# Forms that change something


def _action(path: str, act: Act, again: Callable[[Session, UUID], Page],
            subject: str | None = None) -> None:
    """``POST /ui<path>`` runs ``act``; a refusal shows ``again`` with the reason. A stale
    page's edit says what changed meanwhile to the entity (``subject``: the path's id)."""

    async def post(request: Request, entity_id: str) -> Response:
        try:
            eid = _id(entity_id)
        except NotFound as error:
            return _problem(await session_of(request), 404, "Not found", str(error))
        return await _act(request, lambda s, form: act(s, form, eid),
                          lambda s: again(s, eid), eid if subject else None)

    router.add_api_route(path, post, methods=["POST"], name=f"ui_{act.__name__}")


_action("/products/{entity_id}/features", actions.propose_feature, pages.product)
_action("/products/{entity_id}/releases", actions.plan_release, pages.product)
_action("/products/{entity_id}/decisions", actions.propose_decision, pages.new_decision)
_action("/features/{entity_id}/schedule", actions.schedule, pages.feature, "feature")
_action("/features/{entity_id}/unschedule", actions.unschedule, pages.feature, "feature")
_action("/features/{entity_id}/status", actions.change_status, pages.feature, "feature")
_action("/features/{entity_id}/priority", actions.change_priority, pages.feature, "feature")
_action("/releases/{entity_id}/target-date", actions.change_target_date, pages.release,
        "release")
_action("/decisions/{entity_id}/accept", actions.accept_decision, pages.decision, "decision")
_action("/decisions/{entity_id}/reject", actions.reject_decision, pages.decision, "decision")
_action("/decisions/{entity_id}/reverse", actions.reverse_decision, pages.decision)


# The machinery


def _base(session: Session | None, csrf: str) -> dict[str, Any]:
    """What every template may use."""
    return {"session": session, "csrf": csrf, "notice": None, "errors": [], "form": {},
            "conflict": None}


def _with(page: Page, status: int, **context: Any) -> Page:
    return Page(page.template, {**page.context, **context}, status)


def _messages(error: Exception) -> list[str]:
    return error.messages if isinstance(error, FormError) else [str(error)]


def _id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise NotFound(f"Nothing here: '{text[:80]}' is not an id.") from None


def _optional_id(text: str, what: str) -> UUID | None:
    try:
        return UUID(text) if text.strip() else None
    except ValueError:
        raise FormError(f"{what}: '{text[:80]}' is not an id.") from None


async def _form(request: Request) -> Form | None:
    try:
        return Form.parse(await request.body())
    except FormError:
        return None


def _problem(session: Session | None, status: int, title: str, detail: str) -> Response:
    return html(Page("problem.html", {"title": title, "detail": detail}, status),
                _base(session, session.csrf if session else ""))


def _refused(session: Session | None, detail: str) -> Response:
    return _problem(session, 403, "Not allowed", detail)


async def _caught_up(session: Session, after: str | None) -> None:
    """Wait (briefly, holding no thread) until the views include the write at ``after``."""
    if not after or not after.isdigit() or len(after) > 18:
        return
    runtime, position = session.runtime, int(after)
    if runtime.views.position >= position:
        return
    if position <= await run_in_threadpool(runtime.app.log_position):
        await arrival(runtime.views, position, runtime.settings.api.read_your_writes_timeout_s)


async def _show(request: Request, build: Build, *, from_views: bool = False) -> Response:
    """A page for the signed-in person, or the way to sign in.

    A page built from the views alone (``from_views``: the roadmap) is a function of the
    request, of the person (their token's CSRF digest stands for it) and of the views'
    position, as a JSON view read is: it is kept and sent again while the views stay there
    (see :mod:`services.http.read_cache`, whose cache it uses, apart from the JSON one)."""
    session = await session_of(request)
    if session is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return redirect(query("/ui/sign-in", next=here))
    await _caught_up(session, request.query_params.get("after"))
    position, key = session.runtime.views.position, _page_key(request, session)
    kept = _kept_pages(request).get(key, position) if from_views else None
    if kept is not None:
        return HTMLResponse(kept, headers={**SECURITY_HEADERS, **NO_STORE})
    try:
        page = await run_in_threadpool(build, session)
    except NotFound as error:
        return _problem(session, 404, "Not found", str(error))
    except ReleaseNotShipped as error:
        return _problem(session, 409, "Not yet", str(error))
    base = _base(session, session.csrf)
    base["notice"] = NOTICES.get(request.query_params.get("done", ""))
    response = html(page, base)
    if from_views and response.status_code == 200:
        _kept_pages(request).put(key, position, bytes(response.body))
    return response


def _page_key(request: Request, session: Session) -> Key:
    return f"{request.url.path} {session.csrf}", request.url.query.encode()


def _kept_pages(request: Request) -> ReadCache:
    """This app's rendered pages, by request and person, each valid at one views position."""
    state = request.app.state
    if getattr(state, "ui_pages", None) is None:
        state.ui_pages = ReadCache(max_entries=256, max_bytes=16 * 1024 * 1024)
    cache: ReadCache = state.ui_pages
    return cache


async def _act(request: Request, act: Callable[[Session, Form], Done],
               again: Build, subject: UUID | None) -> Response:
    """Run a form's command for an editor whose page sent it; then go to the next page, or
    show this one again with what went wrong."""
    session, form = await session_of(request), await _form(request)
    if session is None:
        return _refused(None, "Sign in first: this form needs a signed-in editor.")
    if form is None or not same(form.get(CSRF_FIELD), session.csrf):
        return _refused(session, "This form did not come from your session (its CSRF token "
                                 "is missing or wrong); reload the page and try again.")
    if not session.can_edit:
        return _refused(session, f"{session.actor} has the role "
                                 f"{session.identity.role.value}; changes need an editor.")
    try:
        done = await run_in_threadpool(act, session, form)
    except (FormError, InvalidCommand) as error:
        return await _again(session, again, form, 422, _messages(error))
    except RuleViolation as error:
        return await _again(session, again, form, 409, [str(error)])
    except VersionConflict as error:
        conflict = await run_in_threadpool(
            _meanwhile, session, subject, form.version(), error.current_version)
        return await _again(session, again, form, 412, [_stale(form.version(), error)],
                            conflict)
    except NotFound as error:
        return _problem(session, 404, "Not found", str(error))
    session.runtime.notify()
    return redirect(query(done.page, after=done.outcome.position, done=done.notice))


async def _again(session: Session, again: Build, form: Form, status: int,
                 messages: list[str], conflict: dict[str, Any] | None = None) -> Response:
    try:
        page = await run_in_threadpool(again, session)
    except NotFound as error:
        return _problem(session, 404, "Not found", str(error))
    return html(_with(page, status, errors=messages, form=form.values(), conflict=conflict),
                _base(session, session.csrf))


def _stale(seen: int | None, error: VersionConflict) -> str:
    return (f"Someone changed this since you opened the page (you saw version {seen}; it is "
            f"now at version {error.current_version}), so nothing was changed. Read what "
            "changed below, then decide again.")


def _meanwhile(session: Session, entity_id: UUID | None, seen: int | None,
               current: int) -> dict[str, Any]:
    """The changes made to ``entity_id`` after version ``seen``: who, when, what, why."""
    if entity_id is None or seen is None:
        return {"seen": seen, "now": current, "changes": []}
    runtime = session.runtime
    runtime.views.wait_for(runtime.app.log_position(),
                           runtime.settings.api.read_your_writes_timeout_s)
    items = [item for item in runtime.views.history(entity_id)
             if item["entity_version"] > seen]
    return {"seen": seen, "now": current, "changes": items}


