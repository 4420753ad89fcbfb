"""``python -m bench.profile``: where ``integra up`` spends its CPU under the one-shop, the
dashboard and the list load, sampled with py-spy (``pip install py-spy``; needs ptrace rights,
e.g. root).

Prints, per target, the functions with the most samples on top of the stack (self) and in
the stack (inclusive), grouped by ``file:function``; the raw collapsed stacks and an SVG
flame graph stay in the work directory (``--keep``).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from bench import graphql as gql
from bench.run import seed, start_up
from bench.servers import Servers
from bench.shop_data import ONE_SHOP_QUERY
from bench.wrk import require_wrk, run_wrk

_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _frame_name(frame: str) -> str:
    match = _FRAME.match(frame)
    if match is None:
        return frame
    path = match["file"]
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{match['function']}"


def summarise(collapsed: str, top: int) -> str:
    """Self and inclusive sample shares of the functions in py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";")]
        # The first frame of py-spy's raw output is the thread ("process ... thread ...").
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    lines = [f"{total} samples", "", "self %   function"]
    lines += [f"{100 * n / total:6.1f}   {name}" for name, n in own.most_common(top)]
    lines += ["", "incl %   function"]
    lines += [f"{100 * n / total:6.1f}   {name}" for name, n in inclusive.most_common(top * 2)]
    return "\n".join(lines)


def profile_target(
    py_spy: str,
    pid: int,
    url: str,
    body: bytes,
    headers: dict[str, str],
    seconds: int,
    out: Path,
) -> str:
    """Load ``url`` with wrk while py-spy samples ``pid``; the summary of the samples."""
    raw = out.with_suffix(".txt")
    record = [py_spy, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "250",
              "--format", "raw", "--output", str(raw), "--nonblocking"]  # fmt: skip
    sampler = subprocess.Popen(record, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
    loader = threading.Thread(
        target=run_wrk, args=(url, body, headers, 16, seconds + 2), daemon=True
    )
    loader.start()
    _, errors = sampler.communicate()
    loader.join()
    if sampler.returncode != 0 or not raw.exists():
        raise RuntimeError(f"py-spy failed: {errors.decode(errors='replace')}")
    return summarise(raw.read_text(), 25)


def main(argv: Sequence[str] | None = None) -> None:
    """Profile the one-shop, dashboard and list targets of ``integra up``."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    require_wrk()
    py_spy = shutil.which("py-spy") or str(Path(__import__("sys").executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        raise SystemExit("py-spy is missing: .venv/bin/pip install py-spy")
    work_dir = Path(tempfile.mkdtemp(prefix="integra-profile-"))
    servers = Servers(work_dir)
    try:
        stack = start_up(servers)
        asyncio.run(seed(stack, gql.LIST_SIZE))
        has_kpis = asyncio.run(_has_kpis(stack.graphql_url, stack.headers))
        first = {"id": stack.shop_ids[0]}
        bodies = {
            "one-shop": gql.request_body(ONE_SHOP_QUERY, first),
            "dashboard": gql.request_body(gql.with_kpis(gql.DASHBOARD_QUERY, has_kpis), first),
            "list": gql.list_body(has_kpis),
        }
        for name, body in bodies.items():
            run_wrk(stack.graphql_url, body, stack.headers, 16, 3)  # warm-up
            summary = profile_target(
                py_spy, stack.gateway.process.pid, stack.graphql_url, body, stack.headers,
                args.seconds, work_dir / f"profile-{name}",
            )  # fmt: skip
            print(f"\n=== integra up, {name} ===\n{summary}", flush=True)
    finally:
        servers.stop_all()
        print(f"\nwork directory: {work_dir}")
        if not args.keep:
            shutil.rmtree(work_dir, ignore_errors=True)


async def _has_kpis(url: str, headers: dict[str, str]) -> bool:
    call = gql.GraphQLClient(url, headers)
    try:
        return await gql.has_kpis_field(call)
    finally:
        await call.close()


if __name__ == "__main__":
    main()
