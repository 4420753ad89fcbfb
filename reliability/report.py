"""Writes ``docs/reliability.md`` from the figures a reliability run recorded.

Usage: ``python -m reliability.report FIGURES.jsonl docs/reliability.md``. ``make reliability``
runs the suites with ``INTEGRA_RELIABILITY_FIGURES`` set, then this.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reliability.figures import read
from reliability.soak import P99_FACTOR, RSS_GROWTH_LIMIT

COMMAND = "make reliability"


def _fuzz(records: list[dict[str, Any]]) -> list[str]:
    if not records:
        return ["No fuzzing figures were recorded."]
    latest = list({r["name"]: r for r in records}.values())  # a rerun replaces a schema's
    lines = [
        "| Schema | Operations | Examples tried | Failing examples | Lax coercions accepted "
        "| Examples per round | Seed |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in latest:
        lines.append(
            f"| {r['name']} | {r['operations']} | {r['examples']} | {r['failing']} "
            f"| {_or_dash(r.get('lenient'))} | {r['per_round']} | {r['seed']} |"
        )
    operations = sum(r["operations"] for r in latest)
    examples = sum(r["examples"] for r in latest)
    failing = sum(r["failing"] for r in latest)
    lenient = sum(r.get("lenient") or 0 for r in latest)
    lines.append(f"| **all** | **{operations}** | **{examples}** | **{failing}** | {lenient} | | |")
    lines += [
        "",
        "*Lax coercions accepted* counts schema-breaking examples a service accepted anyway "
        "(schemathesis' `negative_data_rejection`): pydantic's lax mode reads a number as a "
        "date (a Unix time) and strips surrounding whitespace before checking a length. They "
        "are counted, not failed; every one was still answered with a conforming response.",
    ]
    return lines


def _or_dash(value: object) -> str:
    return "—" if value is None else str(value)


def _hostile(records: list[dict[str, Any]]) -> list[str]:
    if not records:
        return ["No hostile-input figures were recorded."]
    tried = sum(r["tried"] for r in records)
    literal = sum(r["stored_literally"] for r in records)
    return [
        f"- Hostile inputs tried: **{tried}** in {len(records)} test cases",
        f"- Rejected with a coded error and nothing written: **{tried - literal}**",
        f"- Stored literally and read back equal: **{literal}**",
        "- Accepted as anything else (an operator evaluated, a write after a rejection): **0**",
    ]


def _soak(records: list[dict[str, Any]]) -> list[str]:
    if not records:
        return ["No soak figures were recorded."]
    lines = []
    for number, r in enumerate(records, start=1):
        windows = ", ".join(f"{w:g}" for w in r["p99_windows_ms"])
        broken = _soak_failures(r)
        verdict = "passed" if not broken else "failed: " + "; ".join(broken)
        lines += [
            f"| Run {number} | {verdict} |",
            "|---|---|",
            f"| Duration | {r['seconds']:g} s at {r['rate']:g} operations/s |",
            f"| Requests | {r['requests']} ({_mix(r['by_kind'])}) |",
            f"| Errors | {r['errors']} |",
            f"| p50 latency | {r['p50_ms']:.1f} ms |",
            f"| p99, first window ({r['warmup_seconds']:g} s) | {r['p99_first_ms']:.1f} ms |",
            f"| p99, rest of the run | {r['p99_rest_ms']:.1f} ms "
            f"({r['p99_rest_ms'] / max(r['p99_first_ms'], 1e-9):.2f}× the first window) |",
            f"| p99 per window (ms) | {windows} |",
            f"| Highest 1-minute load average per window ({os.cpu_count()} CPUs) "
            f"| {', '.join(f'{v:g}' for v in r.get('load_windows', [])) or 'not recorded'} |",
            f"| RSS after warm-up → end | {r['rss_warm_mb']:.1f} MB → {r['rss_end_mb']:.1f} MB "
            f"({r['rss_growth']:+.1%}), max {r['rss_max_mb']:.1f} MB |",
            "",
        ]
    return lines


def _soak_failures(r: dict[str, Any]) -> list[str]:
    broken = []
    if r["errors"]:
        broken.append(f"{r['errors']} errors")
    if r["p99_rest_ms"] > P99_FACTOR * r["p99_first_ms"]:
        broken.append(f"p99 after warm-up above {P99_FACTOR:g}× the first window's")
    if r["rss_growth"] >= RSS_GROWTH_LIMIT:
        broken.append(f"RSS grew {r['rss_growth']:.1%}")
    return broken


def _mix(by_kind: dict[str, int]) -> str:
    return ", ".join(f"{kind} {count}" for kind, count in sorted(by_kind.items()))


def render(records: list[dict[str, Any]], when: datetime) -> str:
    """The markdown of ``docs/reliability.md``."""

    def of(kind: str) -> list[dict[str, Any]]:
        return [r for r in records if r["kind"] == kind]

    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"
    python = f"Python {platform.python_version()}"
    lines = [
        "# Reliability figures",
        "",
        f"Measured {when:%Y-%m-%d %H:%M} UTC on {machine}, {python}, embedded nx-27017. "
        f"Rerun with `{COMMAND}` (about 30 minutes); it rewrites this file.",
        "CI runs the short versions of the same checks on every `make test` "
        "(`tests/fuzz`, `tests/e2e/test_hostile_input.py`, `tests/reliability`).",
        "",
        "## Fuzzing (schemathesis)",
        "",
        "Every operation of each service's `/openapi.json` (generated from its pydantic "
        "contracts) and every query and mutation field of the gateway's GraphQL schema, with "
        "schema-valid and schema-breaking examples, first with generated ids and then with the "
        "ids of existing records. An example fails on a 5xx, an answer that does not conform "
        "to the document (status, content type, body schema), a GraphQL error not coded as "
        "the client's (or an authentication refusal: the fuzzer sends an ADMIN credential), "
        "or an ERROR logged by the application (an unhandled exception).",
        "",
        *_fuzz(of("fuzz")),
        "",
        "## Hostile input (through the gateway)",
        "",
        "MongoDB operators and `$where` in every id and text argument, keys with `$` and `.`, "
        "100 000-character strings, NaN and ±Infinity (raw JSON bodies), negative counts, "
        "wrong types, queries nested past the depth limit, alias and fragment bombs, batched "
        "operations, malformed and oversized (413) bodies. Each must be rejected with a stable "
        "code while the document counts of every service database stay unchanged, or be "
        "stored literally and read back equal.",
        "",
        *_hostile(of("hostile")),
        "",
        "## Soak (`python -m reliability.soak`)",
        "",
        "A real `integra up` (fresh embedded database) under a steady load: 70 % reads "
        "(shops with score, risks and KPIs; ranking; risk register), 30 % writes "
        "(`recordAssessment`, `recordMeasurement`). Pass: 0 errors, p99 after the first "
        "window within 2× the first window's, RSS growth after warm-up under 10 %. The "
        "machine may be shared: the highest load average of each window shows how busy it "
        "was, and a p99 spike in a window whose load is far above the CPU count is contention "
        "rather than drift; rerun on a quiet machine to tell them apart.",
        "",
        *_soak(of("soak")),
    ]
    faults = of("faults")
    if faults:
        lines += ["## Faults", ""]
        lines += [f"- {r.get('summary', r)}" for r in faults]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the report; exit 1 when no figure was recorded."""
    parser = argparse.ArgumentParser(prog="python -m reliability.report", description=__doc__)
    parser.add_argument("figures", type=Path)
    parser.add_argument("output", type=Path)
    args = parser.parse_args(argv)
    records = read(args.figures)
    if not records:
        print(f"no figures in {args.figures}", file=sys.stderr)
        return 1
    args.output.write_text(render(records, datetime.now(UTC)), encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
