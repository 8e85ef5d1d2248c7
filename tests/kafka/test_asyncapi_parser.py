"""The AsyncAPI documents pass the official parser (``@asyncapi/parser``, run by
``contract/validate/validate.mjs`` with Node; ``deploy/test.sh`` installs it with ``npm ci``),
the bundle on its own anywhere, and every payload schema is a valid JSON Schema 2020-12.

No broker needed; nothing is fetched: the parser resolves the split document's references
from disk.
"""

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from contract import generate

VALIDATE = generate.CONTRACT_DIR / "validate"


def parse(*documents: Path) -> subprocess.CompletedProcess[str]:
    """Run the official parser on ``documents``: exit 0 and ``ok: ...`` lines when valid."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the AsyncAPI parser cannot run here")
    assert (VALIDATE / "node_modules" / "@asyncapi" / "parser").is_dir(), (
        "the AsyncAPI parser is not installed: npm ci --prefix contract/validate "
        "(deploy/test.sh does)")
    return subprocess.run(["node", str(VALIDATE / "validate.mjs"), *map(str, documents)],
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_split_document_and_the_bundle_pass_the_official_parser() -> None:
    done = parse(generate.ASYNCAPI_PATH, generate.BUNDLE_PATH)

    assert done.returncode == 0, done.stdout + done.stderr
    messages = len(generate.schemas())
    assert done.stdout.splitlines() == [
        f"ok: {generate.ASYNCAPI_PATH} ({messages} messages)",
        f"ok: {generate.BUNDLE_PATH} ({messages} messages)"]


def test_the_bundle_is_valid_alone_where_the_split_document_is_not(tmp_path: Path) -> None:
    bundle = Path(shutil.copy(generate.BUNDLE_PATH, tmp_path))
    split = Path(shutil.copy(generate.ASYNCAPI_PATH, tmp_path))

    done = parse(bundle, split)

    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"ok: {bundle}")
    unresolved = [line for line in lines if line.startswith(f"{split}: invalid-ref")]
    assert len(unresolved) == len(generate.schemas())
    assert lines[-1] == f"invalid: {split}" and done.returncode == 1


def test_the_parser_refuses_a_document_that_breaks_the_specification(tmp_path: Path) -> None:
    document = generate.asyncapi_bundle()
    document["operations"]["publish.feature"]["channel"] = {"$ref": "#/channels/nowhere"}
    del document["info"]["title"]
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(document))

    done = parse(broken)

    assert done.returncode == 1
    assert "#/channels/nowhere" in done.stdout and "title" in done.stdout


def test_every_payload_schema_is_a_valid_json_schema_2020_12() -> None:
    for name, schema in generate.schemas().items():
        assert schema["$schema"] == Draft202012Validator.META_SCHEMA["$id"], name
        Draft202012Validator.check_schema(schema)


def test_the_bundle_refers_only_inside_itself_and_inlines_each_schema() -> None:
    bundle = yaml.safe_load(generate.BUNDLE_PATH.read_text())

    assert all(ref.startswith("#/") for ref in refs(bundle))
    for key, message in bundle["components"]["messages"].items():
        assert message["payload"]["schema"] == generate.schemas()[f"{key}.json"]


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []
