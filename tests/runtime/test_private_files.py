"""The data folder and every file the service writes are readable by their owner only."""

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.runtime.service import build_runtime
from services.runtime.settings import Settings
from tests.api.processes import pdl, serving


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def files_and_modes(folder: Path) -> dict[str, int]:
    return {path.name: mode(path) for path in folder.iterdir() if path.is_file()}


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """The common umask (022), under which new files are readable by everyone."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("permissive_umask")
def test_a_runtime_creates_its_folder_and_files_for_its_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    runtime = build_runtime(Settings(data_dir=data), shared=True)  # shared: leader.lock too
    runtime.start()
    try:
        modes = files_and_modes(data)
    finally:
        runtime.close()

    assert mode(data) == 0o700
    assert {"events.db", "events.db-wal", "events.db-shm", "views.db", "views.db-wal",
            "views.db-shm", "service.db", "service.db-wal", "service.db-shm",
            "leader.lock"} <= set(modes)
    assert modes == dict.fromkeys(modes, 0o600)


@pytest.mark.usefixtures("permissive_umask")
def test_files_left_readable_by_others_are_made_private_again(tmp_path: Path) -> None:
    data = tmp_path / "data"
    build_runtime(Settings(data_dir=data)).close()
    for name in ("events.db", "views.db", "service.db"):
        (data / name).chmod(0o644)

    build_runtime(Settings(data_dir=data)).close()

    assert files_and_modes(data) == dict.fromkeys(["events.db", "views.db", "service.db"], 0o600)


@pytest.mark.usefixtures("permissive_umask")
def test_pdl_creates_everything_for_its_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert pdl("--data-dir", str(data), "token", "create", "--name", "alice",
               "--role", "admin").returncode == 0
    with serving(data, tmp_path / "logs", workers=2):
        modes = files_and_modes(data)

    assert mode(data) == 0o700
    assert {"events.db", "events.db-wal", "views.db", "service.db", "leader.lock"} <= set(modes)
    assert modes == dict.fromkeys(modes, 0o600)
