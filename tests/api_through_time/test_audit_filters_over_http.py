"""``/audit`` answers "which changes cite evidence?" and "what did this decision do?" in
one call each: ``evidence=present|absent`` and ``decision=ID``."""

from typing import Any

from tests.api.driver import Api
from tests.api_through_time.scenario import History


def every(api: Api, history: History, **filters: Any) -> list[dict[str, Any]]:
    return api.read("/audit", after=history.last_position, limit=500, **filters)["items"]


def test_changes_with_and_without_evidence_split_the_trail(
        editor: Api, history: History) -> None:
    cited = every(editor, history, evidence="present")
    uncited = every(editor, history, evidence="absent")

    assert cited and all(item["evidence"] for item in cited)
    assert uncited and not any(item["evidence"] for item in uncited)
    assert sorted(i["event_id"] for i in cited + uncited) == sorted(
        i["event_id"] for i in every(editor, history))


def test_a_decisions_trail_holds_its_own_changes_and_those_it_made(
        editor: Api, history: History) -> None:
    d1 = history.ids["d1"]

    trail = every(editor, history, decision=d1)

    own = [i["type"] for i in trail if i["entity_id"] == d1]
    made = {i["type"] for i in trail if i["entity_id"] != d1}
    assert own == ["decision.proposed", "decision.accepted"]
    assert made >= {"feature.scheduled", "release.target_date_changed"}
    assert all(i["decision_id"] == d1 for i in trail if i["entity_id"] != d1)
    assert every(editor, history, decision=d1, evidence="absent", type="decision.proposed") \
        == [i for i in trail if i["type"] == "decision.proposed" and not i["evidence"]]
