"""Decisions and scores read well in the audit, and scores reorder the backlog."""

import dataclasses
from datetime import date

from contract.changes import event_id
from projections.feeding.catch_up import StoreCatchUp
from projections.views import Views, apply_changes
from services.commands.application import DecisionLog
from services.commands.change_requests import MoveFeature
from tests.projections.scenario import changes_of
from tests.support.builders import BOOKS, by


def test_a_change_made_by_a_decision_names_the_decision_and_reads_well(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    product = BOOKS.a_product(log)
    r1, r2 = (BOOKS.a_release(log, product, name, date(2026, m, 1)) for name, m in [("1.0", 3),
                                                                              ("1.1", 6)])
    export = BOOKS.a_feature(log, product, "Export")
    log.schedule_feature(export, r1, by("alice", "Customers asked"))
    decision = BOOKS.a_decision(log, product, "Move Export to 1.1")
    log.accept_decision(decision, [MoveFeature(export, r2)], actor="dana")
    catchup.run_until_caught_up()

    decision_history = views.history(decision)
    move = views.history(export)[-1]

    assert [i["summary"] for i in decision_history] == [
        "dana proposed decision 'Move Export to 1.1' (chosen option: Move)",
        "dana accepted decision 'Move Export to 1.1', causing 1 roadmap change",
    ]
    assert move["summary"] == "dana moved feature 'Export' from release '1.0' to release '1.1'"
    assert move["decision_id"] == str(decision)
    roadmap = views.roadmap(product)
    assert roadmap is not None and roadmap["now"]["features"] == []


def test_a_reversal_names_the_decision_it_reverses(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    product = BOOKS.a_product(log)
    decision = BOOKS.a_decision(log, product, "Drop dark mode")
    log.accept_decision(decision, [], actor="dana")
    reversal = log.reverse_decision(decision, by("alice", "Customers complained"))
    catchup.run_until_caught_up()

    last = views.history(decision)[-1]

    assert last["summary"] == (
        "alice marked decision 'Drop dark mode' reversed by decision 'Reverse: Drop dark mode'")
    assert {"field": "reversed_by", "old": None, "new": str(reversal.id)} in last["changes"]


def test_a_scored_priority_reorders_the_backlog_and_records_its_formula(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    product = BOOKS.a_product(log)
    BOOKS.a_feature(log, product, "Import", 3)
    export = BOOKS.a_feature(log, product, "Export", 1)
    log.score_priority(export, "rice", {"reach": 1000, "impact": 2, "confidence": 0.8,
                                        "effort": 4}, by("alice", "Scored in planning"))
    catchup.run_until_caught_up()

    roadmap = views.roadmap(product)
    scored = views.history(export)[-1]

    assert roadmap is not None
    assert [(f["title"], f["priority"]) for f in roadmap["backlog"]] == [
        ("Export", 400), ("Import", 3)]
    assert scored["summary"] == "alice scored feature 'Export' with rice.v1: priority 1 to 400"


def test_a_change_type_the_views_do_not_know_is_audited_and_leaves_the_roadmap_alone(
        log: DecisionLog, views: Views) -> None:
    product = BOOKS.a_product(log)
    changes = changes_of(log)
    novel = dataclasses.replace(
        changes[0], type="product.renamed", entity_version=2, event_id="novel",
        log_position=None, data={"old_name": "Ledger", "name": "Books"})
    with views.transaction() as conn:
        apply_changes(conn, changes)
    roadmap_before = views.roadmap(product)

    with views.transaction() as conn:
        apply_changes(conn, [novel])

    [item] = views.audit(change_type="product.renamed")["items"]
    assert item["summary"] == f"olivia recorded product.renamed on product {product}"
    assert item["changes"] == [{"field": "name", "old": "Ledger", "new": "Books"}]
    assert views.roadmap(product) == roadmap_before
    # The views key a change by entity and version, from which its id derives.
    assert item["event_id"] == str(event_id(product, 2)) != novel.event_id
