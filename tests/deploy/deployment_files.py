"""Reading the deployment files (Dockerfile, compose, Kubernetes) and the settings they set.

``settings_variables()`` finds every pydantic-settings class of the platform at test time
(``IntegraSettings``, ``KpiSettings`` and any added later) and answers the environment
variable names they read, so the files can be checked against the code.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import yaml
from pydantic import AliasChoices, AliasPath
from pydantic_settings import BaseSettings

from tests.deploy.metrics_contract import PACKAGES, import_all_modules

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
KUBERNETES = DEPLOY / "kubernetes"
KUSTOMIZATION = KUBERNETES / "kustomization.yaml"

Document = dict[str, Any]


def settings_classes() -> list[type[BaseSettings]]:
    """Every settings class defined in the platform's packages."""
    import_all_modules()
    found: list[type[BaseSettings]] = []
    pending: list[type[BaseSettings]] = [BaseSettings]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            pending.append(sub)
            if sub.__module__.split(".")[0] in PACKAGES:
                found.append(sub)
    return found


def settings_variables() -> dict[str, str]:
    """Environment variable name (upper case) → ``Class.field`` it sets."""
    variables: dict[str, str] = {}
    for cls in settings_classes():
        prefix = str(cls.model_config.get("env_prefix", ""))
        for name, field in cls.model_fields.items():
            alias = field.validation_alias or field.alias
            if isinstance(alias, AliasChoices):
                names = [c for c in alias.choices if isinstance(c, str)]
            elif isinstance(alias, str):
                names = [alias]
            elif isinstance(alias, AliasPath):
                names = [str(alias.path[0])]
            else:
                names = [prefix + name]
            for env_name in names:
                variables[env_name.upper()] = f"{cls.__name__}.{name}"
    return variables


# ------------------------------------------------------------------------------ Dockerfile


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """The instructions of the final stage: (INSTRUCTION, arguments), continuations joined."""
    instructions: list[tuple[str, str]] = []
    current = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        current += " " + stripped.removesuffix("\\").strip()
        if stripped.endswith("\\"):
            continue
        keyword, _, arguments = current.strip().partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        current = ""
    last_stage = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_stage:]


def dockerfile_env(path: Path = DOCKERFILE) -> dict[str, str]:
    """The ``ENV`` variables of the final stage (``ENV A=1 B=2`` form)."""
    env: dict[str, str] = {}
    for keyword, arguments in dockerfile_instructions(path):
        if keyword == "ENV":
            for pair in shlex.split(arguments):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def dockerfile_exec_form(keyword: str, path: Path = DOCKERFILE) -> list[str]:
    """The JSON (exec) form of an instruction of the final stage, e.g. ENTRYPOINT."""
    for found, arguments in dockerfile_instructions(path):
        if found == keyword:
            value: list[str] = json.loads(arguments)
            return value
    raise AssertionError(f"{path.name} has no {keyword}")


def dockerfile_key_values(keyword: str, path: Path = DOCKERFILE) -> dict[str, str]:
    """The ``KEY=value`` pairs of an instruction of the final stage (``LABEL``, ``ARG``), with
    ``${NAME}`` replaced by the default of the stage's ``ARG NAME=default``."""
    pairs: dict[str, str] = {}
    args: dict[str, str] = {}
    for found, arguments in dockerfile_instructions(path):
        if found in (keyword, "ARG"):
            for pair in shlex.split(arguments):
                name, _, value = pair.partition("=")
                value = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], value)
                if found == "ARG":
                    args[name] = value
                if found == keyword:
                    pairs[name] = value
    return pairs


# --------------------------------------------------------------------------------- compose


def compose() -> Document:
    """deploy/compose.yaml."""
    document: Document = yaml.safe_load(COMPOSE.read_text())
    return document


def compose_environment(service: Document) -> dict[str, str]:
    """A compose service's environment (mapping or ``NAME=value`` list form)."""
    environment = service.get("environment", {})
    if isinstance(environment, list):
        return dict(str(item).partition("=")[::2] for item in environment)
    return {str(k): str(v) for k, v in environment.items()}


def is_integra(service: Document) -> bool:
    """Whether a compose service runs the Integra image (built from deploy/Dockerfile)."""
    return str(service.get("build", {}).get("dockerfile", "")).endswith("deploy/Dockerfile")


# ------------------------------------------------------------------------------ Kubernetes


def kubernetes_files() -> list[Path]:
    """The manifests (every YAML file under deploy/kubernetes except the kustomization)."""
    return sorted(p for p in KUBERNETES.glob("*.yaml") if p != KUSTOMIZATION)


def kubernetes_documents() -> list[tuple[Path, Document]]:
    """Every resource of every manifest, with its file."""
    return [
        (path, document)
        for path in kubernetes_files()
        for document in yaml.safe_load_all(path.read_text())
        if document
    ]


def resources(kind: str) -> dict[str, Document]:
    """The resources of one kind, by name."""
    return {d["metadata"]["name"]: d for _, d in kubernetes_documents() if d["kind"] == kind}


def containers(deployment: Document) -> list[Document]:
    """The containers of a Deployment's pod template."""
    found: list[Document] = deployment["spec"]["template"]["spec"]["containers"]
    return found


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """Whether ``matchLabels``-style ``selector`` matches ``labels``."""
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def namespace_labels(namespace: str) -> dict[str, str]:
    """The labels Kubernetes gives every namespace (1.22+), enough for the policies' selectors."""
    return {"kubernetes.io/metadata.name": namespace}


def peer_matches(
    peer: Document, source_namespace: str, namespace: str | None, labels: dict[str, str]
) -> bool:
    """Whether a NetworkPolicy peer (``to`` item) matches a destination pod; ``namespace``
    None is an address outside the cluster (only an ``ipBlock`` matches it)."""
    if "ipBlock" in peer:
        return namespace is None and peer["ipBlock"]["cidr"] in ("0.0.0.0/0", "::/0")
    if namespace is None:
        return False
    pods = peer.get("podSelector")
    namespaces = peer.get("namespaceSelector")
    if namespaces is None and namespace != source_namespace:
        return False
    if namespaces is not None and not label_selector_matches(
        namespaces, namespace_labels(namespace)
    ):
        return False
    return pods is None or label_selector_matches(pods, labels)


def label_selector_matches(selector: Document, labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions In/NotIn/Exists); {} matches all."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values", [])
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def egress_allowed(
    source: dict[str, str],
    namespace: str | None,
    labels: dict[str, str],
    port: int,
    protocol: str = "TCP",
) -> bool:
    """Whether the NetworkPolicies let a pod of the integra namespace labelled ``source``
    open a connection to ``port``/``protocol`` of a destination pod (``namespace``,
    ``labels``; namespace None: outside the cluster). A pod no egress policy selects may reach
    anything (Kubernetes' default). Ports must be numbers: a named port of another namespace's
    pod is not known here."""
    policies = [
        policy
        for policy in resources("NetworkPolicy").values()
        if "Egress" in policy["spec"].get("policyTypes", [])
        and label_selector_matches(policy["spec"]["podSelector"], source)
    ]
    if not policies:
        return True
    for policy in policies:
        for rule in policy["spec"].get("egress", []):
            peers = rule.get("to")
            if peers is not None and not any(
                peer_matches(peer, "integra", namespace, labels) for peer in peers
            ):
                continue
            ports = rule.get("ports")
            if ports is None or any(port_matches(p, port, protocol) for p in ports):
                return True
    return False


def port_matches(rule_port: Document, port: int, protocol: str) -> bool:
    """Whether a NetworkPolicyPort (port, optional endPort, protocol) covers ``port``."""
    if rule_port.get("protocol", "TCP") != protocol:
        return False
    if "port" not in rule_port:
        return True
    start = rule_port["port"]
    return isinstance(start, int) and start <= port <= rule_port.get("endPort", start)
