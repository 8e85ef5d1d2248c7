"""Every member started into a group is given its share of the partitions, also when the
group first meets on topics just made (a first deployment: the members make them)."""

import time
import uuid
from pathlib import Path

import pytest

from tests.projector_group import members as group_members
from tests.projector_group.members import Member
from tests.projector_group.stream import Stream

#: Waves of pairs of members, each pair starting together on topics of its own, made as
#: they start. A bad interleaving takes a few pairs in a hundred, so this catches it in a
#: run now and then only; every pair makes 4 topics of 6 partitions on the shared broker
#: (kept few: the dev broker's heap is small).
WAVES, PAIRS = 1, 4


@pytest.mark.kafka
def test_every_member_started_into_a_group_is_given_a_share_of_the_partitions(
        stream: Stream, members: list[Member], tmp_path: Path) -> None:
    for wave in range(WAVES):
        started = time.monotonic()
        this_wave: list[Member] = []
        for pair in range(PAIRS):
            new_topics = {**stream.env(),
                          "PDL_KAFKA__TOPIC_PREFIX": f"{stream.prefix}w{wave}p{pair}"}
            group = f"join-{uuid.uuid4().hex[:8]}"
            this_wave += [group_members.start(tmp_path, f"w{wave}p{pair}m{n}", new_topics,
                                              group) for n in range(2)]
        members += this_wave
        for member in this_wave:
            # A member left without partitions logs "No partition metadata for topic ..."
            # (it led its group's first assignment), counts itself caught up, and then
            # polls on, out of the group, for ever.
            member.wait_until_given_partitions(
                timeout_s=max(1.0, 30 - (time.monotonic() - started)))
        for member in this_wave:
            member.kill()
