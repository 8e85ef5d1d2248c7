"""Projectors scaled out through a consumer group build, together, the views the store would."""

from pathlib import Path

import pytest

from tests.kafka.streams import wait_until
from tests.projector_group import members as group_members
from tests.projector_group.members import Member
from tests.projector_group.stream import (
    Stream,
    assert_rows_match_offsets,
    assert_same_answers,
    idle,
    tracked,
    write_and_publish,
)


@pytest.mark.kafka
@pytest.mark.parametrize("count", [2, 3])
def test_members_of_one_group_build_the_views_the_store_builds(
        count: int, stream: Stream, group: str, members: list[Member], tmp_path: Path) -> None:
    write_and_publish(stream, rounds=1)
    members += group_members.join_one_by_one(
        tmp_path, [f"m{n}" for n in range(count)], stream.env(), group)
    write_and_publish(stream, rounds=3)
    idle(stream)

    assert all(member.alive() for member in members)
    held = [member.resumed_at() for member in members]
    assert all(held), f"a member was given no partition: {held}"
    assert_same_answers(stream, tmp_path)
    for member in members:
        member.stop()


@pytest.mark.kafka
def test_a_member_killed_and_one_added_mid_stream_leave_nothing_missing_or_stale(
        stream: Stream, group: str, members: list[Member], tmp_path: Path) -> None:
    write_and_publish(stream, rounds=1)
    members += group_members.join_one_by_one(tmp_path, ["m1", "m2"], stream.env(), group)
    stream.write_bulk(1500)
    stream.publish()
    wait_until(lambda: len(tracked(stream.dsn)) > 0, 30, "the members to apply something")

    members[0].kill()  # mid-backlog: its session expires, its partitions move
    assert_rows_match_offsets(stream)  # whatever it was doing, no batch half-applied
    write_and_publish(stream, rounds=1)
    members.append(group_members.start(tmp_path, "m3", stream.env(), group))
    write_and_publish(stream, rounds=3)
    idle(stream)

    assert not members[0].alive() and members[1].alive() and members[2].alive()
    assert members[2].resumed_at(), "the added member was never given a partition"
    assert_same_answers(stream, tmp_path)
    for member in members[1:]:
        member.stop()
