"""The contract stays compatible with the last released one (``contract/released/v1``), and the
check that says so notices each kind of breaking change applied to a copy of the schemas.

No broker needed.
"""

import copy
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from contract import compatibility, generate
from contract.compatibility import breaking_changes, released_schemas

Schemas = dict[str, Any]
SCHEDULED = "feature.scheduled.v1.json"
STATUS = "feature.status_changed.v1.json"


def test_the_current_contract_is_compatible_with_the_released_one() -> None:
    released = released_schemas()
    assert SCHEDULED in released and len(released) >= 33
    assert breaking_changes(released, generate.schemas()) == []


def test_the_command_line_check_passes_on_the_committed_contract() -> None:
    done = subprocess.run([sys.executable, "-m", "contract.compatibility"], capture_output=True,
                          text=True, cwd=generate.CONTRACT_DIR.parent, check=False)
    assert (done.returncode, done.stdout) == (0, "")


def copy_of_the_schemas(tmp_path: Path) -> Path:
    """The committed schema files, copied where a test may break them."""
    return Path(shutil.copytree(generate.SCHEMA_DIR, tmp_path / "schemas"))


def edit(directory: Path, name: str, change: Callable[[Schemas], object]) -> None:
    path = directory / name
    schema = json.loads(path.read_text())
    change(schema)
    path.write_text(json.dumps(schema))


def data(schema: Schemas) -> Schemas:
    return schema["properties"]["data"]  # type: ignore[no-any-return]


def remove_release_id(schema: Schemas) -> None:
    del data(schema)["properties"]["release_id"]
    data(schema)["required"].remove("release_id")


def retype_entity_version(schema: Schemas) -> None:
    schema["properties"]["entity_version"]["type"] = "string"


def add_a_required_tenant(schema: Schemas) -> None:
    schema["properties"]["tenant"] = {"type": "string"}
    schema["required"].append("tenant")


def require_log_position(schema: Schemas) -> None:
    schema["required"].append("log_position")


def raise_the_minimum_version(schema: Schemas) -> None:
    schema["properties"]["entity_version"]["minimum"] = 2


def cap_the_rationale(schema: Schemas) -> None:
    schema["properties"]["rationale"]["maxLength"] = 500


def close_the_data(schema: Schemas) -> None:
    data(schema)["additionalProperties"] = False


def make_the_release_nullable(schema: Schemas) -> None:
    data(schema)["properties"]["release_id"]["type"] = ["string", "null"]


@pytest.mark.parametrize(("change", "kind", "where"), [
    (remove_release_id, "removed field", "/properties/data/properties/release_id"),
    (retype_entity_version, "changed type", "/properties/entity_version/type"),
    (add_a_required_tenant, "new required field", "/properties/tenant"),
    (require_log_position, "new required field", "/required"),
    (raise_the_minimum_version, "tightened constraint", "/properties/entity_version/minimum"),
    (cap_the_rationale, "tightened constraint", "/properties/rationale/maxLength"),
    (close_the_data, "tightened constraint", "/properties/data/additionalProperties"),
    (make_the_release_nullable, "changed type", "/properties/data/properties/release_id/type"),
])
def test_a_breaking_change_to_a_copy_of_the_schemas_is_reported(
        tmp_path: Path, change: Callable[[Schemas], None], kind: str, where: str) -> None:
    broken = copy_of_the_schemas(tmp_path)
    edit(broken, SCHEDULED, change)

    found = breaking_changes(released_schemas(), released_schemas(broken))

    assert [(b.schema, b.path, b.kind) for b in found] == [(SCHEDULED, where, kind)]


def test_a_removed_enum_value_is_reported() -> None:
    statuses = ["proposed", "accepted", "in_progress", "done", "dropped"]
    released = released_schemas()
    data(released[STATUS])["properties"]["status"]["enum"] = statuses
    current = copy.deepcopy(released)
    data(current[STATUS])["properties"]["status"]["enum"] = statuses[:-1]

    found = breaking_changes(released, current)

    assert [str(b) for b in found] == [
        f"{STATUS} /properties/data/properties/status/enum: removed enum value: \"dropped\""]


def test_a_message_type_no_longer_published_is_reported(tmp_path: Path) -> None:
    broken = copy_of_the_schemas(tmp_path)
    (broken / SCHEDULED).unlink()

    found = breaking_changes(released_schemas(), released_schemas(broken))

    assert [(b.schema, b.kind) for b in found] == [(SCHEDULED, "removed message type")]


def test_an_optional_field_new_documentation_and_a_new_message_type_are_compatible(
        tmp_path: Path) -> None:
    changed = copy_of_the_schemas(tmp_path)

    def add_optional_field_and_reword(schema: Schemas) -> None:
        data(schema)["properties"]["slot"] = {"type": ["string", "null"]}
        schema["description"] = "Reworded."
        schema["properties"]["actor"]["description"] = "Reworded too."

    edit(changed, SCHEDULED, add_optional_field_and_reword)
    (changed / "feature.archived.v1.json").write_text(json.dumps({"type": "object"}))

    assert breaking_changes(released_schemas(), released_schemas(changed)) == []


def test_the_command_line_check_fails_on_a_breaking_change_and_says_where(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    current = generate.schemas()
    remove_release_id(current[SCHEDULED])
    monkeypatch.setattr(compatibility, "schemas", lambda: current)

    assert compatibility.main([]) == 1
    out = capsys.readouterr().out
    assert (f"breaking: {SCHEDULED} /properties/data/properties/release_id: removed field"
            in out)
    assert "publish a .v2 type instead" in out


def test_releasing_records_the_current_schemas(tmp_path: Path) -> None:
    compatibility.release(generate.schemas(), tmp_path)

    assert released_schemas(tmp_path) == generate.schemas()
