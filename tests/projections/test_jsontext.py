"""The views' JSON text reads back as the very values written."""

import pytest

from projections.jsontext import dumps, dumps_sorted, loads


@pytest.mark.parametrize("value", [
    {"b": [1, 2.5, None, True], "a": "née ✓"},
    {"big": 2**64, "small": -(2**63) - 1, "u64": 2**64 - 1},  # beyond what orjson writes
    {"id": "12345678901234567890123", "n": 10**30},
    {1: "a key that is not text"},
])
def test_what_is_written_reads_back_as_the_same_values(value: object) -> None:
    expected = {str(k): v for k, v in value.items()}  # type: ignore[attr-defined]

    assert loads(dumps(value)) == expected
    assert loads(dumps_sorted(value)) == expected
    assert all(type(loads(dumps(value))[k]) is type(v) for k, v in expected.items())
