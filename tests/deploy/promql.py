"""Reading PromQL expressions: which metric names an expression selects.

Shared by the rule tests and the Grafana dashboard tests. A light lexer, not a parser: string
literals, label matchers, ranges and grouping clauses are blanked out first, then every
identifier that is not a function call or a keyword is a metric name. Grafana variables
(``$service``, ``$__rate_interval``) only appear inside matchers and ranges, so they vanish
with them.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "deploy" / "prometheus" / "rules"

PROMQL_KEYWORDS = frozenset(
    {
        "and",
        "or",
        "unless",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "offset",
        "atan2",
        "inf",
        "nan",
    }
)
BUILTIN_SERIES = frozenset({"up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds"})
"""Series every Prometheus server produces itself (scrape health, alert state)."""


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not functions, labels or keywords)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    text = re.sub(r"\{[^}]*\}", "{}", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "[]", text)  # ranges and subqueries
    grouping = r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"
    text = re.sub(grouping, " ", text, flags=re.IGNORECASE)
    names = set()
    for match in re.finditer(r"(?<![\w.:$])([a-zA-Z_:][\w:]*)(\s*\()?", text):
        name, is_call = match.group(1), match.group(2) is not None
        if not is_call and name.lower() not in PROMQL_KEYWORDS:
            names.add(name)
    return names


def recorded_names(rules_dir: Path = RULES_DIR) -> set[str]:
    """The names of every recording rule of the project's rule files."""
    names: set[str] = set()
    for path in sorted(rules_dir.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            names.update(rule["record"] for rule in group["rules"] if "record" in rule)
    return names
