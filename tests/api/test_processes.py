"""The service as real processes: first start, restart on the same files, rebuild, CLI."""

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.identity.tokens import TOKEN_PREFIX
from tests.api.driver import Api
from tests.api.processes import TOKEN_LINE, pdl, serving
from tests.api.test_roadmap_scenario import JAN_4, expected_roadmap, play_scenario
from tests.support.clock import SimulatedClock

pytestmark = pytest.mark.slow


def admin_token(printed: str) -> str:
    """The first admin token, from the file whose path the first start printed (or from the
    line itself, with ``--print-admin-token``)."""
    lines = [line for line in printed.splitlines() if line.startswith(TOKEN_LINE)]
    assert len(lines) == 1, printed
    told = lines[0].rsplit(": ", 1)[1]
    return told if told.startswith(TOKEN_PREFIX) else Path(told).read_text().strip()


def views_of(api: Api, ids: dict[str, Any]) -> dict[str, Any]:
    """Everything the views serve about the scenario, as JSON."""
    return {
        "roadmap": api.read(f"/products/{ids['product']}/roadmap", after=ids["position"]),
        "products": api.read("/products"),
        "feature": api.read(f"/features/{ids['export']}/history"),
        "release": api.read(f"/releases/{ids['r1']}/history"),
        "product": api.read(f"/products/{ids['product']}/history"),
        "audit": api.read("/audit", limit=500),
    }


def test_a_restarted_server_and_rebuilt_views_show_the_same_roadmap_and_history(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serving(data, tmp_path / "logs") as server, httpx.Client(base_url=server.url) as http:
        token = admin_token(server.printed())
        editor = Api(http, Api(http, token).write("/tokens", {"name": "alice",
                                                              "role": "editor"})["token"])
        ids = play_scenario(editor, SimulatedClock(JAN_4))
        before = views_of(editor, ids)
    assert before["roadmap"]["releases"][0]["target_date"] == "2027-04-15"

    with serving(data, tmp_path / "logs") as server, httpx.Client(base_url=server.url) as http:
        assert TOKEN_LINE not in server.printed()
        after_restart = views_of(Api(http, editor.token), ids)

    rebuilt = pdl("--data-dir", str(data), "projections", "rebuild", "--workers", "2")
    assert rebuilt.returncode == 0, rebuilt.stderr

    with serving(data, tmp_path / "logs") as server, httpx.Client(base_url=server.url) as http:
        after_rebuild = views_of(Api(http, editor.token), ids)

    assert after_restart == before
    assert after_rebuild == before


def test_the_first_start_writes_an_admin_token_to_a_private_file_once_and_a_restart_does_not(
        tmp_path: Path) -> None:
    with serving(tmp_path, tmp_path / "logs") as server:
        printed = server.printed()
        token = admin_token(printed)
        listed = httpx.get(server.url + "/tokens", headers={"Authorization": f"Bearer {token}"})
    written = tmp_path / "admin-token"
    written.unlink()  # read, kept elsewhere, deleted: as the README says
    with serving(tmp_path, tmp_path / "logs") as server:
        printed_again = server.printed()

    assert listed.status_code == 200
    assert [(t["name"], t["role"]) for t in listed.json()] == [("admin", "admin")]
    assert f"{TOKEN_LINE} 'admin'; only in the file (mode 0600): {written}" in printed
    assert token not in printed
    assert token not in printed_again and TOKEN_LINE not in printed_again
    assert not written.exists()


def test_the_admin_token_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    with serving(tmp_path, tmp_path / "logs"):
        mode = (tmp_path / "admin-token").stat().st_mode & 0o777

    assert mode == 0o600


def test_the_first_admin_token_is_printed_when_asked(tmp_path: Path) -> None:
    with serving(tmp_path, tmp_path / "logs", options=["--print-admin-token"]) as server:
        token = admin_token(server.printed())
        response = httpx.get(server.url + "/tokens", headers={"Authorization": f"Bearer {token}"})

    assert token in server.printed()
    assert token == (tmp_path / "admin-token").read_text().strip()
    assert response.status_code == 200


def test_the_first_admin_token_can_come_from_a_secret_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("pdl_" + "s3cret" * 8 + "\n")
    with serving(tmp_path / "data", tmp_path / "logs",
                 PDL_ADMIN__TOKEN_FILE=str(secret)) as server:
        response = httpx.get(server.url + "/tokens",
                             headers={"Authorization": f"Bearer pdl_{'s3cret' * 8}"})

    assert response.status_code == 200
    assert "s3cret" not in server.printed()
    assert not (tmp_path / "data" / "admin-token").exists()


def test_the_scenario_roadmap_is_exact_over_a_real_server(tmp_path: Path) -> None:
    with serving(tmp_path / "data", tmp_path / "logs") as server, \
            httpx.Client(base_url=server.url) as http:
        api = Api(http, admin_token(server.printed()))
        ids = play_scenario(api, SimulatedClock(JAN_4))  # the server keeps its own (wall) clock
        roadmap = api.read(f"/products/{ids['product']}/roadmap", after=ids["position"])

    assert roadmap == expected_roadmap(ids)


def test_token_create_prints_only_the_token(tmp_path: Path) -> None:
    result = pdl("token", "create", "--name", "bob", "--role", "viewer",
                 "--data-dir", str(tmp_path))

    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1
    assert result.stdout.startswith("pdl_") and " " not in result.stdout.strip()


def test_a_token_made_by_the_cli_is_accepted_by_the_server(tmp_path: Path) -> None:
    token = pdl("--data-dir", str(tmp_path), "token", "create", "--name", "bob",
                "--role", "editor").stdout.strip()

    with serving(tmp_path, tmp_path / "logs") as server:
        assert TOKEN_LINE not in server.printed()  # a token exists: no admin token printed
        response = httpx.get(server.url + "/products",
                             headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200


def test_a_taken_token_name_is_a_clear_error(tmp_path: Path) -> None:
    pdl("--data-dir", str(tmp_path), "token", "create", "--name", "bob", "--role", "viewer")

    again = pdl("--data-dir", str(tmp_path), "token", "create", "--name", "bob",
                "--role", "viewer")

    assert again.returncode == 1
    assert again.stdout == ""
    assert "already exists" in again.stderr


def test_invalid_settings_are_one_clear_line_and_exit_code_2(tmp_path: Path) -> None:
    result = pdl("--data-dir", str(tmp_path), "token", "create", "--name", "bob",
                 "--role", "viewer", PDL_API__READ_YOUR_WRITES_TIMEOUT_S="soon")

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "PDL_API__READ_YOUR_WRITES_TIMEOUT_S" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("variable", "nearest"), [
    ("PDL_STORE__GROUP_COMIT", "PDL_STORE__GROUP_COMMIT"),
    ("PDL_DATADIR", "PDL_DATA_DIR"),
    ("PDL_KAFKA__BOOTSTRAP_SERVER", "PDL_KAFKA__BOOTSTRAP_SERVERS"),
    ("PDL_ADMIN__TOKN_FILE", "PDL_ADMIN__TOKEN_FILE"),
])
def test_an_unknown_setting_is_refused_with_the_nearest_valid_name(
        tmp_path: Path, variable: str, nearest: str) -> None:
    result = pdl("--data-dir", str(tmp_path), "token", "create", "--name", "bob",
                 "--role", "viewer", **{variable: "1"})

    assert result.returncode == 2
    assert result.stderr == f"pdl: invalid settings: unknown setting {variable}: " \
                            f"did you mean {nearest}?\n"
    assert not (tmp_path / "service.db").exists()


def test_a_setting_and_its_file_variant_together_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("pdl_" + "x" * 40)
    result = pdl("config", "show", PDL_ADMIN__TOKEN="pdl_" + "y" * 40,
                 PDL_ADMIN__TOKEN_FILE=str(secret))

    assert result.returncode == 2
    assert "PDL_ADMIN__TOKEN and PDL_ADMIN__TOKEN_FILE are both set" in result.stderr


def test_an_admin_token_unfit_for_a_bearer_header_is_refused_without_showing_it(
        tmp_path: Path) -> None:
    result = pdl("config", "show", PDL_ADMIN__TOKEN="REPLACE ME")

    assert result.returncode == 2
    assert "PDL_ADMIN__TOKEN" in result.stderr and "at least 32 characters" in result.stderr
    assert "REPLACE ME" not in result.stderr


def test_config_show_prints_the_effective_settings_with_secrets_masked(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("pdl_" + "s3cret" * 8 + "\n")
    result = pdl("--data-dir", str(tmp_path), "config", "show",
                 PDL_ADMIN__TOKEN_FILE=str(secret), PDL_STORE__GROUP_COMMIT="false",
                 PDL_KAFKA__BOOTSTRAP_SERVERS="127.0.0.1:9092")

    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["data_dir"] == str(tmp_path)
    assert shown["store"]["group_commit"] is False
    assert shown["kafka"]["bootstrap_servers"] == "127.0.0.1:9092"
    assert shown["admin"]["token"] == "**********"
    assert "s3cret" not in result.stdout


def test_the_data_dir_comes_from_the_environment_when_not_given(tmp_path: Path) -> None:
    pdl("token", "create", "--name", "bob", "--role", "viewer", PDL_DATA_DIR=str(tmp_path))

    assert (tmp_path / "service.db").exists()


def test_a_rebuild_while_the_server_runs_is_refused_with_a_clear_message(
        tmp_path: Path) -> None:
    with serving(tmp_path, tmp_path / "logs"):
        result = pdl("--data-dir", str(tmp_path), "projections", "rebuild")

    assert result.returncode == 1
    assert "in use" in result.stderr and "Stop 'pdl serve' first" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_server_killed_under_keyed_writes_applies_every_retried_request_exactly_once(
        tmp_path: Path) -> None:
    # Whether a request dies before its command commits, between its commit and its answer
    # (the window tests/api/test_idempotency.py sets up exactly), or after, its retry with the
    # same key must leave it applied once.
    data, logs, lease = tmp_path / "data", tmp_path / "logs", "0.5"
    writers, per_writer = 8, 150
    sent: dict[str, list[str]] = {}  # feature → the keys sent for it (each key is its text)
    unanswered: list[tuple[str, str]] = []
    with serving(data, logs, PDL_API__IDEMPOTENCY_LEASE_S=lease) as server, \
            httpx.Client(base_url=server.url) as http:
        token = admin_token(server.printed())
        api = Api(http, token)
        product = api.create_product()["id"]
        features = [api.propose(product, f"Feature {n}")["id"] for n in range(writers)]
        started = threading.Barrier(writers + 1)

        def write(feature: str) -> None:
            keys = sent[feature] = []
            with httpx.Client(base_url=server.url, timeout=10) as own:
                writer = Api(own, token)
                started.wait()
                for n in range(per_writer):
                    key = f"{feature}-{n}"
                    keys.append(key)
                    try:
                        response = writer.post(f"/features/{feature}/requirements",
                                               {"text": key, "rationale": "Load"},
                                               **{"Idempotency-Key": key})
                        assert response.status_code == 200, response.text
                    except httpx.TransportError:  # the server died: this one is unanswered
                        unanswered.append((feature, key))
                        return

        threads = [threading.Thread(target=write, args=(f,)) for f in features]
        for thread in threads:
            thread.start()
        started.wait()
        time.sleep(0.5)
        server.process.kill()  # SIGKILL, mid-load
        for thread in threads:
            thread.join()
    assert len(unanswered) == writers  # every writer was cut off mid-request

    with serving(data, logs, PDL_API__IDEMPOTENCY_LEASE_S=lease) as server, \
            httpx.Client(base_url=server.url) as http:
        api = Api(http, token)
        for feature, key in unanswered:  # the client's retry, same key and body
            while (retry := api.post(f"/features/{feature}/requirements",
                                     {"text": key, "rationale": "Load"},
                                     **{"Idempotency-Key": key})).status_code == 409:
                time.sleep(0.1)  # the dead request's claim: its lease has not run out yet
            assert retry.status_code == 200, retry.text
        texts = {f: [r["text"] for r in api.read(f"/features/{f}")["requirements"]]
                 for f in features}

    for feature in features:
        assert sorted(texts[feature]) == sorted(sent[feature])  # each once: none lost, none twice


@pytest.mark.parametrize("workers", ["0", "-1", "two", ""])
def test_a_rebuild_refuses_a_loader_count_that_is_not_a_whole_number_of_at_least_one(
        tmp_path: Path, workers: str) -> None:
    result = pdl("--data-dir", str(tmp_path), "projections", "rebuild", "--workers", workers)

    assert result.returncode == 2
    assert "--workers" in result.stderr and "at least 1" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "views.db").exists()
