"""The Kubernetes manifests for PostgreSQL (deploy/k8s-postgres, with deploy/k8s/service.yaml):
valid offline against the Kubernetes schemas, several API replicas that keep no state of their
own, each a relay candidate, the database URL and the first admin token from a Secret."""

import subprocess
from pathlib import Path
from typing import Any

from services.http.routes import health
from services.runtime.settings import FILE_SUFFIX, Settings, setting_names
from tests.api.processes import ROOT, pdl
from tests.deploy.test_kubernetes_manifests import (
    K8S,
    VALIDATE,
    containers,
    environment_of,
    of_kind,
    resources,
)

FOLDER = ROOT / "deploy" / "k8s-postgres"


def api() -> dict[str, Any]:
    return containers(FOLDER)["api"]


def test_the_manifests_and_the_shared_service_are_valid_with_no_unknown_field() -> None:
    manifests = [*sorted(FOLDER.glob("*.yaml")), K8S / "service.yaml"]
    result = subprocess.run([str(VALIDATE), "--strict", "--quiet", *map(str, manifests)],
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr
    assert {r["kind"] for r in resources(FOLDER)} == {
        "Deployment", "PodDisruptionBudget", "ConfigMap", "Secret"}


def test_several_api_replicas_keep_nothing_on_a_volume_of_their_own() -> None:
    (deployment,) = of_kind("Deployment", FOLDER).values()
    pod = deployment["spec"]["template"]["spec"]
    budget = of_kind("PodDisruptionBudget", FOLDER)["decision-log-api"]

    assert deployment["spec"]["replicas"] >= 2
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    assert all("persistentVolumeClaim" not in volume for volume in pod["volumes"])
    assert 1 <= budget["spec"]["minAvailable"] < deployment["spec"]["replicas"]
    service = of_kind("Service", K8S)["decision-log-api"]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_every_replica_is_a_relay_candidate_on_postgres_with_its_secrets_in_files() -> None:
    variables = environment_of(api(), FOLDER)
    known = setting_names(Settings, "PDL_")

    assert {n for n in variables if n.removesuffix(FILE_SUFFIX) not in known} == set()
    assert variables["PDL_STORE__KIND"] == "postgres"
    assert variables["PDL_KAFKA__BOOTSTRAP_SERVERS"]
    assert variables.get("PDL_KAFKA__RELAY", "true") != "false"
    assert "PDL_STORE__DSN" not in variables  # a secret: only as a file
    mounted = {m["name"]: m["mountPath"] for m in api()["volumeMounts"]}
    secrets = of_kind("Secret", FOLDER)["decision-log-secrets"]["stringData"]
    for setting, key in (("PDL_STORE__DSN_FILE", "dsn"),
                         ("PDL_BOOTSTRAP__ADMIN_TOKEN_FILE", "admin-token")):
        assert variables[setting] == f"{mounted['secrets']}/{key}"
        assert key in secrets


def test_the_probes_ask_routes_the_service_serves() -> None:
    served = {route.path for route in health.router.routes}  # type: ignore[attr-defined]

    assert api()["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert api()["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {"/livez", "/readyz"} <= served


def test_the_settings_load_with_real_secrets_and_the_placeholder_is_refused(tmp_path: Path
                                                                            ) -> None:
    secrets = of_kind("Secret", FOLDER)["decision-log-secrets"]["stringData"]
    dsn, token = tmp_path / "dsn", tmp_path / "admin-token"
    dsn.write_text(secrets["dsn"])
    variables = environment_of(api(), FOLDER) | {
        "PDL_DATA_DIR": str(tmp_path / "data"), "PDL_STORE__DSN_FILE": str(dsn),
        "PDL_BOOTSTRAP__ADMIN_TOKEN_FILE": str(token)}

    token.write_text("pdl_" + "a" * 43)
    shown = pdl("config", "show", **variables)
    assert shown.returncode == 0, shown.stderr
    assert "postgres" in shown.stdout and "REPLACE-ME" not in shown.stdout  # DSN hidden

    token.write_text(secrets["admin-token"])
    refused = pdl("config", "show", **variables)
    assert refused.returncode == 2
    assert "ADMIN_TOKEN" in refused.stderr and secrets["admin-token"] not in refused.stderr
