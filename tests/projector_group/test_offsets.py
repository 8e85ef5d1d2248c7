"""Each member records its partitions' offsets with the rows they produced: all consumed means
all recorded, and a member restarted afterwards applies nothing."""

from pathlib import Path

import pytest

from projections.pg_views import PgViews
from tests.projector_group import members as group_members
from tests.projector_group.members import Member
from tests.projector_group.stream import (
    Stream,
    assert_all_consumed,
    batch_rows,
    checksum,
    idle,
    stored_count,
    tracked,
    write_and_publish,
)


@pytest.mark.kafka
def test_every_partition_is_recorded_consumed_and_a_restarted_member_applies_nothing(
        stream: Stream, group: str, members: list[Member], tmp_path: Path) -> None:
    write_and_publish(stream, rounds=1)
    members += group_members.join_one_by_one(tmp_path, ["m1", "m2"], stream.env(), group)
    write_and_publish(stream, rounds=2)
    idle(stream)
    for member in members:
        member.stop()

    offsets = tracked(stream.dsn)
    assert_all_consumed(stream)
    assert len(offsets) > 6, "too few partitions hold messages to tell members apart"
    views = PgViews(stream.dsn)
    try:
        before = (checksum(views), batch_rows(stream.dsn), views.event_count())
        assert before[2] == stored_count(stream.dsn)

        again = group_members.start(tmp_path, "again", stream.env(), group, follow=False)
        members.append(again)
        assert again.exit_code(60) == 0, again.printed()[-3000:]

        resumed = again.resumed_at()
        assert resumed and {s: o for s, o in resumed.items() if o} == offsets, (
            "the restarted member did not resume at the recorded offsets")
        assert f"hold {before[2]} changes (source: kafka)" in again.printed()
        # Any applied batch rewrites its rows of tracking (a new row version).
        assert (checksum(views), batch_rows(stream.dsn), views.event_count()) == before
    finally:
        views.close()
