"""Writers whose clocks disagree: a change stamped before its predecessor.

Two processes on one store can stamp events with clocks that are a little apart. The views
must still hold exactly one version of an entity at any instant, and the newest version
must be the current one.
"""

from datetime import date, datetime, timedelta
from uuid import UUID

from projections.feeding.catch_up import StoreCatchUp
from projections.views import Views
from services.commands.application import DecisionLog
from tests.support.builders import BOOKS, by
from tests.support.clock import SimulatedClock


def release_dates(views: Views, product_id: UUID, **as_of: datetime) -> list[str]:
    roadmap = views.roadmap(product_id, **as_of)
    assert roadmap is not None
    return [release["target_date"] for release in roadmap["releases"]]


def test_a_change_stamped_before_its_predecessor_still_leaves_one_version_at_every_instant(
    log: DecisionLog, views: Views, catchup: StoreCatchUp, clock: SimulatedClock
) -> None:
    product_id = BOOKS.a_product(log)
    release_id = BOOKS.a_release(log, product_id, "1.0", date(2027, 3, 1))
    planned_at = clock.now
    clock.now = planned_at - timedelta(minutes=5)  # the next writer's clock is behind
    log.change_target_date(release_id, date(2027, 3, 15), by("alice", "Certification is late."))
    catchup.run_until_caught_up()

    assert release_dates(views, product_id) == ["2027-03-15"]
    assert release_dates(views, product_id, as_of=planned_at) == ["2027-03-15"]
    assert release_dates(views, product_id, as_of=planned_at + timedelta(hours=1)) == [
        "2027-03-15"
    ]
    assert release_dates(views, product_id, as_of=planned_at - timedelta(microseconds=1)) == []
