"""Bad input to every route of decisions and of the roadmap through time: the right 4xx,
a problem document whose detail says what is wrong, and not one event more in the log."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.runtime.service import Runtime
from tests.api.driver import Api
from tests.api.test_bad_input import UNKNOWN, Case, check, why
from tests.support.builders import decision_body, move_body, today

FUTURE = "2999-01-01T00:00:00Z"
LONG_AGO = "2001-01-01T00:00:00Z"


@pytest.fixture
def world(editor: Api) -> dict[str, str]:
    """A product with an open and a shipped release, a scheduled and a backlog feature, and
    decisions proposed, accepted and reversed; another product with an accepted decision."""
    product = editor.create_product()["id"]
    other = editor.create_product(name="Other")["id"]
    feature = editor.propose(product, "Share roadmaps", 2)["id"]
    backlog = editor.propose(product, "Dark mode", 1)["id"]
    done = editor.propose(product, "Export", 1)["id"]
    release = editor.plan(product, "1.0", "2027-03-01")["id"]
    later = editor.plan(product, "2.0", "2027-09-01")["id"]
    shipped = editor.plan(product, "0.9", "2027-01-01")["id"]
    foreign_feature = editor.propose(other, "Other feature")["id"]
    for status in ("accepted", "in_progress", "done"):
        editor.set_status(done, status, "progress")
    editor.schedule(done, shipped, "ready")
    editor.ship(shipped, today().isoformat(), "shipped on time")
    editor.schedule(feature, release, "core")

    def decided(product_id: str, title: str, changes: list[dict[str, Any]]) -> str:
        decision = editor.write(f"/products/{product_id}/decisions",
                                decision_body(title, "why"))["id"]
        editor.write(f"/decisions/{decision}/accept", {"changes": changes})
        return decision

    proposed = editor.write(f"/products/{product}/decisions",
                            decision_body("Maybe", "why"))["id"]
    accepted = decided(product, "Keep it", [])
    reversed_ = decided(product, "Move it", [move_body(feature, later)])
    editor.write(f"/decisions/{reversed_}/reverse", why())
    foreign = decided(other, "Theirs", [])
    return {"product": product, "other": other, "feature": feature, "backlog": backlog,
            "release": release, "later": later, "shipped": shipped,
            "foreign_feature": foreign_feature, "proposed": proposed, "accepted": accepted,
            "reversed": reversed_, "foreign": foreign, "unknown": UNKNOWN}


def propose(**fields: Any) -> dict[str, Any]:
    return {**decision_body("Drop dark mode", "Nobody asked twice"), **fields}


def accept(*changes: Any, **fields: Any) -> dict[str, Any]:
    return {"changes": list(changes), **fields}


MOVE = {"kind": "move_feature", "feature_id": "{backlog}", "release_id": "{release}"}
RICE = {"reach": 100, "impact": 1, "confidence": 0.5, "effort": 2}

PROPOSE = "/products/{product}/decisions"
PROPOSE_CASES = {
    "title absent": Case("POST", PROPOSE, {k: v for k, v in propose().items() if k != "title"},
                         422, "'title' is required"),
    "blank title": Case("POST", PROPOSE, propose(title="   "), 422, "title must not be empty"),
    "unknown field": Case("POST", PROPOSE, propose(budget=10), 422, "'budget' is not a field"),
    "unknown option field": Case("POST", PROPOSE, propose(options=[{"name": "A", "score": 1}],
                                                         chosen_option="A"),
                                 422, "'options.0.score' is not a field"),
    "no options": Case("POST", PROPOSE, propose(options=[]), 422, "'options'"),
    "options as text": Case("POST", PROPOSE, propose(options="A or B"), 422, "'options'"),
    "chosen option not considered": Case("POST", PROPOSE, propose(chosen_option="Other"), 422,
                                         "is not one of the options considered"),
    "same option twice": Case("POST", PROPOSE, propose(options=[{"name": "A"}, {"name": "a"}],
                                                      chosen_option="A"),
                              422, "different name"),
    "no deciders": Case("POST", PROPOSE, propose(deciders=[]), 422, "'deciders'"),
    "a decider twice": Case("POST", PROPOSE, propose(deciders=["dana", "dana"]), 422,
                            "lists someone twice"),
    "superseding an unknown decision": Case("POST", PROPOSE, propose(supersedes="{unknown}"),
                                            422, "No decision with id"),
    "superseding a malformed id": Case("POST", PROPOSE, propose(supersedes="D-1"), 422,
                                       "'supersedes'"),
    "superseding a proposal": Case("POST", PROPOSE, propose(supersedes="{proposed}"), 409,
                                   "only an accepted decision can be superseded"),
    "superseding a reversed decision": Case("POST", PROPOSE, propose(supersedes="{reversed}"),
                                            409, "already reversed"),
    "superseding another product's": Case("POST", PROPOSE, propose(supersedes="{foreign}"),
                                          422, "about another product"),
    "unknown product": Case("POST", "/products/{unknown}/decisions", propose(), 404,
                            "No product with id"),
    "viewer proposing": Case("POST", PROPOSE, propose(), 403, "needs role editor",
                             as_="viewer"),
    "missing token": Case("POST", PROPOSE, propose(), 401, "Authorization: Bearer",
                          as_="none"),
    "invalid JSON": Case("POST", PROPOSE, raw=b'{"title": ', status=400,
                         says="not valid JSON"),
    "NUL in a title": Case("POST", PROPOSE, propose(title="Drop\x00"), 422,
                           "'title': control characters are not allowed (found U+0000)"),
    "control character in a con": Case("POST", PROPOSE,
                                       propose(options=[{"name": "A", "cons": ["x\x1f"]}],
                                               chosen_option="A"),
                                       422, "'options.0.cons': control characters"),
}

ACCEPT = "/decisions/{proposed}/accept"
ACCEPT_CASES = {
    "unknown change kind": Case("POST", ACCEPT, accept({"kind": "delete_feature",
                                                        "feature_id": "{feature}"}),
                                422, "'changes.0': Input tag 'delete_feature'"),
    "change without a kind": Case("POST", ACCEPT, accept({"feature_id": "{feature}"}), 422,
                                  "'changes.0' needs a 'kind' field"),
    "change missing its feature": Case("POST", ACCEPT, accept({"kind": "move_feature",
                                                               "release_id": "{release}"}),
                                       422, "feature_id' is required"),
    "change with an unknown field": Case("POST", ACCEPT, accept({**MOVE, "when": "now"}), 422,
                                         "move_feature.when' is not a field"),
    "malformed target date": Case("POST", ACCEPT, accept({"kind": "change_target_date",
                                                          "release_id": "{release}",
                                                          "target_date": "soon"}),
                                  422, "YYYY-MM-DD"),
    "priority as text": Case("POST", ACCEPT, accept({"kind": "change_priority",
                                                     "feature_id": "{feature}",
                                                     "priority": "high"}),
                             422, "valid number"),
    "rationale given": Case("POST", ACCEPT, accept(MOVE, rationale="x"), 422,
                            "'rationale' is not a field"),
    "changes as an object": Case("POST", ACCEPT, {"changes": MOVE}, 422, "'changes'"),
    "too many changes": Case("POST", ACCEPT, accept(*[MOVE] * 101), 422, "at most 100 items"),
    "second change illegal": Case("POST", ACCEPT,
                                  accept(MOVE, {**MOVE, "feature_id": "{feature}",
                                                "release_id": "{shipped}"}),
                                  409, "Change 2 of 2 (move feature 'Share roadmaps' to "
                                       "release '0.9') is refused"),
    "unknown feature in a change": Case("POST", ACCEPT, accept({**MOVE,
                                                               "feature_id": "{unknown}"}),
                                        422, "Change 1 of 1 (move feature " + UNKNOWN),
    "another product's feature": Case("POST", ACCEPT,
                                      accept({**MOVE, "feature_id": "{foreign_feature}"}),
                                      422, "belongs to another product"),
    "unknown status": Case("POST", ACCEPT, accept({"kind": "change_status",
                                                   "feature_id": "{feature}",
                                                   "status": "finished"}),
                           422, "Unknown status 'finished'"),
    "unscheduling the backlog": Case("POST", ACCEPT, accept({"kind": "unschedule_feature",
                                                             "feature_id": "{backlog}"}),
                                     409, "not scheduled in any release"),
    "accepting twice": Case("POST", "/decisions/{accepted}/accept", accept(), 409,
                            "already accepted"),
    "accepting a reversed decision": Case("POST", "/decisions/{reversed}/accept", accept(),
                                          409, "already reversed"),
    "unknown decision": Case("POST", "/decisions/{unknown}/accept", accept(), 404,
                             "No decision with id"),
    "malformed decision id": Case("POST", "/decisions/d1/accept", accept(), 404,
                                  "not a valid decision_id"),
    "stale If-Match": Case("POST", ACCEPT, accept(MOVE), 412, "expected this decision at "
                           "version 3", headers={"If-Match": '"3"'}),
    "viewer accepting": Case("POST", ACCEPT, accept(), 403, "needs role editor",
                             as_="viewer"),
}

DECISION_CASES = {
    "reject without rationale": Case("POST", "/decisions/{proposed}/reject", {}, 422,
                                     "'rationale' is required"),
    "reject an accepted decision": Case("POST", "/decisions/{accepted}/reject", why(), 409,
                                        "already accepted"),
    "reject unknown": Case("POST", "/decisions/{unknown}/reject", why(), 404,
                           "No decision with id"),
    "reverse twice": Case("POST", "/decisions/{reversed}/reverse", why(), 409,
                          "can be reversed only once"),
    "reverse a proposal": Case("POST", "/decisions/{proposed}/reverse", why(), 409,
                               "only an accepted decision can be reversed"),
    "reverse without rationale": Case("POST", "/decisions/{accepted}/reverse", {}, 422,
                                      "'rationale' is required"),
    "reverse unknown": Case("POST", "/decisions/{unknown}/reverse", why(), 404,
                            "No decision with id"),
    "reverse with an unknown field": Case("POST", "/decisions/{accepted}/reverse",
                                          why(changes=[]), 422, "'changes' is not a field"),
    "viewer reversing": Case("POST", "/decisions/{accepted}/reverse", why(), 403,
                             "needs role editor", as_="viewer"),
    "read unknown": Case("GET", "/decisions/{unknown}", None, 404, "No decision with id"),
    "read a feature as a decision": Case("GET", "/decisions/{feature}", None, 404,
                                         "No decision with id"),
    "read as of the future": Case("GET", "/decisions/{accepted}?as_of=" + FUTURE, None, 422,
                                  "as_of is in the future"),
    "read as of a naive instant": Case("GET", "/decisions/{accepted}?as_of=2026-01-01T00:00",
                                       None, 422, "timezone"),
    "read as of nonsense": Case("GET", "/decisions/{accepted}?as_of=yesterday", None, 422,
                                "'as_of'"),
    "read before it existed": Case("GET", "/decisions/{accepted}?as_of=" + LONG_AGO, None,
                                   404, "did not exist yet"),
    "read as of a Unix time": Case("GET", "/decisions/{accepted}?as_of=1700000000", None,
                                   422, "'as_of': '1700000000' is not an ISO 8601 instant"),
    "lineage of unknown": Case("GET", "/decisions/{unknown}/lineage", None, 404,
                               "No decision with id"),
    "feature lineage of a release": Case("GET", "/features/{release}/lineage", None, 404,
                                         "No feature with id"),
    "release lineage of unknown": Case("GET", "/releases/{unknown}/lineage", None, 404,
                                       "No release with id"),
    "lineage without a token": Case("GET", "/features/{feature}/lineage", None, 401,
                                    "Authorization: Bearer", as_="none"),
    "list of unknown product": Case("GET", "/products/{unknown}/decisions", None, 404,
                                    "No product with id"),
    "list as of the future": Case("GET", "/products/{product}/decisions?as_of=" + FUTURE,
                                  None, 422, "as_of is in the future"),
    "list before the product": Case("GET", "/products/{product}/decisions?as_of=" + LONG_AGO,
                                    None, 404, "did not exist yet"),
}

SCORE = "/features/{feature}/score"
SCORE_CASES = {
    "unknown method": Case("POST", SCORE, why(method="moscow", inputs=RICE), 422,
                           "Unknown scoring method 'moscow'"),
    "unknown formula version": Case("POST", SCORE, why(method="rice.v9", inputs=RICE), 422,
                                    "Unknown scoring method 'rice.v9'"),
    "missing input": Case("POST", SCORE, why(method="rice", inputs={**RICE, "effort": None}),
                          422, "'inputs.effort'"),
    "input left out": Case("POST", SCORE, why(method="rice", inputs={"reach": 1}), 422,
                           "missing impact, confidence, effort"),
    "impact off the scale": Case("POST", SCORE, why(method="rice", inputs={**RICE,
                                                                          "impact": 4}),
                                 422, "RICE impact is one of"),
    "input as text": Case("POST", SCORE, why(method="rice", inputs={**RICE, "reach": "100"}),
                          422, "'inputs.reach'"),
    "wsjf off the scale": Case("POST", SCORE, why(method="wsjf", inputs={
        "business_value": 4, "time_criticality": 1, "risk_reduction": 1, "job_size": 1}),
        422, "modified Fibonacci"),
    "score without rationale": Case("POST", SCORE, {"method": "rice", "inputs": RICE}, 422,
                                    "'rationale' is required"),
    "score unknown feature": Case("POST", "/features/{unknown}/score",
                                  why(method="rice", inputs=RICE), 404, "No feature with id"),
    "viewer scoring": Case("POST", SCORE, why(method="rice", inputs=RICE), 403,
                           "needs role editor", as_="viewer"),
    "ranking as of the future": Case("GET", "/products/{product}/ranking?as_of=" + FUTURE,
                                     None, 422, "as_of is in the future"),
    "ranking as of nonsense": Case("GET", "/products/{product}/ranking?as_of=Q1", None, 422,
                                   "'as_of'"),
    "ranking of unknown product": Case("GET", "/products/{unknown}/ranking", None, 404,
                                       "No product with id"),
    "ranking as of a number": Case("GET", "/products/{product}/ranking?as_of=1.5", None, 422,
                                   "'as_of': '1.5' is not an ISO 8601 instant"),
    "control character in an input's name": Case(
        "POST", SCORE, why(method="rice", inputs={**RICE, "re\x00ach": 1}), 422,
        "'inputs': control characters"),
}

DIFF = "/products/{product}/diff"
THROUGH_TIME_CASES = {
    "diff without from": Case("GET", DIFF, None, 422, "'from' is required"),
    "diff from after to": Case("GET", DIFF + "?from=2026-06-01T00:00:00Z"
                               "&to=2026-05-01T00:00:00Z", None, 422, "must be before 'to'"),
    "diff from equal to to": Case("GET", DIFF + "?from=2026-06-01T00:00:00Z"
                                  "&to=2026-06-01T00:00:00Z", None, 422, "must be before"),
    "diff into the future": Case("GET", DIFF + "?from=2026-06-01T00:00:00Z&to=" + FUTURE,
                                 None, 422, "is in the future"),
    "diff from a naive instant": Case("GET", DIFF + "?from=2026-06-01T00:00", None, 422,
                                      "timezone"),
    "diff from a number": Case("GET", DIFF + "?from=0.5", None, 422,
                               "'from': '0.5' is not an ISO 8601 instant"),
    "diff to a Unix time": Case("GET", DIFF + "?from=2026-06-01T00:00:00Z&to=1700000000",
                                None, 422, "'to': '1700000000' is not an ISO 8601 instant"),
    "diff in an unknown format": Case("GET", DIFF + "?from=2026-06-01T00:00:00Z&format=pdf",
                                      None, 422, "'format'"),
    "diff of unknown product": Case("GET", "/products/{unknown}/diff?from=" + LONG_AGO, None,
                                    404, "No product with id"),
    "release slips of unknown": Case("GET", "/releases/{unknown}/slips", None, 404,
                                     "No release with id"),
    "release slips as of the future": Case("GET", "/releases/{release}/slips?as_of=" + FUTURE,
                                           None, 422, "as_of is in the future"),
    "product slips with limit 0": Case("GET", "/products/{product}/slips?limit=0", None, 422,
                                       "'limit'"),
    "product slips of unknown": Case("GET", "/products/{unknown}/slips", None, 404,
                                     "No product with id"),
    "product slips before it existed": Case("GET", "/products/{product}/slips?as_of="
                                            + LONG_AGO, None, 404, "did not exist yet"),
    "diff of a product that did not exist yet": Case(
        "GET", DIFF + "?from=2000-01-01T00:00:00Z&to=" + LONG_AGO, None, 404,
        "did not exist yet"),
    "notes of an unshipped release": Case("GET", "/releases/{release}/notes", None, 409,
                                          "once the release has shipped"),
    "notes of unknown": Case("GET", "/releases/{unknown}/notes", None, 404,
                             "No release with id"),
    "notes without a token": Case("GET", "/releases/{shipped}/notes", None, 401,
                                  "Authorization: Bearer", as_="none"),
    "product as of the future": Case("GET", "/products/{product}?as_of=" + FUTURE, None, 422,
                                     "as_of is in the future"),
    "feature as of a naive instant": Case("GET", "/features/{feature}?as_of=2026-01-01",
                                          None, 422, "timezone"),
    "release before it existed": Case("GET", "/releases/{release}?as_of=" + LONG_AGO, None,
                                      404, "did not exist yet"),
    "a release read as a feature then": Case("GET", "/features/{release}?as_of=" + LONG_AGO,
                                             None, 404, "No feature with id"),
    "as of an instant and a position": Case(
        "GET", "/features/{feature}?as_of_position=1&as_of=" + LONG_AGO, None, 422,
        "not both"),
    "roadmap as of both": Case("GET", "/products/{product}/roadmap?as_of_position=1&as_of="
                               + LONG_AGO, None, 422, "not both"),
    "as of a negative position": Case("GET", "/features/{feature}?as_of_position=-1", None,
                                      422, "'as_of_position': Input should be greater than"),
    "as of position 0": Case("GET", "/products/{product}/history?as_of_position=0", None,
                             422, "'as_of_position': Input should be greater than"),
    "as of a position that is not an integer": Case(
        "GET", "/products/{product}/roadmap?as_of_position=1.5", None, 422,
        "'as_of_position': Input should be a valid integer"),
    "as of a position past the end": Case(
        "GET", "/features/{feature}?as_of_position=100000", None, 409,
        "as_of_position 100000 is past the end of the event log"),
    "list as of a position past the end": Case(
        "GET", "/products/{product}/features?as_of_position=100000", None, 409,
        "past the end"),
    "as of a position before the entity existed": Case(
        "GET", "/releases/{release}?as_of_position=1", None, 404, "did not exist yet"),
}


@pytest.mark.parametrize("case", PROPOSE_CASES.values(), ids=PROPOSE_CASES.keys())
def test_bad_proposals_are_refused_and_change_nothing(
        client: TestClient, runtime: Runtime, world: dict[str, str], case: Case) -> None:
    check(client, runtime, world, case)


@pytest.mark.parametrize("case", ACCEPT_CASES.values(), ids=ACCEPT_CASES.keys())
def test_bad_acceptances_are_refused_and_apply_nothing(
        client: TestClient, runtime: Runtime, world: dict[str, str], case: Case) -> None:
    check(client, runtime, world, case)


@pytest.mark.parametrize("case", DECISION_CASES.values(), ids=DECISION_CASES.keys())
def test_bad_decision_requests_are_refused_and_change_nothing(
        client: TestClient, runtime: Runtime, world: dict[str, str], case: Case) -> None:
    check(client, runtime, world, case)


@pytest.mark.parametrize("case", SCORE_CASES.values(), ids=SCORE_CASES.keys())
def test_bad_scores_and_rankings_are_refused_and_change_nothing(
        client: TestClient, runtime: Runtime, world: dict[str, str], case: Case) -> None:
    check(client, runtime, world, case)


@pytest.mark.parametrize("case", THROUGH_TIME_CASES.values(), ids=THROUGH_TIME_CASES.keys())
def test_bad_reads_through_time_are_refused_and_change_nothing(
        client: TestClient, runtime: Runtime, world: dict[str, str], case: Case) -> None:
    check(client, runtime, world, case)
