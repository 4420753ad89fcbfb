"""Reading the deployment files (Dockerfile, compose, Kubernetes) and the settings they set.

``settings_variables()`` finds every pydantic-settings class of the platform at test time
(``IntegraSettings``, ``KpiSettings`` and any added later) and answers the environment
variable names they read, so the files can be checked against the code.
"""

from __future__ import annotations

import json
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
