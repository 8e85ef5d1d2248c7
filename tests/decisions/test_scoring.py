"""Reproducible priorities: RICE and WSJF scores, and a feature's priority set from one."""

import math

import pytest

from domain import scoring
from domain.errors import InvalidCommand, RuleViolation
from domain.feature import Feature
from tests.support.builders import a_feature, because
from tests.support.gwt import given, recorded, then_events, then_refused, when

RICE = {"reach": 2000, "impact": 2, "confidence": 0.8, "effort": 4}
WSJF = {"business_value": 8, "time_criticality": 5, "risk_reduction": 3, "job_size": 5}


def test_rice_is_reach_times_impact_times_confidence_over_effort() -> None:
    score = scoring.score("rice", RICE)

    assert (score.formula, score.value) == ("rice.v1", 800.0)
    assert score.explain() == "rice.v1: 2000 * 2 * 0.8 / 4 = 800"


def test_wsjf_is_the_cost_of_delay_over_the_job_size() -> None:
    score = scoring.score("wsjf", WSJF)

    assert (score.formula, score.value) == ("wsjf.v1", 3.2)
    assert score.explain() == "wsjf.v1: (8 + 5 + 3) / 5 = 3.2"


def test_a_formula_version_can_be_named_explicitly() -> None:
    assert scoring.score("rice.v1", RICE) == scoring.score("rice", RICE)


@pytest.mark.parametrize(("method", "inputs", "message"), [
    ("rice", {**RICE, "impact": 4}, r"RICE impact is one of 3 \(massive\).*got 4"),
    ("rice", {**RICE, "confidence": 80}, r"fraction above 0 and at most 1 \(0.8 for 80%\)"),
    ("rice", {**RICE, "effort": 0}, "RICE effort is in person-months, from 0.1 to 1000"),
    ("rice", {**RICE, "reach": -1}, "RICE reach .* from 0 to 10,000,000"),
    ("rice", {**RICE, "reach": math.nan}, "'reach' must be a finite number"),
    ("rice", {**RICE, "reach": "many"}, "'reach' must be a number; got 'many'"),
    ("wsjf", {**WSJF, "job_size": 4}, "WSJF job size is one of 1, 2, 3, 5, 8, 13, 20"),
    ("rice", {"reach": 1, "impact": 1, "confidence": 1, "size": 1},
     "needs exactly these inputs: reach, impact, confidence, effort; missing effort; "
     "unexpected size"),
    ("moscow", RICE, "Unknown scoring method 'moscow'. Use one of: rice, wsjf, rice.v1"),
])
def test_bad_inputs_are_refused_with_the_range_they_must_be_in(
        method: str, inputs: dict, message: str) -> None:
    with then_refused(InvalidCommand, message):
        scoring.score(method, inputs)


def test_scoring_a_feature_records_the_inputs_formula_and_resulting_priority() -> None:
    feature = given(*recorded(a_feature(priority=3)))

    events = when(feature.score_priority, "rice", RICE, because("Quarterly scoring."))

    then_events(events, (Feature.PriorityScored, {
        "formula": "rice.v1", "inputs": {k: float(v) for k, v in RICE.items()},
        "old_priority": 3.0, "priority": 800.0, "rationale": "Quarterly scoring.",
    }))
    assert feature.priority == 800.0


def test_scoring_again_with_the_same_inputs_is_refused() -> None:
    feature = given(*recorded(a_feature(), lambda f: f.score_priority("rice", RICE, because())))

    with then_refused(RuleViolation, "already has that rice.v1 score", feature):
        feature.score_priority("rice", RICE, because())


def test_a_later_hand_set_priority_can_be_rescored_with_the_same_inputs() -> None:
    feature = given(*recorded(a_feature(), lambda f: f.score_priority("rice", RICE, because()),
                              lambda f: f.change_priority(5, because())))

    feature.score_priority("rice", RICE, because())

    assert feature.priority == 800.0


def test_a_new_formula_version_never_rewrites_a_recorded_score(
        monkeypatch: pytest.MonkeyPatch) -> None:
    past = recorded(a_feature(), lambda f: f.score_priority("rice", RICE, because()))
    v1 = scoring.FORMULAS["rice.v1"]
    monkeypatch.setitem(scoring.FORMULAS, "rice.v2", scoring.Formula(
        "rice.v2", v1.inputs, v1.check, lambda i: v1.compute(i) / 10, v1.show))
    monkeypatch.setitem(scoring.CURRENT, "rice", "rice.v2")

    feature = given(*past)

    assert feature.priority == 800.0
    assert feature.score == {"formula": "rice.v1", "inputs": past[-1].inputs}
    assert scoring.score(past[-1].formula, past[-1].inputs).value == 800.0
    assert scoring.score("rice", RICE).value == 80.0
