"""The container image: its dependencies come from a lock with hashes that satisfies
pyproject.toml (regenerate with deploy/lock.sh), it runs as a non-root user, and Docker
checks its health on ``/livez``."""

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.api.processes import ROOT

LOCK = ROOT / "deploy" / "requirements.lock"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def pinned() -> dict[str, str]:
    """Package -> version, for every requirement of the lock."""
    pins = re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", LOCK.read_text(), flags=re.MULTILINE)
    return {canonicalize_name(name): version for name, version in pins}


def project() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_locked_requirement_is_one_version_with_the_hashes_of_its_files() -> None:
    lines = [line for line in LOCK.read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    entries = re.split(r"\n(?=\S)", "\n".join(lines))

    assert entries
    for entry in entries:
        assert re.match(r"^[A-Za-z0-9._-]+==\S+ \\", entry), entry
        assert "--hash=sha256:" in entry, entry


def test_the_lock_satisfies_every_runtime_and_build_requirement_of_pyproject() -> None:
    # Fails after a dependency is added or changed in pyproject.toml: run deploy/lock.sh.
    pins = pinned()
    needed = [*project()["project"]["dependencies"], *project()["build-system"]["requires"]]
    unmet = []
    for line in needed:
        requirement = Requirement(line)
        version = pins.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            unmet.append(f"{line} (locked: {version})")

    assert unmet == [], "run deploy/lock.sh"


def test_the_image_installs_the_lock_with_hashes_and_the_project_without_resolving() -> None:
    steps = DOCKERFILE.read_text()

    assert "pip install --require-hashes --no-deps -r deploy/requirements.lock" in steps
    assert "pip install --no-deps --no-build-isolation ." in steps


def test_the_image_runs_as_a_non_root_user_and_checks_its_health_on_livez() -> None:
    steps = DOCKERFILE.read_text()
    users = re.findall(r"^USER (\S+)", steps, flags=re.MULTILINE)
    health = re.search(r"^HEALTHCHECK .*?CMD (.*)$", steps, flags=re.MULTILINE | re.DOTALL)

    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert health is not None and "/livez" in health.group(1)
