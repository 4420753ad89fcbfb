"""``python -m bench.compare A B``: two checkouts' ``integra up`` side by side, CPU per request.

Each checkout (a directory: a ``git worktree`` of another commit, say) runs its own
``integra up`` (its code first on ``PYTHONPATH``) over its own embedded database, seeded alike.
The same one-shop, dashboard and list requests go to each in turn, in short alternating
rounds, one at a time; the figure is the CPU time of the server and of its database per
request (``/proc``), which a shared, noisy machine moves far less than throughput, and moves
alike for both because the rounds interleave. For a change's effect on the work per request,
not for throughput (``python -m bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import httpx

from bench import graphql as gql
from bench.rss import cpu_seconds, is_database
from bench.run import Stack, seed, start_up
from bench.servers import Servers
from bench.shop_data import ONE_SHOP_QUERY

#: Requests per round and target (about the same time per round).
PER_ROUND = {"one shop": 100, "dashboard": 40, "list": 10}


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                found += [int(child), *_descendants(int(child))]
    return found


def _cpu(pids: Sequence[int]) -> tuple[float, float]:
    """CPU seconds of the server and of its database processes."""
    db = sum(cpu_seconds(p) for p in pids if is_database(p))
    return sum(cpu_seconds(p) for p in pids) - db, db


def _body(stack: Stack, target: str) -> bytes:
    first = {"id": stack.shop_ids[0]}
    if target == "one shop":
        return gql.request_body(ONE_SHOP_QUERY, first)
    if target == "dashboard":
        return gql.request_body(gql.with_kpis(gql.DASHBOARD_QUERY, True), first)
    return gql.list_body(True)


def measure(stacks: dict[str, Stack], target: str, rounds: int) -> dict[str, tuple[float, float]]:
    """Server and database CPU ms per request of ``target`` on each stack (round 0 warms)."""
    spent = {name: [0.0, 0.0] for name in stacks}
    with httpx.Client(timeout=60) as client:
        for round_ in range(rounds + 1):
            for name, stack in stacks.items():
                pids = [stack.gateway.process.pid, *_descendants(stack.gateway.process.pid)]
                body = _body(stack, target)
                before = _cpu(pids)
                for _ in range(PER_ROUND[target]):
                    answer = client.post(stack.graphql_url, content=body, headers=stack.headers)
                    if answer.status_code != 200 or "errors" in answer.json():
                        raise RuntimeError(f"{name} {target}: {answer.text[:300]}")
                after = _cpu(pids)
                if round_:
                    spent[name][0] += after[0] - before[0]
                    spent[name][1] += after[1] - before[1]
    count = rounds * PER_ROUND[target]
    return {name: (1000 * s[0] / count, 1000 * s[1] / count) for name, s in spent.items()}


def main(argv: Sequence[str] | None = None) -> None:
    """Start both stacks, measure each target, print a table with the ratios B / A."""
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__)
    parser.add_argument("trees", nargs=2, help="two checkouts (A is the base)")
    parser.add_argument("--targets", default="one shop,dashboard,list")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an INTEGRA_* setting of both stacks (repeatable), e.g. "
        "INTEGRA_RATE_LIMIT_PER_MINUTE=1000000 to measure the rate limit's cost",
    )
    parser.add_argument(
        "--trace-b",
        action="store_true",
        help="B traces every request, exported over OTLP to a receiver in this process",
    )
    args = parser.parse_args(argv)
    if args.trace_b and args.trees[0] == args.trees[1]:
        args.trees[1] += "/."  # the same checkout twice: two names for the table
    everything: list[Servers] = []
    stacks: dict[str, Stack] = {}
    receiver = None
    try:
        for tree in args.trees:
            os.environ["PYTHONPATH"] = str(Path(tree).resolve())  # the children import it
            if args.trace_b and tree == args.trees[1]:
                from tests.e2e.otlp_receiver import OtlpReceiver

                receiver = OtlpReceiver()
                os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
            servers = Servers(Path(tempfile.mkdtemp(prefix="integra-compare-")))
            everything.append(servers)
            stack = start_up(servers, **dict(pair.split("=", 1) for pair in args.setting))
            asyncio.run(seed(stack, gql.LIST_SIZE))
            stacks[tree] = stack
        print("| target | tree | server CPU ms/req | database CPU ms/req | B / A (server) |")
        print("| --- | --- | ---: | ---: | ---: |")
        for target in args.targets.split(","):
            figures = measure(stacks, target, args.rounds)
            (base, _), (other, _) = figures.values()
            for tree, (server, db) in figures.items():
                ratio = f"{other / base:.2f}" if tree == args.trees[1] else ""
                print(f"| {target} | {tree} | {server:.2f} | {db:.2f} | {ratio} |", flush=True)
    finally:
        for servers in everything:
            servers.stop_all()
        if receiver is not None:
            print(f"spans received by B's collector: {len(receiver.spans)}")
            receiver.close()


if __name__ == "__main__":
    main()
