"""The Kubernetes manifests in deploy/k8s: valid against the Kubernetes API schemas (strict,
offline: kubernetes-validate bundles them), and consistent with the service they run."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from services.http.routes import health
from services.runtime.settings import FILE_SUFFIX, Settings, setting_names
from tests.api.processes import ROOT, pdl

K8S = ROOT / "deploy" / "k8s"
MANIFESTS = sorted(K8S.glob("*.yaml"))
VALIDATE = Path(sys.executable).with_name("kubernetes-validate")


def resources(folder: Path = K8S) -> list[dict[str, Any]]:
    return [doc for path in sorted(folder.glob("*.yaml"))
            for doc in yaml.safe_load_all(path.read_text()) if doc]


def of_kind(kind: str, folder: Path = K8S) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in resources(folder) if r["kind"] == kind}


def containers(folder: Path = K8S) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for d in of_kind("Deployment", folder).values()
            for c in d["spec"]["template"]["spec"]["containers"]}


def environment_of(container: dict[str, Any], folder: Path = K8S) -> dict[str, str]:
    """The variables a container gets from its ConfigMaps and its own ``env``."""
    maps = of_kind("ConfigMap", folder)
    variables: dict[str, str] = {}
    for source in container.get("envFrom", []):
        variables |= maps[source["configMapRef"]["name"]]["data"]
    return variables | {e["name"]: e["value"] for e in container.get("env", [])}


def test_every_manifest_is_valid_against_the_kubernetes_schemas_with_no_unknown_field() -> None:
    result = subprocess.run([str(VALIDATE), "--strict", "--quiet", *map(str, MANIFESTS)],
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr
    assert {r["kind"] for r in resources()} >= {
        "Deployment", "Service", "ConfigMap", "Secret", "PersistentVolumeClaim"}


def test_the_api_and_the_relay_run_the_pdl_commands() -> None:
    running = {name: c["command"][:2] for name, c in containers().items()}

    assert running == {"api": ["pdl", "serve"], "relay": ["pdl", "relay"]}


def test_the_api_probes_ask_routes_the_service_serves() -> None:
    api = containers()["api"]
    served = {route.path for route in health.router.routes}  # type: ignore[attr-defined]

    assert api["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {"/livez", "/readyz"} <= served


def test_every_pdl_variable_in_the_manifests_names_a_setting() -> None:
    known = setting_names(Settings, "PDL_")
    named = {name for c in containers().values() for name in environment_of(c)}

    assert {n for n in named if n.removesuffix(FILE_SUFFIX) not in known} == set()


def test_only_the_relay_is_given_a_kafka_broker() -> None:
    found = {name: environment_of(c).get("PDL_KAFKA__BOOTSTRAP_SERVERS")
             for name, c in containers().items()}

    assert found["api"] is None and found["relay"]


def test_the_settings_of_each_container_start_the_service(tmp_path: Path) -> None:
    token = tmp_path / "admin-token"
    token.write_text("pdl_" + "a" * 43)
    for name, container in containers().items():
        variables = environment_of(container) | {"PDL_DATA_DIR": str(tmp_path / name)}
        if "PDL_ADMIN__TOKEN_FILE" in variables:
            variables["PDL_ADMIN__TOKEN_FILE"] = str(token)

        shown = pdl("config", "show", **variables)

        assert shown.returncode == 0, f"{name}: {shown.stderr}"


def test_the_secret_placeholder_stops_the_service_until_it_is_replaced(tmp_path: Path) -> None:
    placeholder = of_kind("Secret")["decision-log-secrets"]["stringData"]["admin-token"]
    secret = tmp_path / "admin-token"
    secret.write_text(placeholder)

    result = pdl("config", "show", PDL_ADMIN__TOKEN_FILE=str(secret))

    assert result.returncode == 2
    assert "PDL_ADMIN__TOKEN" in result.stderr and placeholder not in result.stderr


def test_the_pods_run_as_the_images_non_root_user_without_injected_service_variables() -> None:
    for deployment in of_kind("Deployment").values():
        pod = deployment["spec"]["template"]["spec"]

        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001
        assert pod["enableServiceLinks"] is False
