"""The Grafana dashboards (deploy/grafana/dashboards/*.json) and their provisioning.

Every panel must have a title and query the Prometheus the dashboard's ``datasource`` variable
selects (no datasource uid is written in a dashboard, so it imports into any Grafana; the
``__inputs`` block asks for the Prometheus on import), and every query may name only metrics
the code exports (counters' ``_total``, histograms' ``_bucket``/``_sum``/``_count``) or
recording rules of deploy/prometheus/rules — so a renamed metric or rule breaks the test
instead of leaving an empty panel.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.metrics_contract import code_metrics, series_names
from tests.deploy.promql import BUILTIN_SERIES, metric_names, recorded_names

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "prometheus.yaml"
PROVIDERS = GRAFANA / "provisioning" / "dashboards" / "integra.yaml"
GRAFANA_VARIABLES = frozenset({"__rate_interval", "__interval", "__range", "__all"})
PANEL_TYPES = frozenset({"timeseries", "stat", "gauge", "bargauge", "table", "text", "heatmap"})
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
"""What every panel, query and query variable reads: the ``datasource`` variable."""
LABEL_VALUES = re.compile(r"^label_values\(\s*([a-zA-Z_:][\w:]*)\s*,\s*(\w+)\s*\)$")


def load(path: Path) -> dict[str, Any]:
    board: dict[str, Any] = json.loads(path.read_text())
    return board


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in rows."""
    for panel in board.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def datasource_uid() -> str:
    """The uid of the provisioned Prometheus datasource."""
    sources = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    prometheus = [s for s in sources if s["type"] == "prometheus"]
    assert len(prometheus) == 1, sources
    uid: str = prometheus[0]["uid"]
    return uid


def known_series() -> set[str]:
    """Series a dashboard may query: exported by the code, recorded, or Prometheus' own."""
    exported = {name for spec in code_metrics().values() for name in series_names(spec)}
    return exported | recorded_names() | BUILTIN_SERIES


@pytest.fixture(scope="module")
def series() -> set[str]:
    return known_series()


def test_there_are_the_three_dashboards_with_unique_uids() -> None:
    boards = [load(path) for path in DASHBOARDS]
    titles = {board["uid"]: board["title"] for board in boards}
    assert set(titles) == {"integra-overview", "integra-graphql", "integra-integration"}
    assert all(title.startswith("Integra — ") for title in titles.values()), titles
    assert len(titles) == len(boards)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_panel_has_a_title_and_the_prometheus_datasource(path: Path) -> None:
    problems = []
    for panel in panels(load(path)):
        name = f"panel {panel.get('id')} {panel.get('title')!r}"
        if panel.get("type") == "row":
            continue
        if not str(panel.get("title", "")).strip():
            problems.append(f"{name}: no title")
        if panel.get("type") not in PANEL_TYPES:
            problems.append(f"{name}: unknown type {panel.get('type')!r}")
        if panel.get("datasource") != DATASOURCE:
            problems.append(f"{name}: datasource {panel.get('datasource')!r}")
        targets = panel.get("targets", [])
        if not targets:
            problems.append(f"{name}: no query")
        for target in targets:
            if target.get("datasource") != DATASOURCE:
                problems.append(f"{name}: query {target.get('refId')} uses another datasource")
            if not str(target.get("expr", "")).strip():
                problems.append(f"{name}: query {target.get('refId')} has no expression")
        ref_ids = [target.get("refId") for target in targets]
        if len(set(ref_ids)) != len(ref_ids):
            problems.append(f"{name}: duplicate refIds {ref_ids}")
    assert not problems, "\n".join(problems)


def datasource_references(node: object) -> Iterator[object]:
    """Every ``datasource`` value anywhere in a dashboard (panels, targets, variables, …)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource":
                yield value
            yield from datasource_references(value)
    elif isinstance(node, list):
        for item in node:
            yield from datasource_references(item)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_the_datasource_is_a_variable_and_no_uid_is_written_in(path: Path) -> None:
    board = load(path)
    variables = board["templating"]["list"]
    (variable,) = [v for v in variables if v["type"] == "datasource"]
    assert variable["name"] == "datasource"
    assert variable["query"] == "prometheus"
    assert not variable.get("includeAll")
    assert not variable.get("multi")
    # Empty, as Grafana exports it: the variable starts on the default Prometheus datasource
    # (the provisioned one, see the test below), not on a uid that exists in one Grafana only.
    assert variable.get("current", {}) == {}
    references = list(datasource_references(board))
    assert references, "no datasource at all"
    assert [r for r in references if r != DATASOURCE] == []
    assert datasource_uid() not in path.read_text(), "the provisioned uid is written in"
    for query_variable in (v for v in variables if v["type"] == "query"):
        assert query_variable["datasource"] == DATASOURCE, query_variable["name"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_the_dashboard_asks_for_its_prometheus_on_import(path: Path) -> None:
    """``__inputs``/``__requires`` as Grafana's "Export for sharing externally" writes them:
    the import form asks for a Prometheus datasource."""
    board = load(path)
    inputs = board["__inputs"]
    assert {
        "name": "DS_PROMETHEUS",
        "type": "datasource",
        "pluginId": "prometheus",
    }.items() <= inputs[0].items()
    assert all(i["label"] and i["pluginName"] for i in inputs)
    declared = {i["name"] for i in inputs}
    used = set(re.findall(r"\$\{(DS_\w+)\}", path.read_text()))
    assert used <= declared, used - declared
    requires = {(r["type"], r["id"]) for r in board["__requires"]}
    assert {("grafana", "grafana"), ("datasource", "prometheus")} <= requires
    panel_types = {p["type"] for p in panels(board) if p.get("type") != "row"}
    assert {("panel", t) for t in panel_types} <= requires


def test_the_provisioned_prometheus_is_the_default_datasource() -> None:
    """A provisioned dashboard's empty ``datasource`` variable selects the default datasource."""
    sources = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    (prometheus,) = [s for s in sources if s["type"] == "prometheus"]
    assert prometheus["isDefault"] is True
    assert [s["name"] for s in sources if s.get("isDefault")] == [prometheus["name"]]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_queries_name_only_exported_metrics_and_recording_rules(
    path: Path, series: set[str]
) -> None:
    board = load(path)
    unknown = []
    for panel in panels(board):
        for target in panel.get("targets", []):
            for name in metric_names(target["expr"]) - series:
                unknown.append(f"panel {panel['title']!r}: {name}  in  {target['expr']}")
    for variable in board.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable["query"]["query"] if isinstance(variable["query"], dict) else ""
        matched = LABEL_VALUES.match(query)
        assert matched, f"variable {variable['name']}: unsupported query {query!r}"
        if matched.group(1) not in series:
            unknown.append(f"variable {variable['name']}: {matched.group(1)}")
    assert not unknown, "queries naming no exported metric or recording rule:\n" + "\n".join(
        unknown
    )


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_queries_use_only_defined_variables(path: Path) -> None:
    board = load(path)
    defined = {v["name"] for v in board.get("templating", {}).get("list", [])}
    used = {
        name
        for panel in panels(board)
        for target in panel.get("targets", [])
        for name in re.findall(r"\$\{?(\w+)", target["expr"])
    }
    assert used <= defined | GRAFANA_VARIABLES, sorted(used - defined - GRAFANA_VARIABLES)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_panels_fit_the_grid_without_overlapping(path: Path) -> None:
    cells: dict[tuple[int, int], str] = {}
    for panel in panels(load(path)):
        grid = panel["gridPos"]
        assert grid["x"] >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']!r} overlaps {cells[(x, y)]!r}"
                cells[(x, y)] = panel["title"]


def referenced(uid: str) -> set[str]:
    board = load(GRAFANA / "dashboards" / f"{uid}.json")
    return {name for p in panels(board) for t in p["targets"] for name in metric_names(t["expr"])}


def test_the_overview_shows_red_sla_budget_and_burn_rate_per_service() -> None:
    names = referenced("integra-overview")
    assert {
        "service:http_requests:rate5m",
        "service:http_request_errors:ratio_rate5m",
        "service:http_request_latency_seconds:p95_5m",
        "service:sla_compliance:ratio_rate5m",
        "slo:period_error_budget_remaining:ratio",
        "slo:sli_error:ratio_rate1h",
        "slo:error_budget:ratio",
        "up",
    } <= names


def test_the_graphql_and_integration_dashboards_cover_their_metrics() -> None:
    assert {
        "graphql_operations_total",
        "graphql_operation_duration_seconds_bucket",
        "gateway_service_calls_total",
        "http_client_request_duration_seconds_bucket",
        "gateway_circuit_breaker_state",
    } <= referenced("integra-graphql")
    assert {
        "risk_escalations_total",
        "kpi_outbox_pending_events",
        "kpi_outbox_oldest_pending_age_seconds",
        "kpi_outbox_delivery_attempts_total",
        "kpi_no_data_events_total",
        "kpi_platform_recordings_total",
    } <= referenced("integra-integration")


def test_the_provider_loads_the_dashboards_directory() -> None:
    providers = yaml.safe_load(PROVIDERS.read_text())["providers"]
    assert [p["type"] for p in providers] == ["file"]
    assert providers[0]["options"]["path"] == "/var/lib/grafana/dashboards"
    assert providers[0]["folder"] == "Integra"


def test_the_metric_name_reader_ignores_grafana_variables() -> None:
    expr = (
        'sum by (service) (rate(http_server_request_duration_seconds_count{service=~"$service"}'
        '[$__rate_interval])) / on () group_left () count(up{job=~"integra.*"} == 0)'
    )
    assert metric_names(expr) == {"http_server_request_duration_seconds_count", "up"}
