"""A full disk: writes are answered 507 (nothing changes), the server stays up and takes
writes again once space is freed; ``pdl serve`` on a full disk says so in one line.

The disk is a small tmpfs mounted for the test (needs root with CAP_SYS_ADMIN; skipped
otherwise), filled up with a file that is then deleted.
"""

import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.http.app import create_app
from services.identity.tokens import Role
from services.runtime.service import build_runtime
from services.runtime.settings import ApiSettings, Settings
from tests.api.driver import Api
from tests.api.processes import free_port, pdl
from tests.support.builders import PRODUCT_BODY

#: A product whose fields are long, so that storing it needs new pages of the disk.
BIG_PRODUCT = {**PRODUCT_BODY, "vision": "v" * 4000, "value_proposition": "p" * 4000,
               "target_customers": "c" * 4000}


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs, unmounted after the test."""
    mount = tmp_path / "disk"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): "
                    f"{mounted.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Fill ``disk`` up with one file; returns it (delete it to free the space)."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as file:
        try:
            while file.write(b"\0" * 4096):
                pass
        except OSError as error:
            assert error.errno == errno.ENOSPC
    return filler


def test_a_write_on_a_full_disk_is_507_and_the_server_recovers_once_space_is_freed(
        disk: Path) -> None:
    runtime = build_runtime(Settings(data_dir=disk / "data",
                                     api=ApiSettings(read_your_writes_timeout_s=60)))
    token, _ = runtime.tokens.create("alice", Role.editor)
    with TestClient(create_app(runtime)) as client:
        api = Api(client, token)
        api.create_product()
        filler = fill(disk)
        before = runtime.app.event_count()

        answers = [api.post("/products", BIG_PRODUCT) for _ in range(20)]

        statuses = [a.status_code for a in answers]
        assert set(statuses) <= {201, 507} and 507 in statuses, statuses
        full = next(a for a in answers if a.status_code == 507)
        assert full.headers["content-type"] == "application/problem+json"
        assert full.json()["type"] == "urn:pdl:problem:disk-full"
        assert "disk is full" in full.json()["detail"]
        assert runtime.app.event_count() == before + statuses.count(201)

        filler.unlink()
        written = api.write("/products", BIG_PRODUCT)
        assert api.read("/products/" + written["id"], after=written["position"])["name"]
        assert api.get("/audit", after=written["position"]).status_code == 200
        assert client.get("/health").status_code == 200
    runtime.close()


def test_pdl_serve_on_a_full_disk_exits_with_one_clear_line(disk: Path) -> None:
    data = disk / "data"
    assert pdl("--data-dir", str(data), "token", "create", "--name", "alice",
               "--role", "editor").returncode == 0
    fill(disk)

    for folder in (data, disk / "new"):  # a restart, and a first start
        served = pdl("--data-dir", str(folder), "serve", "--workers", "1",
                     "--port", str(free_port()))

        assert served.returncode == 1
        assert served.stderr.splitlines() == [
            f"pdl: the disk holding {folder} is full ({served.stderr.split('(')[1].split(')')[0]}"
            "); free some space, then start again."]
        assert "Traceback" not in served.stderr
