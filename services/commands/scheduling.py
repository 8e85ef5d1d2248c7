"""What the release's scope must agree with: scheduling, moving, unscheduling, rejecting or
deferring, shipping and cancelling, each a change to a feature and to the release(s) it
enters or leaves.

The release is the consistency boundary for its scope, so every step here changes both
sides in the same unit of work (saved in one transaction): a concurrent ship or cancel
conflicts and is retried on fresh state, and a closed release never gains scope. Used by
the single commands (:mod:`services.commands.application`) and by decisions that carry
several changes (:mod:`services.commands.change_requests`).
"""

from datetime import date
from uuid import UUID

from domain.context import cascade
from domain.errors import InvalidCommand
from domain.feature import DONE, Feature
from domain.reasons import Reason
from domain.release import Release
from services.store.unit_of_work import UnitOfWork


def schedule(work: UnitOfWork, feature: Feature, release_id: UUID, reason: Reason) -> None:
    """Schedule ``feature`` into ``release_id``, moving it out of its current release."""
    source = None if feature.release_id is None else work.load(Release, feature.release_id)
    target = work.load(Release, release_id, referenced=True)
    if target.product_id != feature.product_id:
        raise InvalidCommand(
            f"Release '{target.name}' belongs to another product; a feature can only "
            "be scheduled into a release of its own product."
        )
    feature.schedule(release_id, reason)  # refuses rejected, shipped, already there
    with cascade() as scope:
        if source is not None:
            source.remove_feature(feature.id, reason)
        target.add_feature(feature.id, reason)
    scope.caused_by(feature)


def unschedule(work: UnitOfWork, feature: Feature, reason: Reason) -> None:
    """Return ``feature`` to the backlog, out of the release it was in."""
    source_id = feature.release_id
    feature.unschedule(reason)  # refuses a feature in no release, or one that shipped
    assert source_id is not None
    with cascade() as scope:
        work.load(Release, source_id).remove_feature(feature.id, reason)
    scope.caused_by(feature)


def change_status(work: UnitOfWork, feature: Feature, status: str, reason: Reason) -> None:
    """Move ``feature`` along its lifecycle; rejecting or deferring a scheduled feature takes
    it out of its release too, for the same reason."""
    source_id = feature.release_id
    feature.change_status(status, reason)  # refuses moves the lifecycle does not allow
    if source_id is not None and feature.release_id is None:
        with cascade() as scope:
            work.load(Release, source_id).remove_feature(feature.id, reason)
        scope.caused_by(feature)


def ship(work: UnitOfWork, release: Release, shipped_on: date, reason: Reason) -> None:
    """Ship ``release``: its done features ship with it, unfinished ones return to the
    backlog. Each of those changes names the release's ship as its cause."""
    with cascade() as scope:
        for feature in [work.load(Feature, fid) for fid in release.feature_ids]:
            if feature.status == DONE:
                feature.ship(reason)
            else:
                release.remove_feature(feature.id, reason)
                feature.unschedule(reason)
    release.ship(shipped_on, reason)
    scope.caused_by(release)


def cancel(work: UnitOfWork, release: Release, reason: Reason) -> None:
    """Cancel ``release``: its features return to the backlog, each change naming the
    cancellation as its cause."""
    with cascade() as scope:
        for feature in [work.load(Feature, fid) for fid in release.feature_ids]:
            release.remove_feature(feature.id, reason)
            feature.unschedule(reason)
    release.cancel(reason)
    scope.caused_by(release)
