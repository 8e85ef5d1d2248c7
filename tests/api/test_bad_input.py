"""Bad input, route group by route group: the right 4xx, a problem document whose detail
says what is wrong, and not one event more in the log."""

from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.identity.tokens import Role
from services.runtime.service import Runtime
from tests.api.conftest import token_for
from tests.api.driver import Api
from tests.support.builders import PRODUCT_BODY, feature_body, today

UNKNOWN = "00000000-0000-4000-8000-000000000000"
LONG = "x" * 4001


@dataclass
class Case:
    """One bad request. ``{name}`` placeholders in path and body name entities of the world;
    ``as_`` is whose token to send (``none``, ``bogus``, or a role)."""

    method: str
    path: str
    body: Any = None
    status: int = 422
    says: str = ""
    as_: str = "editor"
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


@pytest.fixture
def world(editor: Api) -> dict[str, str]:
    """A product with an open and a shipped release and two features, and another product."""
    product = editor.create_product()["id"]
    other = editor.create_product(name="Other")["id"]
    feature = editor.propose(product, "Share roadmaps", 2)["id"]
    done = editor.propose(product, "Export", 1)["id"]
    release = editor.plan(product, "1.0", "2027-03-01")["id"]
    shipped = editor.plan(product, "0.9", "2027-01-01")["id"]
    foreign = editor.plan(other, "O-1", "2027-03-01")["id"]
    for status in ("accepted", "in_progress", "done"):
        editor.set_status(done, status, "progress")
    editor.schedule(done, shipped, "ready")
    editor.ship(shipped, today().isoformat(), "shipped on time")
    return {"product": product, "other": other, "feature": feature, "release": release,
            "shipped": shipped, "foreign": foreign, "unknown": UNKNOWN}


def fill(value: Any, world: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**world)
    if isinstance(value, dict):
        return {k: fill(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, world) for v in value]
    return value


def send(client: TestClient, runtime: Runtime, case: Case,
         world: dict[str, str]) -> Any:
    tokens = {"none": None, "bogus": "pdl_not-a-real-token"}
    token = tokens[case.as_] if case.as_ in tokens else token_for(
        runtime, f"{case.as_}-2", Role(case.as_))
    headers = {**case.headers, **({"Authorization": f"Bearer {token}"} if token else {})}
    if case.raw is not None:
        headers["Content-Type"] = "application/json"
        return client.request(case.method, fill(case.path, world), content=case.raw,
                              headers=headers)
    body = None if case.body is None else fill(case.body, world)
    return client.request(case.method, fill(case.path, world), json=body, headers=headers)


def check(client: TestClient, runtime: Runtime, world: dict[str, str], case: Case) -> None:
    before = runtime.app.event_count()

    response = send(client, runtime, case, world)

    assert response.status_code == case.status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == case.status and problem["title"] and problem["type"]
    assert case.says.lower() in problem["detail"].lower(), problem["detail"]
    assert runtime.app.event_count() == before


def why(**fields: Any) -> dict[str, Any]:
    return {"rationale": "because", **fields}


PRODUCT_CASES = {
    "null name": Case("POST", "/products", {**PRODUCT_BODY, "name": None}, 422,
                         "'name': Input should be a valid string"),
    "name absent": Case("POST", "/products", {k: v for k, v in PRODUCT_BODY.items() if k != "name"},
                        422, "'name' is required"),
    "oversize name": Case("POST", "/products", {**PRODUCT_BODY, "name": "n" * 201}, 422,
                          "at most 200 characters"),
    "blank name": Case("POST", "/products", {**PRODUCT_BODY, "name": "   "}, 422,
                       "product name must not be empty"),
    "unknown field": Case("POST", "/products", {**PRODUCT_BODY, "budget": 10}, 422,
                          "'budget' is not a field"),
    "invalid JSON": Case("POST", "/products", raw=b'{"name": "A",', status=400,
                         says="not valid JSON"),
    "not UTF-8": Case("POST", "/products", raw=b'{"name": "\xff"}', status=400,
                      says="UTF-8 encoded JSON object"),
    "nested too deep": Case("POST", "/products", raw=b"[" * 100_000 + b"]" * 100_000,
                            status=400, says="could not be read as JSON"),
    "not an object": Case("POST", "/products", raw=b'["a"]', status=422,
                          says="needs a JSON object body"),
    "no body": Case("POST", "/products", None, 422, "needs a JSON object body"),
    "wrong type": Case("POST", "/products", {**PRODUCT_BODY, "vision": ["a"]}, 422,
                       "'vision': Input should be a valid string"),
    "missing token": Case("POST", "/products", PRODUCT_BODY, 401, "Authorization: Bearer",
                          as_="none"),
    "invalid token": Case("GET", "/products/{product}", None, 401, "not valid", as_="bogus"),
    "viewer writing": Case("POST", "/products", PRODUCT_BODY, 403, "needs role editor",
                           as_="viewer"),
    "malformed id": Case("GET", "/products/42", None, 404, "not a valid product_id"),
    "unknown product": Case("GET", "/products/{unknown}", None, 404, "No product with id"),
    "vision without rationale": Case("POST", "/products/{product}/vision", {"vision": "v2"},
                                     422, "'rationale' is required"),
    "empty rationale": Case("POST", "/products/{product}/vision", why(vision="v2",
                            rationale=""), 422, "at least 1 character"),
    "blank rationale": Case("POST", "/products/{product}/vision", why(vision="v2",
                            rationale="  "), 422, "needs a rationale"),
    "oversize rationale": Case("POST", "/products/{product}/retire", why(rationale=LONG),
                               422, "at most 4000 characters"),
    "too much evidence": Case("POST", "/products/{product}/retire",
                              why(evidence=["e"] * 21), 422, "at most 20 items"),
    "same vision": Case("POST", "/products/{product}/vision",
                        why(vision=PRODUCT_BODY["vision"]), 409, "already exactly that"),
    "unknown product vision": Case("POST", "/products/{unknown}/vision", why(vision="v"),
                                   404, "No product with id"),
    "stale If-Match": Case("POST", "/products/{product}/vision", why(vision="v2"), 412,
                           "expected this product at version 7", headers={"If-Match": '"7"'}),
    "malformed If-Match": Case("POST", "/products/{product}/vision", why(vision="v2"), 400,
                               "If-Match must be", headers={"If-Match": "yesterday"}),
    "too large": Case("POST", "/products", raw=b'{"name": "' + b"x" * 300_000 + b'"}',
                      status=413, says="larger than 256 KiB"),
    "feature for unknown product": Case("POST", "/products/{unknown}/features",
                                        feature_body("X"), 404, "No product with id"),
    "NUL in a name": Case("POST", "/products", {**PRODUCT_BODY, "name": "Ledger\x00"}, 422,
                          "'name': control characters are not allowed (found U+0000)"),
    "escape sequence in a rationale": Case("POST", "/products/{product}/vision",
                                           why(vision="v2", rationale="ok\x1b[2J"), 422,
                                           "'rationale': control characters"),
    "carriage return in a vision": Case("POST", "/products/{product}/vision",
                                        why(vision="line\r\nline"), 422,
                                        "'vision': control characters are not allowed "
                                        "(found U+000D)"),
    "control character in evidence": Case("POST", "/products/{product}/retire",
                                          why(evidence=["fine", "bell\x07"]), 422,
                                          "'evidence': control characters"),
}

FEATURE_CASES = {
    "schedule without rationale": Case("POST", "/features/{feature}/schedule",
                                       {"release_id": "{release}"}, 422,
                                       "'rationale' is required"),
    "unknown release": Case("POST", "/features/{feature}/schedule",
                            why(release_id="{unknown}"), 422, "No release with id"),
    "foreign release": Case("POST", "/features/{feature}/schedule",
                            why(release_id="{foreign}"), 422, "belongs to another product"),
    "shipped release": Case("POST", "/features/{feature}/schedule",
                            why(release_id="{shipped}"), 409, "is shipped"),
    "malformed release id": Case("POST", "/features/{feature}/schedule",
                                 why(release_id="r-1"), 422, "valid UUID"),
    "illegal transition": Case("POST", "/features/{feature}/status", why(status="done"), 409,
                               "is proposed and cannot become done"),
    "unknown status": Case("POST", "/features/{feature}/status", why(status="finished"), 422,
                           "Unknown status 'finished'"),
    "shipping a feature directly": Case("POST", "/features/{feature}/status",
                                        why(status="shipped"), 409, "ships with its release"),
    "priority as text": Case("POST", "/features/{feature}/priority", why(priority="high"),
                             422, "valid number"),
    "priority as numeric text": Case("POST", "/features/{feature}/priority",
                                     why(priority="5"), 422, "valid number"),
    "negative priority": Case("POST", "/features/{feature}/priority", why(priority=-1), 422,
                              "greater than or equal to 0"),
    "oversize title": Case("POST", "/products/{product}/features",
                           {**feature_body("x"), "title": "t" * 201}, 422,
                           "at most 200 characters"),
    "unknown field": Case("POST", "/features/{feature}/unschedule", why(release_id="x"), 422,
                          "'release_id' is not a field"),
    "invalid JSON": Case("POST", "/features/{feature}/status", raw=b"{status: done}",
                         status=400, says="not valid JSON"),
    "unschedule from the backlog": Case("POST", "/features/{feature}/unschedule", why(), 409,
                                        "not scheduled in any release"),
    "malformed feature id": Case("POST", "/features/nope/status", why(status="accepted"),
                                 404, "not a valid feature_id"),
    "unknown feature": Case("GET", "/features/{unknown}", None, 404, "No feature with id"),
    "viewer writing": Case("POST", "/features/{feature}/status", why(status="accepted"), 403,
                           "needs role editor", as_="viewer"),
    "missing token": Case("POST", "/features/{feature}/status", why(status="accepted"), 401,
                          "Authorization: Bearer", as_="none"),
    "unknown requirement": Case("POST", "/features/{feature}/requirements/R9/revise",
                                why(text="t"), 409, "has no requirement R9"),
    "malformed requirement id": Case("POST", "/features/{feature}/requirements/9/remove",
                                     why(), 404, "not a valid requirement_id"),
    "empty acceptance criterion": Case("POST", "/features/{feature}/requirements",
                                       why(text="t", acceptance_criteria=[""]), 422,
                                       "at least 1 character"),
    "nothing to revise": Case("POST", "/features/{feature}/details", why(), 409,
                              "Nothing to revise"),
    "NUL in an acceptance criterion": Case("POST", "/features/{feature}/requirements",
                                           why(text="t", acceptance_criteria=["ok\x00"]), 422,
                                           "'acceptance_criteria': control characters"),
    "control character in a title": Case("POST", "/products/{product}/features",
                                         {**feature_body("x"), "title": "Tab\tand\x0bVT"},
                                         422, "'title': control characters"),
}

RELEASE_CASES = {
    "malformed date": Case("POST", "/products/{product}/releases",
                           {"name": "2.0", "target_date": "next spring"}, 422, "YYYY-MM-DD"),
    "impossible date": Case("POST", "/releases/{release}/target-date",
                            why(target_date="2027-02-30"), 422, "YYYY-MM-DD"),
    "date as a number": Case("POST", "/releases/{release}/target-date",
                             why(target_date=20270401), 422, "YYYY-MM-DD"),
    "slip without rationale": Case("POST", "/releases/{release}/target-date",
                                   {"target_date": "2027-04-01"}, 422,
                                   "'rationale' is required"),
    "same date": Case("POST", "/releases/{release}/target-date",
                      why(target_date="2027-03-01"), 409, "already targets 2027-03-01"),
    "slip a shipped release": Case("POST", "/releases/{shipped}/target-date",
                                   why(target_date="2027-04-01"), 409,
                                   "no longer change its target date"),
    "ship twice": Case("POST", "/releases/{shipped}/ship", why(shipped_on="2027-01-03"), 409,
                       "is shipped"),
    "cancel unknown": Case("POST", "/releases/{unknown}/cancel", why(), 404,
                           "No release with id"),
    "oversize theme": Case("POST", "/products/{product}/releases",
                           {"name": "2.0", "target_date": "2027-09-01", "theme": "t" * 2001},
                           422, "at most 2000 characters"),
    "unknown field": Case("POST", "/releases/{release}/cancel", why(when="now"), 422,
                          "'when' is not a field"),
    "invalid JSON": Case("POST", "/releases/{release}/cancel", raw=b"rationale=because",
                         status=400, says="not valid JSON"),
    "malformed release id": Case("GET", "/releases/1.0", None, 404,
                                 "not a valid release_id"),
    "viewer writing": Case("POST", "/releases/{release}/cancel", why(), 403,
                           "needs role editor", as_="viewer"),
    "invalid token": Case("POST", "/releases/{release}/cancel", why(), 401, "not valid",
                          as_="bogus"),
    "ship date in the future": Case("POST", "/releases/{release}/ship",
                                    why(shipped_on="2999-01-01"), 422,
                                    "cannot have shipped on 2999-01-01: that day is in the "
                                    "future"),
    "ship date before the release was planned": Case(
        "POST", "/releases/{release}/ship", why(shipped_on="0001-01-01"), 422,
        "a release ships on or after the day it was planned"),
    "NUL in a release name": Case("POST", "/products/{product}/releases",
                                  {"name": "2.0\x00", "target_date": "2027-09-01"}, 422,
                                  "'name': control characters"),
}

VIEW_CASES = {
    "malformed product id": Case("GET", "/products/x/roadmap", None, 404,
                                 "not a valid product_id"),
    "unknown product": Case("GET", "/products/{unknown}/roadmap", None, 404,
                            "No product with id"),
    "release id as feature": Case("GET", "/features/{release}/history", None, 404,
                                  "No feature with id"),
    "negative after": Case("GET", "/products/{product}/roadmap?after=-1", None, 422,
                           "'after': Input should be greater than or equal to 0"),
    "after as text": Case("GET", "/audit?after=soon", None, 422, "'after'"),
    "position past the log's end": Case("GET", "/audit?after=1000000000000", None, 409,
                                        "position 1000000000000 is past the end of the "
                                        "event log"),
    "roadmap position past the log's end": Case(
        "GET", "/products/{product}/roadmap?after=1000000", None, 409, "past the end"),
    "zero limit": Case("GET", "/audit?limit=0", None, 422, "'limit'"),
    "huge limit": Case("GET", "/audit?limit=100000", None, 422, "'limit'"),
    "malformed from": Case("GET", "/audit?from=last-week", None, 422, "'from'"),
    "naive to": Case("GET", "/audit?to=2027-01-01T00:00:00", None, 422, "timezone"),
    "malformed product filter": Case("GET", "/audit?product=atlas", None, 422,
                                     "'product'"),
    "naive as_of": Case("GET", "/products?as_of=2027-01-01", None, 422, "timezone"),
    "roadmap as of the future": Case("GET", "/products/{product}/roadmap?as_of=2999-01-01T00:00Z",
                                     None, 422, "as_of is in the future"),
    "history as of the future": Case("GET", "/products/{product}/history?as_of=2999-01-01T00:00Z",
                                     None, 422, "as_of is in the future"),
    "missing token": Case("GET", "/audit", None, 401, "Authorization: Bearer", as_="none"),
    "missing token waiting": Case("GET", "/audit?after=1000000", None, 401,
                                  "Authorization: Bearer", as_="none"),
    "invalid token": Case("GET", "/products/{product}/roadmap", None, 401, "not valid",
                          as_="bogus"),
    "as_of out of range in UTC": Case("GET", "/products?as_of=0001-01-01T00:00:00%2B14:00",
                                      None, 422, "out of range"),
    "huge cursor": Case("GET", "/audit?cursor=" + "9" * 30, None, 422, "'cursor'"),
    "unknown audit parameter": Case("GET", "/audit?prodcut={product}", None, 422,
                                    "no query parameter 'prodcut'; it takes: actor, after, "
                                    "correlation, cursor, decision, entity, evidence, from, "
                                    "limit, product, to, type"),
    "unknown audit evidence filter": Case("GET", "/audit?evidence=some", None, 422,
                                          "'evidence'"),
    "malformed audit decision": Case("GET", "/audit?decision=D-1", None, 422, "'decision'"),
    "unknown audit type": Case("GET", "/audit?type=feature.scheduled&type=feature.moved",
                               None, 422, "No change type 'feature.moved'; the types are: "
                                          "decision.accepted, decision.proposed"),
    "unknown feature list parameter": Case("GET", "/products/{product}/features?state=done",
                                           None, 422, "no query parameter 'state'"),
    "unknown feature status": Case("GET", "/products/{product}/features?status=finished",
                                   None, 422, "No feature status 'finished'; the statuses "
                                              "are: proposed"),
    "feature list in a malformed release": Case(
        "GET", "/products/{product}/features?release=next", None, 422, "'release'"),
    "feature list of an unknown product": Case("GET", "/products/{unknown}/features", None,
                                               404, "No product with id"),
    "feature list with an empty q": Case("GET", "/products/{product}/features?q=", None, 422,
                                         "'q'"),
    "feature list negative cursor": Case("GET", "/products/{product}/features?cursor=-1",
                                         None, 422, "'cursor'"),
    "unknown search parameter": Case("GET", "/search?q=export&kind=feature&order=new", None,
                                     422, "no query parameter 'order'"),
    "search without words": Case("GET", "/search?q=%22*%22", None, 422,
                                 "give at least one word"),
    "wrong method": Case("PUT", "/products/{product}", None, 405, "PUT is not allowed"),
    "OPTIONS": Case("OPTIONS", "/products", None, 405, "allowed: GET, POST"),
    "DELETE on a command": Case("DELETE", "/releases/{release}/ship", None, 405,
                                "allowed: POST"),
    "as_of as a number": Case("GET", "/products?as_of=0.5", None, 422,
                              "'as_of': '0.5' is not an ISO 8601 instant"),
    "to as a Unix time": Case("GET", "/audit?to=1700000000", None, 422,
                              "'to': '1700000000' is not an ISO 8601 instant"),
    "from as a Unix time": Case("GET", "/audit?from=1700000000.5", None, 422,
                                "numbers such as Unix times are not accepted"),
    "roadmap as of before the product": Case(
        "GET", "/products/{product}/roadmap?as_of=2001-01-01T00:00:00Z", None, 404,
        "as of 2001-01-01T00:00:00+00:00: it did not exist yet"),
    "history as of before the product": Case(
        "GET", "/products/{product}/history?as_of=2001-01-01T00:00:00Z", None, 404,
        "did not exist yet"),
    "feature history as of before it": Case(
        "GET", "/features/{feature}/history?as_of=2001-01-01T00:00:00Z", None, 404,
        "No feature with id"),
    "URL too long": Case("GET", "/audit?actor=" + "a" * 9000, None, 414,
                         "URL (path and query string) is longer than 8 KiB"),
    "headers too large": Case("GET", "/audit", None, 431, "headers are larger than 16 KiB",
                              headers={"X-Padding": "x" * 17_000}),
    "unknown route": Case("GET", "/roadmaps", None, 404, "no route /roadmaps"),
}

TOKEN_CASES = {
    "editor creating a token": Case("POST", "/tokens", {"name": "bob", "role": "viewer"}, 403,
                                    "needs role admin"),
    "editor listing tokens": Case("GET", "/tokens", None, 403, "needs role admin"),
    "viewer revoking a token": Case("DELETE", "/tokens/alice", None, 403, "needs role admin",
                                    as_="viewer"),
    "unknown role": Case("POST", "/tokens", {"name": "bob", "role": "owner"}, 422, "'role'",
                         as_="admin"),
    "name with spaces": Case("POST", "/tokens", {"name": "bob smith", "role": "viewer"}, 422,
                             "'name'", as_="admin"),
    "taken name": Case("POST", "/tokens", {"name": "alice", "role": "viewer"}, 409,
                       "already exists", as_="admin"),
    "unknown field": Case("POST", "/tokens", {"name": "bob", "role": "viewer", "ttl": 1},
                          422, "'ttl' is not a field", as_="admin"),
    "revoke unknown": Case("DELETE", "/tokens/nobody", None, 404, "No token named 'nobody'",
                           as_="admin"),
    "missing token": Case("GET", "/tokens", None, 401, "Authorization: Bearer", as_="none"),
    "revoking the last admin token": Case("DELETE", "/tokens/admin-2", None, 409,
                                          "'admin-2' is the last admin token", as_="admin"),
}


@pytest.mark.parametrize("case", PRODUCT_CASES.values(), ids=PRODUCT_CASES.keys())
def test_bad_product_requests_are_refused_and_change_nothing(
        client: TestClient, runtime: Runtime, world: dict[str, str], case: Case) -> None:
    check(client, runtime, world, case)


@pytest.mark.parametrize("case", FEATURE_CASES.values(), ids=FEATURE_CASES.keys())
def test_bad_feature_requests_are_refused_and_change_nothing(
        client: TestClient, runtime: Runtime, world: dict[str, str], case: Case) -> None:
    check(client, runtime, world, case)


@pytest.mark.parametrize("case", RELEASE_CASES.values(), ids=RELEASE_CASES.keys())
def test_bad_release_requests_are_refused_and_change_nothing(
        client: TestClient, runtime: Runtime, world: dict[str, str], case: Case) -> None:
    check(client, runtime, world, case)


@pytest.mark.parametrize("case", VIEW_CASES.values(), ids=VIEW_CASES.keys())
def test_bad_view_requests_are_refused_and_change_nothing(
        client: TestClient, runtime: Runtime, world: dict[str, str], case: Case) -> None:
    check(client, runtime, world, case)


@pytest.mark.parametrize("case", TOKEN_CASES.values(), ids=TOKEN_CASES.keys())
def test_bad_token_requests_are_refused_and_change_nothing(
        client: TestClient, runtime: Runtime, world: dict[str, str], case: Case) -> None:
    callers = {f"{role.value}-2" for role in Role}
    before = {t.name for t in runtime.tokens.list()}

    check(client, runtime, world, case)

    assert {t.name for t in runtime.tokens.list()} - callers == before
