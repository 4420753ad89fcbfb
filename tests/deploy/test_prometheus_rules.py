"""The Prometheus recording and alerting rules (deploy/prometheus/rules/), checked by promtool.

promtool validates the rule files and the scrape config, then runs the rule unit tests of
deploy/prometheus/tests/ (synthetic series in, expected alerts and values out). promtool comes
from Debian's ``prometheus`` package: ``deploy/install-promtool.sh`` installs it, and these
tests fail, never skip, when it is missing.

The rule files are also read here (a line-based reader of the rule-file layout, cross-checked
against promtool's rule count) to check that every metric
the expressions name is exported by the code or recorded by a rule, that the SLA bucket the
rules select exists in the histogram, and that every alert has a test where it fires and one
where it stays silent.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.runtime.metrics import LATENCY_BUCKETS
from tests.deploy.metrics_contract import code_metrics, series_names
from tests.deploy.promql import metric_names

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
TEST_FILES = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
INSTALL_HINT = (
    "promtool is not on PATH: run deploy/install-promtool.sh (installs Debian's "
    "`prometheus` package, which provides /usr/bin/promtool) before the test suite"
)
TIMEOUT_SECONDS = 120


def promtool() -> str:
    """The promtool executable; the calling test fails (not skips) when it is missing."""
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    return path


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


def output_of(result: subprocess.CompletedProcess[str]) -> str:
    return f"$ {' '.join(map(str, result.args))}\n{result.stdout}{result.stderr}"


# --------------------------------------------------------------------------- rule files


@dataclass(frozen=True)
class Rule:
    kind: str  # "record" or "alert"
    name: str
    expr: str
    file: str


RULE_START = re.compile(r"^\s*- (record|alert):\s*(\S+)\s*$")
EXPR_LINE = re.compile(r"^(\s*)expr:\s*(.*?)\s*$")


def read_rules(path: Path) -> list[Rule]:
    """The rules of one file: name and expression (inline or a block scalar)."""
    rules: list[Rule] = []
    lines = path.read_text().splitlines()
    current: tuple[str, str] | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if start := RULE_START.match(line):
            current = (start.group(1), start.group(2))
            continue
        expr_line = EXPR_LINE.match(line)
        if expr_line is None or current is None:
            continue
        indent, value = len(expr_line.group(1)), expr_line.group(2)
        if value[:1] in ("|", ">"):
            block: list[str] = []
            while index < len(lines) and (
                not lines[index].strip() or len(lines[index]) - len(lines[index].lstrip()) > indent
            ):
                block.append(lines[index].strip())
                index += 1
            value = " ".join(block)
        elif value[:1] in ("'", '"'):
            value = value[1:-1]
        rules.append(Rule(current[0], current[1], value.strip(), path.name))
        current = None
    return rules


ALL_RULES = [rule for path in RULE_FILES for rule in read_rules(path)]


def exported_series_names() -> set[str]:
    """Every series name the code exposes (every module imported, see metrics_contract)."""
    return {name for spec in code_metrics().values() for name in series_names(spec)}


# ------------------------------------------------------------------------------- promtool


def test_promtool_is_installed() -> None:
    result = run_promtool("--version")
    assert result.returncode == 0, output_of(result)


def test_rule_files_are_valid() -> None:
    assert RULE_FILES, "no rule file under deploy/prometheus/rules/"
    result = run_promtool("check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, output_of(result)
    found = sum(int(n) for n in re.findall(r"SUCCESS: (\d+) rules found", result.stdout))
    assert found == len(ALL_RULES), (
        f"promtool found {found} rules, this test's reader {len(ALL_RULES)}: keep the "
        "`- record:`/`- alert:` then `expr:` layout\n" + output_of(result)
    )


def test_prometheus_config_is_valid_and_loads_every_rule_file() -> None:
    result = run_promtool("check", "config", str(CONFIG))
    assert result.returncode == 0, output_of(result)
    for path in RULE_FILES:
        assert f"Checking {path.relative_to(ROOT)}" in result.stdout or (
            f"Checking {path}" in result.stdout
        ), f"{path.name} is not loaded by rule_files of {CONFIG.name}\n" + output_of(result)


def test_rule_unit_tests_pass() -> None:
    """``promtool test rules`` on every test file, one process per file, in parallel."""
    assert TEST_FILES, "no promtool test file under deploy/prometheus/tests/"
    executable = promtool()
    processes = [
        (
            path,
            subprocess.Popen(
                [executable, "test", "rules", str(path.relative_to(ROOT))],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            ),
        )
        for path in TEST_FILES
    ]
    failures = []
    for path, process in processes:
        output, _ = process.communicate(timeout=TIMEOUT_SECONDS)
        if process.returncode != 0:
            failures.append(f"--- {path.name} (exit {process.returncode})\n{output}")
    assert not failures, "promtool test rules failed:\n" + "\n".join(failures)


# --------------------------------------------------------------------- rules and the code


def test_rule_expressions_name_only_exported_or_recorded_metrics() -> None:
    exported = exported_series_names()
    recorded = {rule.name for rule in ALL_RULES if rule.kind == "record"}
    known = exported | recorded | {"up"}
    unknown = {
        f"{rule.file}: {rule.name}: {name}"
        for rule in ALL_RULES
        for name in metric_names(rule.expr)
        if name not in known
    }
    assert not unknown, "metrics neither exported by the code nor recorded:\n" + "\n".join(
        sorted(unknown)
    )
    referenced = {name for rule in ALL_RULES for name in metric_names(rule.expr)}
    assert {"http_server_request_duration_seconds_bucket", "up"} <= referenced


def test_metric_name_reader() -> None:
    expr = (
        'sum by (le, service) (rate(http_server_request_duration_seconds_bucket{le="0.5",'
        'http_route!~"/metrics|/healthz"}[5m])) or on (service) 0 * service:http_requests:rate5m'
        " / on () group_left () (1 - integra:slo_latency:target) > bool 14.4"
        ' unless absent(up{job=~"integra.*"} offset 1h) and 1e3 > inf'
    )
    assert metric_names(expr) == {
        "http_server_request_duration_seconds_bucket",
        "service:http_requests:rate5m",
        "integra:slo_latency:target",
        "up",
    }


def test_sla_buckets_selected_by_the_rules_exist_in_the_histogram() -> None:
    selected = {
        float(le)
        for rule in ALL_RULES
        for le in re.findall(r'\ble="([^"]+)"', rule.expr)
        if le != "+Inf"
    }
    assert 0.5 in selected, "the SLA-compliance rules must select the 0.5 s bucket"
    assert selected <= set(LATENCY_BUCKETS), (
        f"rules select le={sorted(selected)} but the histogram has buckets {LATENCY_BUCKETS}"
    )


def test_sli_windows_and_slo_rules_are_recorded() -> None:
    recorded = {rule.name for rule in ALL_RULES if rule.kind == "record"}
    windows = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
    expected = {"integra:slo_availability:target", "integra:slo_latency:target"}
    for window in windows:
        expected |= {
            f"service:http_requests:rate{window}",
            f"service:http_request_errors:ratio_rate{window}",
            f"service:sla_compliance:ratio_rate{window}",
            f"slo:sli_error:ratio_rate{window}",
            *(f"service:http_request_latency_seconds:{q}_{window}" for q in ("p50", "p95", "p99")),
        }
    expected |= {
        "slo:sli_error:ratio_rate30d",
        "slo:objective:ratio",
        "slo:error_budget:ratio",
        "slo:time_period:days",
        "slo:current_burn_rate:ratio",
        "slo:period_burn_rate:ratio",
        "slo:period_error_budget_remaining:ratio",
    }
    assert expected <= recorded, sorted(expected - recorded)


def test_the_30_day_window_is_derived_from_recorded_rates() -> None:
    """No rule reads 30 days of the raw histogram: the SLO period's rates are means of the
    recorded 5m rates."""
    raw = [r.name for r in ALL_RULES if "[30d]" in r.expr and "http_server_" in r.expr]
    assert not raw, f"rules reading 30 days of raw samples: {raw}"
    period = {r.name: r.expr for r in ALL_RULES if r.name.endswith(":rate30d")}
    assert len(period) == 3, period
    derived = {n: e.startswith("avg_over_time(service:") for n, e in period.items()}
    assert all(derived.values()), period
    assert all(":rate5m[30d])" in expr for expr in period.values()), period


def test_slo_alerts_read_the_recorded_sli_error_ratios() -> None:
    slo_alerts = [r for r in ALL_RULES if r.kind == "alert" and r.file == "integra-slo.yml"]
    assert len(slo_alerts) == 4
    for alert in slo_alerts:
        names = metric_names(alert.expr)
        assert names == {
            *(n for n in names if n.startswith("slo:sli_error:ratio_rate")),
            "slo:error_budget:ratio",
        }, (alert.name, names)
        assert len(names) == 5, (alert.name, names)  # two windows of two pairs, the budget


# ------------------------------------------------------------------- tests of the rules


def alert_cases() -> dict[str, set[bool]]:
    """For each alert name in the test files: whether a case expects it firing, silent."""
    cases: dict[str, set[bool]] = {}
    for path in TEST_FILES:
        alertname: str | None = None
        for line in path.read_text().splitlines():
            if named := re.match(r"^\s*alertname:\s*(\S+)\s*$", line):
                alertname = named.group(1)
            elif (expected := re.match(r"^\s*exp_alerts:\s*(.*?)\s*$", line)) and alertname:
                cases.setdefault(alertname, set()).add(expected.group(1) != "[]")
                alertname = None
    return cases


def test_every_alert_is_tested_firing_and_silent() -> None:
    cases = alert_cases()
    alerts = sorted(rule.name for rule in ALL_RULES if rule.kind == "alert")
    assert alerts, "no alerting rule found"
    missing = [
        f"{name}: {'no firing case' if True not in cases.get(name, set()) else 'no silent case'}"
        for name in alerts
        if cases.get(name, set()) != {True, False}
    ]
    assert not missing, (
        "alerts without a promtool test where they fire and one where they stay silent:\n"
        + "\n".join(missing)
    )


def test_every_rule_file_is_loaded_by_the_rule_tests() -> None:
    loaded = set()
    for path in TEST_FILES:
        for name in re.findall(r"^\s*-\s*(\S+\.ya?ml)\s*$", path.read_text(), flags=re.MULTILINE):
            loaded.add((path.parent / name).resolve())
    missing = [path.name for path in RULE_FILES if path.resolve() not in loaded]
    assert not missing, f"rule files no promtool test loads: {missing}"
