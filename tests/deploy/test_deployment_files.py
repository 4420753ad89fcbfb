"""The deployment files are valid and agree with each other and with the code.

Docker is not needed: compose.yaml is validated against the compose specification (the
schema check-jsonschema vendors), the Kubernetes manifests against the Kubernetes API schemas
shipped with kubernetes-validate (strict: unknown fields are errors), the ServiceMonitor CRD
structurally. Every environment variable the files give an Integra container must be a
setting the code reads, so the files cannot drift from the code.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from check_jsonschema.builtin_schemas import (  # type: ignore[import-untyped]
    get_builtin_schema,
)

from services.cli import _FACTORIES as CLI_COMPONENTS
from tests.deploy.deployment_files import (
    COMPOSE,
    DEPLOY,
    KUSTOMIZATION,
    ROOT,
    Document,
    compose,
    compose_environment,
    containers,
    dockerfile_env,
    dockerfile_exec_form,
    dockerfile_instructions,
    dockerfile_key_values,
    egress_allowed,
    is_integra,
    kubernetes_documents,
    kubernetes_files,
    resources,
    selects,
    settings_variables,
)

KUBERNETES_VERSION = "1.30.0"
CUSTOM_RESOURCES = frozenset({"ServiceMonitor"})
COMPONENTS = ("scoring", "risk", "kpi", "gateway")
SERVICES = ("scoring", "risk", "kpi")
NON_SETTINGS = frozenset({"PATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"})
"""Variables an Integra container may set that are not Integra settings."""
PROMETHEUS_DIR = DEPLOY / "prometheus"


def unknown_variables(names: set[str], where: str) -> list[str]:
    settings = settings_variables()
    return [
        f"{where}: {name}"
        for name in sorted(names)
        if name.upper() not in settings and name not in NON_SETTINGS
    ]


# ------------------------------------------------------------------------------ Dockerfile


def test_the_image_runs_integra_as_a_non_root_user_with_a_healthcheck() -> None:
    instructions = dockerfile_instructions()
    users = [arguments for keyword, arguments in instructions if keyword == "USER"]
    assert users, "the image must not run as root"
    assert users[-1].split(":")[0] not in ("0", "root"), users
    assert dockerfile_exec_form("ENTRYPOINT") == ["integra"]
    assert dockerfile_exec_form("CMD") == ["up"]
    healthchecks = [arguments for keyword, arguments in instructions if keyword == "HEALTHCHECK"]
    assert len(healthchecks) == 1
    assert "/healthz" in healthchecks[0]
    env = dockerfile_env()
    listens = env["INTEGRA_HOST"]
    assert listens == "0.0.0.0", "a container must listen beyond loopback"  # noqa: S104
    assert f"EXPOSE {env['INTEGRA_PORT']}" in {f"{k} {a}" for k, a in instructions}


def test_the_image_sets_only_settings_the_code_reads() -> None:
    assert not unknown_variables(set(dockerfile_env()), "Dockerfile")


def test_the_image_copies_only_what_exists() -> None:
    copied = [
        arguments.split()[:-1]
        for keyword, arguments in dockerfile_instructions_all()
        if keyword == "COPY" and not arguments.startswith("--from")
    ]
    sources = [source for sources in copied for source in sources]
    assert sources
    assert all((DEPLOY.parent / source).exists() for source in sources), sources


def dockerfile_instructions_all() -> list[tuple[str, str]]:
    """Every instruction of every stage (the build stage copies the sources)."""
    text = (DEPLOY / "Dockerfile").read_text()
    joined = re.sub(r"\\\n\s*", " ", text)
    return [
        (line.split()[0].upper(), line.partition(" ")[2].strip())
        for line in joined.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
RUNTIME_LOCK = "requirements-runtime.lock"
OCI = "org.opencontainers.image."


def test_the_image_has_the_oci_labels_of_the_project() -> None:
    labels = dockerfile_key_values("LABEL")
    assert labels[OCI + "title"] == PROJECT["name"]
    assert labels[OCI + "description"]
    # The version is a build argument whose default is pyproject.toml's version.
    assert labels[OCI + "version"] == PROJECT["version"]
    written = " ".join(arguments for keyword, arguments in dockerfile_instructions())
    assert f'{OCI}version="${{INTEGRA_VERSION}}"' in written, "--build-arg INTEGRA_VERSION=…"
    assert labels[OCI + "source"].startswith("https://")
    assert labels[OCI + "licenses"] == PROJECT["license"]


def test_the_image_installs_the_runtime_lock_with_hashes_then_integra_alone() -> None:
    instructions = dockerfile_instructions_all()
    copies = [i for i, (k, a) in enumerate(instructions) if k == "COPY" and RUNTIME_LOCK in a]
    runs = [a for k, a in instructions if k == "RUN"]
    installs = [
        command.strip()
        for run in runs
        for command in run.split("&&")
        if " install " in command and "--upgrade pip" not in command
    ]
    assert installs == [
        f"/opt/integra/bin/pip install --require-hashes -r {RUNTIME_LOCK}",
        "/opt/integra/bin/pip install --no-deps .",
    ]
    # The lock is installed before the sources are copied: a code change keeps that layer.
    first_install = next(
        i for i, (k, a) in enumerate(instructions) if k == "RUN" and RUNTIME_LOCK in a
    )
    sources = [
        i for i, (k, a) in enumerate(instructions) if k == "COPY" and "services" in a.split()
    ]
    assert copies
    assert sources
    assert copies[0] < first_install < sources[0]


def test_the_base_images_are_one_precise_python_tag_of_the_locked_python() -> None:
    images = {a.split()[0] for k, a in dockerfile_instructions_all() if k == "FROM"}
    assert len(images) == 1, images
    (image,) = images
    match = re.fullmatch(r"python:(\d+)\.(\d+)\.(\d+)-slim-bookworm(@sha256:[0-9a-f]{64})?", image)
    assert match, f"{image}: pin the patch release (and the digest where a registry answers)"
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    locked = re.search(r"--python-version (\d+)\.(\d+)", makefile)
    assert locked, "make lock compiles for one Python version"
    assert match.groups()[:2] == locked.groups(), "the image runs the Python the lock is for"


# --------------------------------------------------------------------------------- compose


def test_compose_file_follows_the_compose_specification() -> None:
    schema = get_builtin_schema("vendor.compose-spec")
    validator_class = jsonschema.validators.validator_for(schema)
    errors = sorted(
        validator_class(schema).iter_errors(compose()), key=lambda e: list(e.absolute_path)
    )
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors
    )


def test_compose_file_passes_check_jsonschema() -> None:
    """The same check as a user runs it: ``check-jsonschema --builtin-schema ...``."""
    executable = str(Path(sys.executable).with_name("check-jsonschema"))
    result = subprocess.run(
        [executable, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_every_component_with_the_image_command() -> None:
    services = compose()["services"]
    integra = {name: s for name, s in services.items() if is_integra(s)}
    assert set(integra) == set(COMPONENTS)
    for name, service in integra.items():
        assert service["command"] == ["serve", name], name
        assert name in CLI_COMPONENTS
        assert service["build"]["context"] == ".."
    assert {"mongodb", "prometheus", "grafana"} <= services.keys()


def test_compose_environment_names_are_settings() -> None:
    unknown = [
        problem
        for name, service in compose()["services"].items()
        if is_integra(service)
        for problem in unknown_variables(set(compose_environment(service)), f"compose {name}")
    ]
    assert not unknown, unknown


def test_compose_mongodb_is_a_replica_set_the_services_name() -> None:
    services = compose()["services"]
    mongodb = services["mongodb"]
    assert mongodb["image"].startswith("mongo:")
    command = mongodb["command"]
    replica_set = command[command.index("--replSet") + 1]
    healthcheck = " ".join(mongodb["healthcheck"]["test"])
    assert "rs.initiate" in healthcheck
    assert f"_id: '{replica_set}'" in healthcheck
    for name in COMPONENTS:  # the gateway keeps its API keys in MongoDB
        uri = compose_environment(services[name])["MONGODB_URI"]
        assert uri.startswith("mongodb://mongodb:27017/"), uri
        assert f"replicaSet={replica_set}" in uri
        assert services[name]["depends_on"]["mongodb"]["condition"] == "service_healthy"


def test_compose_gateway_keeps_its_local_admin_key_in_a_volume() -> None:
    gateway = compose()["services"]["gateway"]
    data_dir = compose_environment(gateway)["INTEGRA_DATA_DIR"]
    volumes = [str(v).split(":") for v in gateway["volumes"]]
    assert [source for source, target, *_ in volumes if target == data_dir] == ["gateway-data"]
    assert "gateway-data" in compose()["volumes"]


def test_compose_components_reach_the_ones_they_call_by_name() -> None:
    # Without its URL a component calls 127.0.0.1 (the default): in compose, scoring's shop
    # deletions, risk's KPI codes and kpi's no-data monitor reached nobody.
    services = compose()["services"]
    port = dockerfile_env()["INTEGRA_PORT"]
    for component, callees in CALLS.items():
        environment = compose_environment(services[component])
        for callee in callees:
            url = environment.get(f"INTEGRA_{callee.upper()}_URL")
            assert url == f"http://{callee}:{port}", f"{component} → {callee}"
    kpi = compose_environment(services["kpi"])
    scraped = set(kpi["INTEGRA_KPI_PLATFORM_METRICS_URLS"].split(","))
    assert scraped == {f"http://{name}:{port}/metrics" for name in COMPONENTS}


BIND_ADDRESS = "${INTEGRA_BIND_ADDRESS:-127.0.0.1}"
"""Every published port binds to this host address: loopback unless the operator says."""


def test_compose_publishes_ports_on_loopback_unless_told_otherwise() -> None:
    published = {
        f"{name} {port}": str(port)
        for name, service in compose()["services"].items()
        for port in service.get("ports", [])
    }
    assert {p.rsplit(":", 1)[-1] for p in published.values()} >= {"8000", "9090", "3000"}
    wrong = [where for where, port in published.items() if not port.startswith(BIND_ADDRESS + ":")]
    assert not wrong, wrong


SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN_KEY|API_KEY")
REQUIRED = re.compile(r"\$\{(\w+):\?[^}]+\}")


def test_compose_secrets_come_from_the_environment_without_a_default() -> None:
    """``${NAME:?message}``: compose refuses to start without it; never a ``:-default``."""
    environment = {
        f"{name} {key}": value
        for name, service in compose()["services"].items()
        for key, value in compose_environment(service).items()
        if SECRET_NAME.search(key)
    }
    assert "grafana GF_SECURITY_ADMIN_PASSWORD" in environment
    wrong = {where: value for where, value in environment.items() if not REQUIRED.fullmatch(value)}
    assert not wrong, wrong
    assert REQUIRED.fullmatch(environment["grafana GF_SECURITY_ADMIN_PASSWORD"]).group(1) == (  # type: ignore[union-attr]  # checked just above
        "GRAFANA_ADMIN_PASSWORD"
    )


def healthcheck(service: Document) -> list[str]:
    """A compose service's healthcheck command, or the image's HEALTHCHECK for Integra."""
    if "healthcheck" in service:
        assert not service["healthcheck"].get("disable", False)
        test: list[str] = service["healthcheck"]["test"]
        return test
    if is_integra(service):
        (arguments,) = [a for k, a in dockerfile_instructions() if k == "HEALTHCHECK"]
        return ["CMD", arguments]
    return []


def test_compose_every_service_has_a_healthcheck() -> None:
    services = compose()["services"]
    missing = [name for name, service in services.items() if not healthcheck(service)]
    assert not missing, missing
    prometheus = healthcheck(services["prometheus"])
    # prom/prometheus is built on busybox: wget, no curl.
    assert prometheus[:2] == ["CMD", "wget"], prometheus
    assert "http://127.0.0.1:9090/-/healthy" in prometheus
    grafana = healthcheck(services["grafana"])
    # grafana/grafana (10+) installs curl in its alpine and ubuntu images.
    assert grafana[:2] == ["CMD", "curl"], grafana
    assert "--fail" in grafana, "an HTTP error must fail the check"
    assert "http://127.0.0.1:3000/api/health" in grafana


def test_compose_waits_for_healthy_dependencies_that_have_a_healthcheck() -> None:
    services = compose()["services"]
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        if isinstance(depends_on, list):
            continue
        for dependency, condition in depends_on.items():
            if condition.get("condition") == "service_healthy":
                assert healthcheck(services[dependency]), f"{name} → {dependency}"
    assert services["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"


def mounts(service: Document) -> dict[str, str]:
    """Container path → host path (relative to deploy/) of a service's bind mounts."""
    found = {}
    for volume in service.get("volumes", []):
        source, target = str(volume).split(":")[:2]
        if source.startswith("."):
            found[target] = source
    return found


def test_compose_prometheus_uses_the_project_config_and_rules() -> None:
    services = compose()["services"]
    bound = mounts(services["prometheus"])
    config_path = DEPLOY / bound["/etc/prometheus/prometheus.yml"]
    assert (DEPLOY / bound["/etc/prometheus/rules"]).resolve() == PROMETHEUS_DIR / "rules"
    config = yaml.safe_load(config_path.read_text())
    assert config["rule_files"] == ["rules/*.yml"]
    port = dockerfile_env()["INTEGRA_PORT"]
    jobs = {
        job["job_name"]: [t for c in job["static_configs"] for t in c["targets"]]
        for job in config["scrape_configs"]
    }
    assert jobs == {f"integra-{name}": [f"{name}:{port}"] for name in COMPONENTS}


def test_compose_grafana_is_provisioned_with_the_dashboards() -> None:
    bound = mounts(compose()["services"]["grafana"])
    provisioning = DEPLOY / bound["/etc/grafana/provisioning"]
    dashboards = DEPLOY / bound["/var/lib/grafana/dashboards"]
    assert (provisioning / "datasources" / "prometheus.yaml").is_file()
    providers = yaml.safe_load((provisioning / "dashboards" / "integra.yaml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    assert sorted(dashboards.glob("*.json"))
    datasource = yaml.safe_load((provisioning / "datasources" / "prometheus.yaml").read_text())
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"


def promtool_check_config(config: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    (tmp_path / "rules").symlink_to(PROMETHEUS_DIR / "rules")
    executable = shutil.which("promtool")
    if executable is None:
        pytest.fail("promtool is not on PATH: run deploy/install-promtool.sh", pytrace=False)
    result = subprocess.run(
        [executable, "check", "config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 3 rule files found" in result.stdout or "rule files found" in result.stdout


def test_compose_prometheus_config_is_valid(tmp_path: Path) -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus-compose.yml").read_text())
    promtool_check_config(config, tmp_path)


def test_kubernetes_prometheus_config_is_valid(tmp_path: Path) -> None:
    """Debian's promtool is built without Kubernetes discovery: the pod discovery is swapped
    for a static target; the relabelling and the rest are checked as written."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus-kubernetes.yml").read_text())
    for job in config["scrape_configs"]:
        assert job["job_name"].startswith("integra")
        discovery = job.pop("kubernetes_sd_configs")
        assert discovery == [{"role": "pod", "namespaces": {"names": ["integra"]}}]
        job["static_configs"] = [{"targets": ["127.0.0.1:8000"]}]
        job_rules = [r for r in job["relabel_configs"] if r.get("target_label") == "job"]
        assert job_rules == [
            {
                "source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"],
                "regex": "(integra.*)",
                "target_label": "job",
            }
        ]
    promtool_check_config(config, tmp_path)


# ------------------------------------------------------------------------------ Kubernetes


@pytest.mark.parametrize("path", kubernetes_files(), ids=lambda p: p.name)
def test_kubernetes_manifests_follow_the_api_schemas(path: Path) -> None:
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert documents
    for document in documents:
        if document["kind"] in CUSTOM_RESOURCES:
            continue
        try:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{path.name} {document['kind']}/{document['metadata']['name']}: {error}")


def test_every_manifest_is_in_the_integra_namespace() -> None:
    for path, document in kubernetes_documents():
        if document["kind"] == "Namespace":
            assert document["metadata"]["name"] == "integra"
        else:
            assert document["metadata"].get("namespace") == "integra", path.name


def test_every_component_has_a_deployment_service_hpa_and_pdb() -> None:
    names = {f"integra-{c}" for c in COMPONENTS}
    for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"):
        assert set(resources(kind)) == names, kind


@pytest.mark.parametrize("component", COMPONENTS)
def test_deployments_probe_limit_and_run_the_component(component: str) -> None:
    deployment = resources("Deployment")[f"integra-{component}"]
    template = deployment["spec"]["template"]
    assert selects(deployment["spec"]["selector"]["matchLabels"], template["metadata"]["labels"])
    assert template["spec"]["securityContext"]["runAsNonRoot"] is True
    (container,) = containers(deployment)
    assert container["args"] == ["serve", component]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": int(configmap()["INTEGRA_PORT"])}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= container["resources"][kind].keys(), kind
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert int(annotations["prometheus.io/port"]) == ports["http"]


def test_all_deployments_run_one_image() -> None:
    images = {c["image"] for d in resources("Deployment").values() for c in containers(d)}
    assert len(images) == 1, images


def configmap() -> dict[str, str]:
    data: dict[str, str] = resources("ConfigMap")["integra-settings"]["data"]
    return data


def container_env(deployment: Document) -> dict[str, Document]:
    return {e["name"]: e for c in containers(deployment) for e in c.get("env", [])}


def test_every_component_reads_the_mongodb_uri_from_the_secret() -> None:
    secret = resources("Secret")["integra-mongodb"]
    assert "MONGODB_URI" in secret["stringData"]
    assert "replicaSet=" in secret["stringData"]["MONGODB_URI"]
    for name, deployment in resources("Deployment").items():
        env = container_env(deployment)  # the gateway keeps its API keys in MongoDB
        reference = env["MONGODB_URI"]["valueFrom"]["secretKeyRef"]
        assert reference == {"name": "integra-mongodb", "key": "MONGODB_URI"}, name


def test_kubernetes_environment_names_are_settings() -> None:
    names = set(configmap())
    for deployment in resources("Deployment").values():
        names |= set(container_env(deployment))
        for container in containers(deployment):
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in resources("ConfigMap")
    assert not unknown_variables(names, "kubernetes")


def test_the_gateway_and_kpi_reach_the_services_through_their_services() -> None:
    settings = configmap()
    services = resources("Service")
    for name in SERVICES:
        service = services[f"integra-{name}"]
        port = service["spec"]["ports"][0]["port"]
        assert settings[f"INTEGRA_{name.upper()}_URL"] == f"http://integra-{name}:{port}"


def test_services_hpas_and_pdbs_select_their_deployments() -> None:
    deployments = resources("Deployment")
    for name, service in resources("Service").items():
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert selects(service["spec"]["selector"], labels), name
        ports = {p["name"] for c in containers(deployments[name]) for p in c["ports"]}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports, name
    for name, hpa in resources("HorizontalPodAutoscaler").items():
        target = hpa["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", name)
        assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        cpu = deployments[name]["spec"]["template"]["spec"]["containers"][0]["resources"]
        assert "cpu" in cpu["requests"], "CPU utilisation needs a CPU request"
    for name, pdb in resources("PodDisruptionBudget").items():
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert selects(pdb["spec"]["selector"]["matchLabels"], labels), name
        hpa = resources("HorizontalPodAutoscaler")[name]
        assert pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"], name


def test_deployments_an_hpa_scales_set_no_replicas() -> None:
    """``replicas`` on a Deployment the HPA scales would reset the scale on every apply."""
    deployments = resources("Deployment")
    for hpa in resources("HorizontalPodAutoscaler").values():
        target = hpa["spec"]["scaleTargetRef"]["name"]
        assert "replicas" not in deployments[target]["spec"], target
        assert hpa["spec"]["minReplicas"] >= 2, target


def test_only_integra_pods_and_prometheus_reach_the_services() -> None:
    (policy,) = (
        p for p in resources("NetworkPolicy").values() if "Ingress" in p["spec"]["policyTypes"]
    )
    selected = set(policy["spec"]["podSelector"]["matchExpressions"][0]["values"])
    assert selected == {f"integra-{name}" for name in SERVICES}, "the gateway stays reachable"
    (rule,) = policy["spec"]["ingress"]
    sources = rule["from"]
    assert {"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "integra"}}} in sources
    gateway = resources("Deployment")["integra-gateway"]["spec"]["template"]["metadata"]
    assert gateway["labels"]["app.kubernetes.io/part-of"] == "integra"
    assert [p["port"] for p in rule["ports"]] == ["http"]


STARTUP_BUDGET_SECONDS = 60
"""At least this long for a cold start (imports, MongoDB connection) before liveness counts."""


@pytest.mark.parametrize("component", COMPONENTS)
def test_a_startup_probe_holds_liveness_back_during_a_slow_start(component: str) -> None:
    for container in containers(resources("Deployment")[f"integra-{component}"]):
        startup = container["startupProbe"]
        assert startup["httpGet"] == container["livenessProbe"]["httpGet"]
        budget = startup["failureThreshold"] * startup["periodSeconds"]
        assert budget >= STARTUP_BUDGET_SECONDS, budget


def prestop_sleep_seconds(container: Document) -> float:
    """N of a ``python -c "import time; time.sleep(N)"`` (or ``sleep N``) preStop hook."""
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    if command[0] == "sleep":
        return float(command[1])
    assert command[:2] == ["python", "-c"], command
    (seconds,) = re.fullmatch(r"import time; time\.sleep\((\d+(?:\.\d+)?)\)", command[2]).groups()  # type: ignore[union-attr]  # fails the test when it does not match
    return float(seconds)


@pytest.mark.parametrize("component", COMPONENTS)
def test_pods_drain_before_they_stop_and_have_time_to_finish(component: str) -> None:
    """The preStop sleep keeps the pod serving while the endpoints drop it; then uvicorn
    finishes the requests in flight (a request may wait INTEGRA_MONGO_TIMEOUT_MS for
    MongoDB), for at most INTEGRA_SHUTDOWN_TIMEOUT_SECONDS, before the grace period ends in
    SIGKILL."""
    spec = resources("Deployment")[f"integra-{component}"]["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    drain = prestop_sleep_seconds(container)
    assert drain >= 5, "endpoints and kube-proxy need a few seconds to drop the pod"
    request = int(configmap()["INTEGRA_MONGO_TIMEOUT_MS"]) / 1000
    shutdown = int(configmap()["INTEGRA_SHUTDOWN_TIMEOUT_SECONDS"])
    assert shutdown >= request, "uvicorn would cut a request waiting for MongoDB"
    assert spec["terminationGracePeriodSeconds"] >= drain + shutdown + 5


CALLS = {
    "gateway": {"scoring", "risk", "kpi"},
    "scoring": {"risk", "kpi"},  # shop deletions
    "risk": {"kpi"},  # the KPI codes of a rule
    "kpi": {"risk", "scoring"},  # outbox events; the no-data monitor reads the shops
}
"""Who calls whom (the *_URL settings each component uses)."""


def pod_labels(component: str) -> dict[str, str]:
    labels: dict[str, str] = resources("Deployment")[f"integra-{component}"]["spec"]["template"][
        "metadata"
    ]["labels"]
    return labels


@pytest.mark.parametrize("component", COMPONENTS)
def test_egress_is_denied_but_dns_mongodb_and_the_calls_a_component_makes(component: str) -> None:
    source = pod_labels(component)
    port = int(configmap()["INTEGRA_PORT"])
    dns = {"k8s-app": "kube-dns"}
    assert egress_allowed(source, "kube-system", dns, 53, "UDP")
    assert egress_allowed(source, "kube-system", dns, 53, "TCP")
    assert not egress_allowed(source, "kube-system", {"k8s-app": "other"}, 53, "UDP")
    uri = resources("Secret")["integra-mongodb"]["stringData"]["MONGODB_URI"]
    hosts = uri.partition("://")[2].partition("/")[0]
    for mongodb in {int(p) for p in re.findall(r":(\d+)", hosts)}:
        assert egress_allowed(source, None, {}, mongodb), "MongoDB may be outside the cluster"
        assert egress_allowed(source, "mongodb", {"app": "mongo"}, mongodb)
    for callee in COMPONENTS:
        allowed = egress_allowed(source, "integra", pod_labels(callee), port)
        assert allowed == (callee in CALLS[component]), f"{component} → {callee}"
    assert not egress_allowed(source, None, {}, 443), "no other address outside the cluster"
    assert not egress_allowed(source, None, {}, port)
    assert not egress_allowed(source, "default", {}, port), "nor another namespace"
    assert not egress_allowed(source, "integra", {"app.kubernetes.io/part-of": "x"}, port)


def test_only_kpi_reaches_the_prometheus_it_reads_the_platform_kpis_from() -> None:
    url = configmap()["INTEGRA_KPI_PLATFORM_PROMETHEUS_URL"]
    host, port = re.fullmatch(r"http://([^/:]+):(\d+)/?", url).groups()  # type: ignore[union-attr]  # fails the test when it does not match
    service, namespace = host.split(".")[:2]
    prometheus = {"app.kubernetes.io/name": "prometheus"}
    for component in COMPONENTS:
        allowed = egress_allowed(pod_labels(component), namespace, prometheus, int(port))
        assert allowed == (component == "kpi"), component
    assert service == "prometheus-operated"


def test_every_url_the_components_call_is_a_service_the_egress_policy_allows() -> None:
    settings = configmap()
    port = int(settings["INTEGRA_PORT"])
    urls = {f"http://integra-{callee}:{port}" for callees in CALLS.values() for callee in callees}
    assert urls == {v for k, v in settings.items() if k.endswith("_URL") and "PROMETHEUS" not in k}


def test_the_service_monitor_scrapes_every_service_as_an_integra_job() -> None:
    (monitor,) = resources("ServiceMonitor").values()
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    spec = monitor["spec"]
    assert set(spec) <= {"jobLabel", "namespaceSelector", "selector", "endpoints"}
    assert spec["namespaceSelector"] == {"matchNames": ["integra"]}
    for name, service in resources("Service").items():
        labels = service["metadata"]["labels"]
        assert selects(spec["selector"]["matchLabels"], labels), name
        assert labels[spec["jobLabel"]].startswith("integra"), "alerts select job=~integra.*"
        assert {p["name"] for p in service["spec"]["ports"]} >= {
            e["port"] for e in spec["endpoints"]
        }
    for endpoint in spec["endpoints"]:
        assert endpoint["path"] == "/metrics"
        assert endpoint["honorLabels"] is True, "the rules group by the metrics' own service"
        assert re.fullmatch(r"\d+[smh]", endpoint["interval"])


def test_the_kustomization_lists_every_manifest_but_the_custom_resource() -> None:
    kustomization = yaml.safe_load(KUSTOMIZATION.read_text())
    listed = set(kustomization["resources"])
    custom = {path.name for path, d in kubernetes_documents() if d["kind"] in CUSTOM_RESOURCES}
    assert listed == {path.name for path in kubernetes_files()} - custom
    image = next(
        iter({c["image"] for d in resources("Deployment").values() for c in containers(d)})
    )
    assert [i["name"] for i in kustomization["images"]] == [image.rsplit(":", 1)[0]]


def test_the_settings_reader_sees_integra_and_kpi_settings() -> None:
    settings = settings_variables()
    assert settings["MONGODB_URI"] == "IntegraSettings.mongodb_uri"
    assert settings["INTEGRA_SLA_SECONDS"] == "IntegraSettings.sla_seconds"
    assert settings["INTEGRA_KPI_PLATFORM_RECORDER"] == "KpiSettings.platform_recorder"
    assert unknown_variables({"INTEGRA_NO_SUCH_SETTING"}, "x") == ["x: INTEGRA_NO_SUCH_SETTING"]


def test_installing_promtool_enables_no_service() -> None:
    """``make tools`` leaves the host as it was: Debian's prometheus package would start a
    server on :9090 at install and at every boot; the script denies starts while apt runs
    (policy-rc.d) and disables the unit afterwards."""
    script = (Path(__file__).parents[2] / "deploy" / "install-promtool.sh").read_text()
    install = script.index("apt-get install")
    assert script.index("exit 101") < install
    assert "systemctl disable --now prometheus.service" in script[install:]
