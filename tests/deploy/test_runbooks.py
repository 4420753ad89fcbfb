"""Every alert links its runbook: a ``runbook_url`` to an anchor of docs/runbooks.md."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
RULE_FILES = sorted((ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))
RUNBOOKS = ROOT / "docs" / "runbooks.md"
PREFIX = "docs/runbooks.md#"


def alerts() -> dict[str, dict[str, Any]]:
    """Each alerting rule of the rule files, by name."""
    found: dict[str, dict[str, Any]] = {}
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    found[rule["alert"]] = rule
    return found


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown document."""
    slugs = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*$", markdown, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        slugs.add(slug)
    return slugs


def test_every_alert_has_a_runbook_url_whose_anchor_exists() -> None:
    found = alerts()
    assert len(found) >= 7, sorted(found)
    existing = anchors(RUNBOOKS.read_text())
    wrong = []
    for name, rule in sorted(found.items()):
        url = rule.get("annotations", {}).get("runbook_url", "")
        if not url.startswith(PREFIX):
            wrong.append(f"{name}: runbook_url {url!r} is not {PREFIX}<anchor>")
        elif url.removeprefix(PREFIX) not in existing:
            wrong.append(f"{name}: no heading of {RUNBOOKS.name} has the anchor {url!r}")
    assert not wrong, "\n".join(wrong)


def test_each_alert_has_its_own_runbook_section() -> None:
    urls = [rule["annotations"]["runbook_url"] for rule in alerts().values()]
    assert len(urls) == len(set(urls)), "two alerts share one runbook section"
    assert {url.removeprefix(PREFIX) for url in urls} == {n.lower() for n in alerts()}


def test_the_anchor_reader() -> None:
    assert anchors("# Runbooks\n\n## IntegraTargetDown\ntext\n### A b, c\n") == {
        "runbooks",
        "integratargetdown",
        "a-b-c",
    }
