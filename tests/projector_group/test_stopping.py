"""Members stop when told, even during their first catch-up, and a member without ``--follow``
stops once the partitions it holds are read, whoever else is in its group."""

import time
from pathlib import Path

import pytest

from projections.pg_views import PgViews
from tests.projector_group import members as group_members
from tests.projector_group.members import Member
from tests.projector_group.stream import (
    Stream,
    assert_all_consumed,
    assert_rows_match_offsets,
    assert_same_answers,
    stored_count,
)

#: The backlog a member finds when it starts: several thousand events.
BACKLOG = 4000


@pytest.mark.kafka
def test_a_member_told_to_stop_during_its_first_catch_up_stops_and_leaves_no_partial_batch(
        stream: Stream, group: str, members: list[Member], tmp_path: Path) -> None:
    stream.write_products(2)
    stream.write_bulk(BACKLOG)
    stream.publish()
    first = group_members.start(tmp_path, "first", stream.env(), group)
    members.append(first)
    first.wait_until_given_partitions()

    first.terminate()
    told = time.monotonic()
    assert first.exit_code(10) == 0, first.printed()[-3000:]
    assert time.monotonic() - told < 5, "it took more than a few seconds to stop"

    views = PgViews(stream.dsn)
    try:
        applied = views.event_count()
        assert applied < stored_count(stream.dsn), "the catch-up was over before SIGTERM"
    finally:
        views.close()
    assert_rows_match_offsets(stream)

    second = group_members.start(tmp_path, "second", stream.env(), group, follow=False)
    members.append(second)
    assert second.exit_code(90) == 0, second.printed()[-3000:]
    assert_all_consumed(stream)
    assert_same_answers(stream, tmp_path)


@pytest.mark.kafka
def test_members_catching_up_once_together_all_finish_and_leave_the_views_complete(
        stream: Stream, group: str, members: list[Member], tmp_path: Path) -> None:
    stream.write_products(6)
    stream.write_bulk(600)
    stream.publish()

    members += [group_members.start(tmp_path, f"m{n}", stream.env(), group, follow=False)
                for n in range(3)]
    codes = [member.exit_code(90) for member in members]

    assert codes == [0, 0, 0], [member.printed()[-2000:] for member in members]
    assert_all_consumed(stream)
    assert_same_answers(stream, tmp_path)
