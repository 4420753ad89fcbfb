"""``python -m bench``: Integra side by side with the limit and a peer, in one run.

Starts every target on free loopback ports in a temporary directory, checks that each answers
without errors, loads each with wrk (the write target with a fixed-rate generator), prints one
table, the work per operation from the metrics and the ranking latency by number of shops,
and stops every process it started (their whole process groups), also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import graphql as gql
from bench.metrics import PerOperation, per_operation
from bench.ranking import grow_shops, time_ranking
from bench.rss import PeakRss
from bench.servers import Server, Servers, clean_env, mongo_uri
from bench.shop_data import LIST_FILE_VARIABLE, ONE_SHOP_QUERY, SHOP_FILE_VARIABLE
from bench.steady import run_steady
from bench.wrk import LoadResult, require_wrk, run_wrk

COMPONENTS = ("scoring", "risk", "kpi")
JWT_SECRET = secrets.token_hex(32)
"""Signs the ADMIN JWT used where no admin API key file is written (one secret per run)."""


def integra_env(**overrides: str) -> dict[str, str]:
    """The environment of every Integra process of the benchmark.

    The per-client rate limit is off (one load generator is one client); quiet logs; a JWT
    secret so that a stack without an admin key file still accepts the benchmark's token.
    """
    defaults = {
        "INTEGRA_LOG_LEVEL": "warning",
        "INTEGRA_RATE_LIMIT_PER_MINUTE": "0",
        "INTEGRA_JWT_SECRET": JWT_SECRET,
    }
    return clean_env(**{**defaults, **overrides})


@dataclass
class Target:
    """One thing to load: a URL, its servers (for RSS) and the request body."""

    name: str
    url: str
    servers: Sequence[Server]
    body: bytes
    headers: dict[str, str]
    steady: Callable[[int], bytes] | None = None


@dataclass
class Row:
    """A target's figures over the runs (medians)."""

    target: str
    rate: list[float] = field(default_factory=list)
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)
    errors: list[int] = field(default_factory=list)
    rss_app: list[float] = field(default_factory=list)
    rss_db: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)

    def add(self, result: LoadResult, rss: PeakRss) -> None:
        """Record one run."""
        self.rate.append(result.rate)
        self.p50.append(result.p50_ms)
        self.p99.append(result.p99_ms)
        self.errors.append(result.errors)
        self.rss_app.append(rss.app_mb)
        self.rss_db.append(rss.db_mb)
        self.cpu_ms.append(1000 * (rss.app_cpu + rss.db_cpu) / max(1, result.requests))


@dataclass
class Stack:
    """One Integra deployment (one process, or one per component) with its data."""

    mode: str
    gateway: Server
    servers: list[Server]
    data_dir: Path
    metrics_urls: list[str]
    headers: dict[str, str] = field(default_factory=dict)
    shop_ids: list[str] = field(default_factory=list)
    shares: Stack | None = None
    """Another stack over the same services and data (seeded once, through that one)."""

    @property
    def graphql_url(self) -> str:
        """The GraphQL endpoint."""
        return self.gateway.url + "/graphql"


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    """The median of the per-run ratios (runs of the same round share the machine's state)."""
    return _median([n / d for n, d in zip(numerators, denominators, strict=False) if d])


def machine_line() -> str:
    """nproc, CPU model and Python version."""
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, " + (
        f"load average at start {os.getloadavg()[0]:.2f}"
    )


# --- starting the targets ------------------------------------------------------------------


def start_up(servers: Servers, **settings: str) -> Stack:
    """``integra up`` with its embedded nx-27017 in a fresh data directory (and ``settings``,
    ``INTEGRA_*`` variables over the benchmark's)."""
    data_dir = servers.work_dir / "up"
    env = integra_env(INTEGRA_DATA_DIR=str(data_dir), **settings)
    up = servers.integra("integra-up", ["up"], env)
    up.wait_http("/readyz")
    return Stack("up", up, [up], data_dir, [up.url + "/metrics"])


def start_separate(servers: Servers) -> list[Stack]:
    """``integra serve scoring|risk|kpi|gateway`` over their own nx-27017, and a second gateway
    over the same services calling them with httpx's own pool instead of aiohttp's."""
    mongo = servers.mongo("nx-27017-separate")
    data_dir = servers.work_dir / "separate"
    data_dir.mkdir(parents=True, exist_ok=True)
    base = integra_env(
        MONGODB_URI=mongo_uri(mongo), INTEGRA_DATA_DIR=str(data_dir), INTEGRA_DB_PREFIX="separate"
    )
    started = {c: servers.integra(f"serve-{c}", ["serve", c], base) for c in COMPONENTS}
    urls = {f"INTEGRA_{c.upper()}_URL": started[c].url for c in COMPONENTS}
    stacks: list[Stack] = []
    for mode, client in (("separate", "aiohttp"), ("separate-httpx", "httpx")):
        env = {**base, **urls, "INTEGRA_SERVICE_HTTP_CLIENT": client}
        gateway = servers.integra(f"serve-gateway-{client}", ["serve", "gateway"], env)
        gateway.wait_http("/readyz")
        processes = [mongo, *started.values(), gateway]
        metrics = [s.url + "/metrics" for s in (*started.values(), gateway)]
        shares = stacks[0] if stacks else None
        stacks.append(Stack(mode, gateway, processes, data_dir, metrics, shares=shares))
    return stacks


async def seed(stack: Stack, shops: int) -> None:
    """Read the admin key (if any), then load the benchmark's data through GraphQL."""
    stack.headers = gql.graphql_headers(stack.data_dir, JWT_SECRET)
    call = gql.GraphQLClient(stack.graphql_url, stack.headers)
    try:
        stack.shop_ids = await gql.seed_stack(call, shops)
    finally:
        await call.close()


async def probe(url: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """One request that must answer 200 without GraphQL errors; its JSON answer."""
    import httpx

    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        response = await client.post(url, content=body)
    answer: dict[str, Any] = response.json()
    if response.status_code != 200 or answer.get("errors") or not answer.get("data"):
        raise RuntimeError(f"{url} does not answer cleanly ({response.status_code}): {answer}")
    return answer


def targets_of(stack: Stack, has_kpis: bool, write_counter: list[int]) -> list[Target]:
    """Targets 3–6 on one stack."""
    first = stack.shop_ids[0]
    ids = stack.shop_ids

    def write_body(_: int) -> bytes:
        write_counter[0] += 1
        index = write_counter[0]
        code, inputs = gql.MEASURED_KPIS[0]
        variables = {"input": gql.measurement_input(ids[index % len(ids)], index, code, inputs)}
        return gql.request_body(gql.RECORD_MEASUREMENT, variables)

    one = gql.request_body(ONE_SHOP_QUERY, {"id": first})
    dashboard = gql.request_body(gql.with_kpis(gql.DASHBOARD_QUERY, has_kpis), {"id": first})
    listing = gql.list_body(has_kpis)
    name = f"integra {stack.mode}"
    return [
        Target(f"{name}: one shop", stack.graphql_url, stack.servers, one, stack.headers),
        Target(f"{name}: dashboard", stack.graphql_url, stack.servers, dashboard, stack.headers),
        Target(f"{name}: list of 50", stack.graphql_url, stack.servers, listing, stack.headers),
        Target(
            f"{name}: write",
            stack.graphql_url,
            stack.servers,
            b"",
            stack.headers,
            steady=write_body,
        ),
    ]


# --- measuring -----------------------------------------------------------------------------


def load(target: Target, args: argparse.Namespace) -> tuple[LoadResult, PeakRss]:
    """Warm-up, then the measured phase with RSS sampling."""
    if target.steady is not None:
        body_of = target.steady

        def steady(seconds: float) -> LoadResult:
            return asyncio.run(
                run_steady(
                    target.url, target.headers, body_of, args.write_rate, seconds, args.connections
                )
            )

        steady(args.warmup)
        with PeakRss(target.servers) as rss:
            result = steady(args.duration)
        return result, rss
    run_wrk(target.url, target.body, target.headers, args.connections, args.warmup)
    with PeakRss(target.servers) as rss:
        result = run_wrk(target.url, target.body, target.headers, args.connections, args.duration)
    return result, rss


async def work_per_operation(stack: Stack, has_kpis: bool, count: int) -> dict[str, PerOperation]:
    """Service calls and MongoDB commands per operation of targets 3–5 (and the list at 10
    shops, to show whether the commands grow with the list)."""
    call = gql.GraphQLClient(stack.graphql_url, stack.headers)
    first = stack.shop_ids[0]
    operations: dict[str, Callable[[], Awaitable[object]]] = {
        "one shop": lambda: call(ONE_SHOP_QUERY, {"id": first}),
        "dashboard": lambda: call(gql.with_kpis(gql.DASHBOARD_QUERY, has_kpis), {"id": first}),
        "list of 10": lambda: call(gql.with_kpis(gql.LIST_QUERY, has_kpis), {"limit": 10}),
        "list of 50": lambda: call(gql.with_kpis(gql.LIST_QUERY, has_kpis), {"limit": 50}),
    }
    try:
        return {
            name: await per_operation(stack.metrics_urls, operation, count)
            for name, operation in operations.items()
        }
    finally:
        await call.close()


def ranking_latency(
    servers: Servers, sizes: Sequence[int], runs: int
) -> list[tuple[int, float, float]]:
    """(shops, insert seconds, ranking p50 ms) for each size, on a dedicated database."""
    mongo = servers.mongo("nx-27017-ranking")
    data_dir = servers.work_dir / "ranking"
    env = integra_env(
        MONGODB_URI=mongo_uri(mongo), INTEGRA_DATA_DIR=str(data_dir), INTEGRA_DB_PREFIX="ranking"
    )
    up = servers.integra("integra-up-ranking", ["up"], env)
    up.wait_http("/readyz")
    headers = gql.graphql_headers(data_dir, JWT_SECRET)
    results = []
    have = 0
    try:
        for size in sorted(sizes):
            inserted = grow_shops(mongo_uri(mongo), "ranking_scoring", have, size)
            have = size
            p50, total = time_ranking(up.url + "/graphql", headers, runs)
            if total != size:
                raise RuntimeError(f"ranking counted {total} shops, expected {size}")
            results.append((size, inserted, p50))
            print(f"  ranking with {size} shops: p50 {p50:.1f} ms (insert {inserted:.1f} s)")
    finally:
        servers.stop(mongo, up)
    return results


# --- output --------------------------------------------------------------------------------


def table(
    rows: Sequence[Row], runs: int, has_kpis: bool, write_rate: float, credential: str
) -> str:
    """The one table, in markdown, with the ratios under it."""
    lines = [
        "| target | req/s | p50 ms | p99 ms | errors | peak RSS MB (app) | peak RSS MB (db) "
        "| server CPU ms/req |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        db = f"{_median(row.rss_db):.0f}" if max(row.rss_db, default=0) else "–"
        lines.append(
            f"| {row.target} | {_median(row.rate):.0f} | {_median(row.p50):.1f} | "
            f"{_median(row.p99):.1f} | {sum(row.errors)} | {_median(row.rss_app):.0f} | {db} | "
            f"{_median(row.cpu_ms):.2f} |"
        )
    by_name = {row.target: row.rate for row in rows}
    notes = [f"Medians of {runs} run(s); errors are summed over the runs."]
    peer, limit = by_name.get("peer"), by_name.get("limit")
    peer_list = by_name.get("peer: list of 50")
    for mode in ("up", "separate", "separate-httpx"):
        one = by_name.get(f"integra {mode}: one shop")
        if one and peer and limit:
            notes.append(
                f"integra {mode} one shop / peer = {_ratio(one, peer):.2f}; "
                f"/ limit = {_ratio(one, limit):.3f} (medians of the per-run ratios)"
            )
        listed = by_name.get(f"integra {mode}: list of 50")
        if listed and peer_list:
            notes.append(
                f"integra {mode} list of 50 / peer list of 50 = {_ratio(listed, peer_list):.2f}"
            )
    notes.append(
        "server CPU ms/req: user+system CPU of the target's processes (database included) "
        "during the measured phase, per completed request; robust when the machine is shared."
    )
    notes.append(f"GraphQL requests authenticated with: {credential}.")
    notes.append(
        f"write: fixed rate {write_rate:g} req/s (open loop, latency from the scheduled time)."
    )
    if not has_kpis:
        notes.append("Shop.kpis is not in the schema yet: dashboard and list ran without it.")
    return "\n".join([*lines, "", *notes])


def per_operation_table(results: dict[str, dict[str, PerOperation]]) -> str:
    """Service calls and MongoDB commands per GraphQL operation, by stack."""
    lines = [
        "| stack | operation | service calls / op | MongoDB commands / op | of which gateway "
        "| commands by service |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for mode, by_operation in results.items():
        for name, work in by_operation.items():
            lines.append(
                f"| {mode} | {name} | {work.service_calls:.1f} | {work.mongo_commands:.1f} | "
                f"{work.gateway_mongo_commands:.1f} | "
                + ", ".join(f"{k} {v:.1f}" for k, v in work.by_command.items())
                + " |"
            )
    return "\n".join(lines)


def ranking_table(results: Sequence[tuple[int, float, float]]) -> str:
    """Ranking p50 by number of shops, and the ratio to the smallest."""
    if not results:
        return ""
    base = results[0][2]
    lines = [
        "| shops | ranking p50 ms | × smallest | bulk insert s |",
        "| ---: | ---: | ---: | ---: |",
    ]
    lines += [f"| {n} | {p50:.1f} | {p50 / base:.2f} | {ins:.1f} |" for n, ins, p50 in results]
    return "\n".join(lines)


# --- the command ---------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--duration", type=float, default=15, help="measured seconds per target")
    parser.add_argument("--warmup", type=float, default=5, help="warm-up seconds per target")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3, help="runs per target (median)")
    parser.add_argument("--write-rate", type=float, default=20, help="writes per second")
    parser.add_argument("--ranking-sizes", default="1000,10000,100000")
    parser.add_argument("--ranking-runs", type=int, default=7)
    parser.add_argument("--per-op-count", type=int, default=50)
    parser.add_argument("--skip", default="", help="comma list: separate,ranking,per-op")
    parser.add_argument(
        "--targets", default="", help="comma list of words; load only targets whose name has one"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.runs = 3, 1, 1
        args.ranking_sizes, args.ranking_runs, args.per_op_count = "1000,10000", 5, 10
    args.skip = {s for s in args.skip.split(",") if s}
    return args


def _stop_on_sigterm() -> None:
    def stop(signum: int, _: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print its tables."""
    args = parse_args(argv)
    require_wrk()
    _stop_on_sigterm()
    work_dir = Path(tempfile.mkdtemp(prefix="integra-bench-"))
    servers = Servers(work_dir)
    print(f"machine: {machine_line()}\nwork directory: {work_dir}", flush=True)
    try:
        report = measure(servers, args)
    finally:
        servers.stop_all()
    print("\n" + report["table"])
    if report["per_operation"]:
        print("\nWork per GraphQL operation (from /metrics):\n" + report["per_operation"])
    if report["ranking"]:
        print("\nRanking query latency:\n" + report["ranking"])
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    if not args.keep:
        import shutil

        shutil.rmtree(work_dir, ignore_errors=True)


def measure(servers: Servers, args: argparse.Namespace) -> dict[str, Any]:
    """Start, check, load and stop every target; the report's parts."""
    stacks = [start_up(servers)]
    if "separate" not in args.skip:
        stacks.extend(start_separate(servers))
    for stack in stacks:
        if stack.shares is not None:
            stack.headers, stack.shop_ids = stack.shares.headers, stack.shares.shop_ids
            continue
        started = time.perf_counter()
        asyncio.run(seed(stack, gql.LIST_SIZE))
        print(f"seeded {stack.mode} in {time.perf_counter() - started:.1f} s", flush=True)
    up = stacks[0]
    has_kpis = asyncio.run(_has_kpis(up))
    one_shop = gql.request_body(ONE_SHOP_QUERY, {"id": up.shop_ids[0]})
    answer = asyncio.run(probe(up.graphql_url, up.headers, one_shop))
    listing = gql.list_body(has_kpis)
    list_answer = asyncio.run(probe(up.graphql_url, up.headers, listing))
    env = {
        SHOP_FILE_VARIABLE: _answer_file(servers.work_dir / "shop.json", answer["data"]["shop"]),
        LIST_FILE_VARIABLE: _answer_file(
            servers.work_dir / "list.json", list_answer["data"]["shops"]
        ),
    }
    limit = servers.uvicorn_app("limit", "bench.limit_app:create_app", env)
    peer = servers.uvicorn_app("peer", "bench.peer_app:create_app", env)
    plain = {"Content-Type": "application/json"}
    same = [(limit, one_shop, answer), (peer, one_shop, answer), (peer, listing, list_answer)]
    for server, body, expected in same:
        other = asyncio.run(probe(server.url + "/graphql", plain, body))
        if other != expected:
            raise RuntimeError(f"{server.name} answers {other}, integra {expected}")
    targets = [
        Target("limit", limit.url + "/graphql", [limit], one_shop, plain),
        Target("peer", peer.url + "/graphql", [peer], one_shop, plain),
        Target("peer: list of 50", peer.url + "/graphql", [peer], listing, plain),
    ]
    write_counter = [0]
    for stack in stacks:
        targets += targets_of(stack, has_kpis, write_counter)
    for target in targets:
        if target.steady is None:
            asyncio.run(probe(target.url, target.headers, target.body))
    wanted = [w for w in args.targets.split(",") if w]
    if wanted:
        targets = [t for t in targets if any(w in t.name for w in wanted)]
    rows = {t.name: Row(t.name) for t in targets}
    for run in range(args.runs):
        for target in targets:
            result, rss = load(target, args)
            rows[target.name].add(result, rss)
            print(
                f"run {run + 1}/{args.runs} {target.name}: {result.rate:.0f} req/s, "
                f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
                f"errors {result.errors}, RSS {rss.app_mb:.0f}+{rss.db_mb:.0f} MB, "
                f"CPU {rows[target.name].cpu_ms[-1]:.2f} ms/req",
                flush=True,
            )
    per_op: dict[str, dict[str, PerOperation]] = {}
    if "per-op" not in args.skip:
        for stack in stacks:
            per_op[stack.mode] = asyncio.run(work_per_operation(stack, has_kpis, args.per_op_count))
    servers.stop_all()
    ranking: list[tuple[int, float, float]] = []
    if "ranking" not in args.skip:
        sizes = [int(s) for s in args.ranking_sizes.split(",") if s]
        ranking = ranking_latency(servers, sizes, args.ranking_runs)
    return {
        "machine": machine_line(),
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "has_kpis": has_kpis,
        "rows": [asdict(r) for r in rows.values()],
        "table": table(
            list(rows.values()),
            args.runs,
            has_kpis,
            args.write_rate,
            ", ".join(f"{s.mode} {gql.credential_kind(s.headers)}" for s in stacks),
        ),
        "per_operation": per_operation_table(per_op) if per_op else "",
        "per_operation_raw": {m: {k: asdict(v) for k, v in d.items()} for m, d in per_op.items()},
        "ranking_raw": ranking,
        "ranking": ranking_table(ranking),
    }


def _answer_file(path: Path, data: object) -> str:
    """Write one of Integra's answers for the limit and the peer to serve; the path."""
    path.write_text(json.dumps(data))
    return str(path)


async def _has_kpis(stack: Stack) -> bool:
    call = gql.GraphQLClient(stack.graphql_url, stack.headers)
    try:
        return await gql.has_kpis_field(call)
    finally:
        await call.close()
