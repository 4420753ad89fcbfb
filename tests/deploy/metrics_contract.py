"""What the code exports to Prometheus, and what deploy/README.md documents.

The code side is read at test time, so a metric added anywhere is seen: every module under
``services/`` and ``gateway/`` is imported (module-level metrics register themselves), then
the shared ``REGISTRY`` (the one ``/metrics`` serves) is read, and the source is also scanned
for ``Counter(``/``Gauge(``/``Histogram(``/``Summary(``/``Info(``/``Enum(`` calls, which finds
metrics built in functions or registered elsewhere.
"""

from __future__ import annotations

import ast
import functools
import importlib
import pkgutil
import re
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.metrics import MetricWrapperBase

from services.runtime.metrics import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("services", "gateway")
METRIC_CLASSES = frozenset({"Counter", "Gauge", "Histogram", "Summary", "Info", "Enum"})
DOCUMENT = ROOT / "deploy" / "README.md"
TABLE_HEADER = re.compile(r"^\|\s*metric\s*\|\s*type\s*\|\s*labels\s*\|\s*meaning\s*\|\s*$")


@dataclass(frozen=True)
class MetricSpec:
    """One exported metric family: its exposed name, type and label names."""

    name: str
    type: str
    labels: frozenset[str]
    origin: str


def exposed_name(name: str, kind: str) -> str:
    """The name a family is scraped under (``_total`` for counters, ``_info`` for infos)."""
    if kind == "counter" and not name.endswith("_total"):
        return name + "_total"
    if kind == "info" and not name.endswith("_info"):
        return name + "_info"
    return name


def series_names(spec: MetricSpec) -> set[str]:
    """Every series name a family exposes, for matching PromQL selectors."""
    if spec.type == "counter":
        return {spec.name, spec.name.removesuffix("_total") + "_created"}
    if spec.type in ("histogram", "summary"):
        suffixes = ("_bucket", "_count", "_sum", "_created")
        return {spec.name, *(spec.name + suffix for suffix in suffixes)}
    return {spec.name}


def import_all_modules() -> None:
    """Import every module of the platform so that module-level metrics are registered."""
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        for module in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            importlib.import_module(module.name)


def registry_metrics() -> dict[str, MetricSpec]:
    """The families of the shared registry, with label names where the collector has them."""
    import_all_modules()
    specs: dict[str, MetricSpec] = {}
    collectors = list(REGISTRY._collector_to_names)  # no public API lists the collectors
    for collector in collectors:
        if isinstance(collector, MetricWrapperBase):
            kind = str(collector._type)
            name = exposed_name(collector._name, kind)
            labels = frozenset(collector._labelnames)
            specs[name] = MetricSpec(name, kind, labels, "REGISTRY")
            continue
        for family in collector.collect():  # a custom collector
            name = exposed_name(family.name, family.type)
            sample_labels = {k for s in family.samples for k in s.labels if k not in ("le",)}
            specs[name] = MetricSpec(name, family.type, frozenset(sample_labels), "REGISTRY")
    return specs


def _string_list(node: ast.expr | None) -> frozenset[str] | None:
    if isinstance(node, ast.List | ast.Tuple) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts
    ):
        return frozenset(str(e.value) for e in node.elts if isinstance(e, ast.Constant))
    return None


def source_metrics() -> dict[str, MetricSpec]:
    """Metric constructor calls with a literal name found in the source of the platform."""
    specs: dict[str, MetricSpec] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if called not in METRIC_CLASSES or not node.args:
                    continue
                first = node.args[0]
                if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                    continue
                keywords = {k.arg: k.value for k in node.keywords}
                labels_node = node.args[2] if len(node.args) > 2 else keywords.get("labelnames")
                labels = _string_list(labels_node) or frozenset()
                kind = called.lower()
                name = exposed_name(first.value, kind)
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                specs[name] = MetricSpec(name, kind, labels, where)
    return specs


@functools.cache
def code_metrics() -> dict[str, MetricSpec]:
    """Every metric the code defines: the registry's, plus any the source scan finds.

    Read once per test session (the code does not change during a run).
    """
    return {**source_metrics(), **registry_metrics()}


def documented_metrics(document: Path = DOCUMENT) -> dict[str, MetricSpec]:
    """The rows of the metrics table (``| metric | type | labels | meaning |``) of a document.

    The metric name and each label name are in backticks; the type is the first word of its
    cell; ``—`` stands for no labels.
    """
    lines = document.read_text().splitlines()
    start = next((i for i, line in enumerate(lines) if TABLE_HEADER.match(line)), None)
    if start is None:
        raise AssertionError(f"{document} has no `| metric | type | labels | meaning |` table")
    specs: dict[str, MetricSpec] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        names = re.findall(r"`([^`]+)`", cells[0])
        if len(cells) != 4 or len(names) != 1 or not cells[3]:
            raise AssertionError(f"malformed metrics table row in {document.name}: {line}")
        kind = cells[1].split()[0] if cells[1] else ""
        labels = frozenset(re.findall(r"`([^`]+)`", cells[2]))
        specs[names[0]] = MetricSpec(names[0], kind, labels, document.name)
    return specs
