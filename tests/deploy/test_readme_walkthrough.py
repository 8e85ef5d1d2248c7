"""The README's walkthrough runs as written, with bash, against a live ``pdl serve``."""

import re
import subprocess
from pathlib import Path

import pytest

from tests.api.processes import ROOT, environment, serving

pytestmark = pytest.mark.slow

#: The comment that marks a README shell block as part of the walkthrough.
MARK = "<!-- walkthrough: run by tests/deploy/test_readme_walkthrough.py -->"


def walkthrough() -> list[str]:
    """The marked ``sh`` blocks of the README, in order."""
    text = (ROOT / "README.md").read_text()
    return re.findall(re.escape(MARK) + r"\n```sh\n(.*?)```", text, flags=re.DOTALL)


def test_the_readme_marks_the_walkthrough_and_the_decisions_blocks() -> None:
    blocks = walkthrough()

    assert len(blocks) == 2
    assert blocks[0].startswith("API=") and blocks[1].startswith("D=")


#: Checks run after each block, with its variables: what the reader was told they would see.
CHECKS = [
    """curl "${H[@]}" "$API/products/$P/roadmap?as_of=$SCHEDULED" \\
         | jq -e '[.releases[] | {(.name): [.features[].title]}] | add
                  == {"1.0": ["CSV export"], "1.1": []}'
       curl "${H[@]}" "$API/products/$P/roadmap?after=$POS" \\
         | jq -e '[.releases[] | {(.name): [.features[].title]}] | add
                  == {"1.0": [], "1.1": ["CSV export"]}'""",
    """curl "${H[@]}" $API/decisions/$D/lineage | jq -e '.reversed_by != null'""",
]


def test_every_walkthrough_command_succeeds_against_a_live_server(tmp_path: Path) -> None:
    # As a reader would: in the folder where ./deploy/run.sh keeps ./pdl-data, every
    # command run by bash, stopping at the first that fails (curl -f fails on an HTTP error).
    blocks = walkthrough()
    script = "set -euo pipefail\n" + "\n".join(
        f"{block}\n{check}\n" for block, check in zip(blocks, CHECKS, strict=True))
    with serving(tmp_path / "pdl-data", tmp_path / "logs", workers=1) as server:
        result = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True,
                                text=True, timeout=120, env=environment(API=server.url))

    assert result.returncode == 0, f"{result.stderr}\n{result.stdout}"
    assert result.stderr == ""
