"""The platform's own KPIs (domain.md §4.6), from its request-duration histograms.

Every ``interval`` seconds (default 60) the recorder reads the
``http_server_request_duration_seconds`` histogram — from this process's registry in the
one-process stack, by scraping every process's ``/metrics`` in a multi-process deployment, or
from a Prometheus server that scrapes them (replicas that come and go) —
and records, for the scope ``platform`` and the last ``interval``, three ``SYSTEM``
measurements through the same store path as any other measurement (so their events reach the
risk service through the outbox):

- ``system_response_time``: ``total_response_seconds`` = increase of the histogram's sum,
  ``requests`` = increase of its count;
- ``sla_compliance``: ``within_sla`` = requests not answered 5xx that fell in the bucket at the
  SLA threshold, ``total`` = all requests;
- ``process_errors``: ``errors`` = requests answered 5xx, ``operations`` = all requests.

Decisions where the specification is silent:

- **Which requests.** Every series of the histogram except the probe and scrape routes
  (``/healthz``, ``/readyz``, ``/metrics``), of every service. In the one-process stack a
  GraphQL request and the service calls it makes are each counted: each is a request to one
  of the platform's APIs.
- **SLA bucket.** The bucket whose upper bound is the SLA threshold (``INTEGRA_SLA_SECONDS``,
  default 0.5, which is a bucket bound). If the threshold is not a bound, the largest bound
  below it is used: a request counts as within the SLA only when the histogram proves it, so
  compliance is never overstated. A threshold below the smallest bound is rejected when the
  recorder is built.
- **No traffic.** A period with no request records nothing: every formula's denominator would
  be zero (``measuring.compute_value`` rejects it). The no-data rule then notices a platform that
  has seen no traffic for 30 days.
- **Periods and windows.** Ticks fall on a grid of ``interval`` seconds since the epoch and
  the tick at ``t`` records the period ``[t - interval, t)``, the increase between the
  snapshots taken at those two ticks: consecutive periods never overlap, so series and
  roll-ups of the platform count each request once. Replicas record the same periods, and the
  unique index keeps the first (the others' conflicts are counted as ``duplicate``). Nothing
  is recorded until the recorder holds the previous tick's snapshot.
- **Status over the window.** Each measurement also carries its ``window``: the inputs of the
  platform's measurements of the last ``window`` seconds (default 300, this period included)
  summed, and the KPI's formula over those sums. The status shown for the platform and the
  breach event sent to the risk service judge that window value, so one slow minute among
  quiet ones does not escalate on its own, and a 5-minute SLA is judged over 5 minutes.
- **Resets.** A series whose count went down restarted (its process restarted): its later
  values are taken as the whole increase, as Prometheus's ``increase()`` does. A scraped
  instance that could not be read for the earlier snapshot is left out of the window.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import httpx
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from services.kpi import domain, measuring
from services.runtime.metrics import REGISTRY

log = logging.getLogger("integra.kpi.platform")

HISTOGRAM: Final = "http_server_request_duration_seconds"
EXCLUDED_ROUTES: Final = frozenset({"/healthz", "/readyz", "/metrics"})
ROUTE: Final = "http_route"
STATUS_CODE: Final = "http_response_status_code"


SeriesKey = tuple[tuple[str, str], ...]
"""The labels of one histogram series (without ``le``), sorted."""


@dataclass(frozen=True)
class SeriesCounts:
    """One histogram series at one moment: count, sum and cumulative bucket counts."""

    count: float
    total_seconds: float
    buckets: Mapping[float, float]


_ZERO = SeriesCounts(0.0, 0.0, {})


@dataclass(frozen=True)
class HistogramSnapshot:
    """The request-duration histogram at one moment, per series.

    ``instances`` names the sources that were read (``""`` for this process's registry, the
    URL for a scraped process); series carry an ``instance`` label when scraped.
    """

    series: Mapping[SeriesKey, SeriesCounts]
    instances: frozenset[str] = field(default_factory=lambda: frozenset({""}))

    def merge(self, other: HistogramSnapshot) -> HistogramSnapshot:
        """Both snapshots' series and instances together."""
        return HistogramSnapshot({**self.series, **other.series}, self.instances | other.instances)


def snapshot_from_families(families: Iterable[Metric], instance: str = "") -> HistogramSnapshot:
    """The request-duration histogram out of Prometheus metric families.

    Works for ``registry.collect()`` and for ``text_string_to_metric_families`` alike; a
    non-empty ``instance`` is added to every series' labels.
    """
    counts: dict[SeriesKey, float] = {}
    sums: dict[SeriesKey, float] = {}
    buckets: dict[SeriesKey, dict[float, float]] = {}
    for family in families:
        if family.name != HISTOGRAM:
            continue
        for sample in family.samples:
            labels = dict(sample.labels)
            le = labels.pop("le", None)
            if instance:
                labels["instance"] = instance
            key = tuple(sorted(labels.items()))
            if sample.name.endswith("_bucket") and le is not None:
                buckets.setdefault(key, {})[float(le)] = sample.value
            elif sample.name.endswith("_count"):
                counts[key] = sample.value
            elif sample.name.endswith("_sum"):
                sums[key] = sample.value
    series = {
        key: SeriesCounts(count, sums.get(key, 0.0), buckets.get(key, {}))
        for key, count in counts.items()
    }
    return HistogramSnapshot(series, frozenset({instance}))


def sla_bound(bounds: Iterable[float], threshold: float) -> float:
    """The bucket bound used for an SLA ``threshold``: the largest finite bound ≤ it.

    Raises ``ValueError`` when every bound is above the threshold.
    """
    eligible = [b for b in bounds if math.isfinite(b) and b <= threshold * (1 + 1e-9)]
    if not eligible:
        raise ValueError(f"no histogram bucket at or below the SLA threshold {threshold} s")
    return max(eligible)


@dataclass(frozen=True)
class PlatformWindow:
    """The platform's requests over a period."""

    requests: int
    total_seconds: float
    errors: int
    within_sla: int
    sla_bound: float

    def inputs(self) -> dict[str, dict[str, measuring.InputValue]]:
        """The inputs of each platform KPI, by KPI code."""
        return {
            "system_response_time": {
                "total_response_seconds": self.total_seconds,
                "requests": self.requests,
            },
            "sla_compliance": {"within_sla": self.within_sla, "total": self.requests},
            "process_errors": {"errors": self.errors, "operations": self.requests},
        }


def _counted(key: SeriesKey) -> bool:
    return dict(key).get(ROUTE) not in EXCLUDED_ROUTES


def platform_window(
    before: HistogramSnapshot, after: HistogramSnapshot, sla_seconds: float
) -> PlatformWindow | None:
    """The requests between two snapshots; ``None`` when there were none."""
    deltas: list[tuple[SeriesKey, SeriesCounts, SeriesCounts]] = []
    for key, later in after.series.items():
        if not _counted(key):
            continue
        earlier = before.series.get(key)
        if earlier is None:
            if dict(key).get("instance", "") not in before.instances:
                continue  # that process was not read then: its increase is unknown
            earlier = _ZERO
        elif later.count < earlier.count:
            earlier = _ZERO  # the series restarted
        deltas.append((key, earlier, later))
    requests = sum(round(later.count - earlier.count) for _, earlier, later in deltas)
    if requests <= 0:
        return None
    bound = sla_bound({b for _, _, later in deltas for b in later.buckets}, sla_seconds)
    seconds = errors = within = 0.0
    for key, earlier, later in deltas:
        seconds += max(later.total_seconds - earlier.total_seconds, 0.0)
        if dict(key).get(STATUS_CODE, "").startswith("5"):
            errors += later.count - earlier.count
        else:
            within += later.buckets.get(bound, 0.0) - earlier.buckets.get(bound, 0.0)
    return PlatformWindow(
        requests=requests,
        total_seconds=seconds,
        errors=round(errors),
        within_sla=min(round(within), requests),
        sla_bound=bound,
    )


def window_summary(
    definition: domain.KpiDefinition, periods: Sequence[Mapping[str, measuring.InputValue]]
) -> dict[str, Any]:
    """The inputs of consecutive periods summed (every platform input is a SUM) and the KPI's
    value over the sums: what the platform's status over a window judges."""
    inputs = {
        spec.name: round(math.fsum(float(p[spec.name]) for p in periods))
        if spec.kind is domain.InputKind.COUNT
        else math.fsum(float(p[spec.name]) for p in periods)
        for spec in definition.inputs
    }
    return {"inputs": inputs, "value": measuring.compute_value(definition, inputs)}


# --- readers ----------------------------------------------------------------------------------


class MetricsReader(Protocol):
    """Where the recorder reads the request-duration histogram."""

    async def read(self) -> HistogramSnapshot:
        """The histogram now."""


class RegistryReader:
    """Reads this process's metrics registry (the one-process stack)."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.registry = registry

    async def read(self) -> HistogramSnapshot:
        """The histogram of every component in this process."""
        return snapshot_from_families(self.registry.collect())


class ScrapeReader:
    """Scrapes the ``/metrics`` of each process of a multi-process deployment.

    A process that cannot be read is left out of the snapshot (and so of the windows that
    start or end with it).
    """

    def __init__(
        self,
        urls: Sequence[str],
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.urls = tuple(urls)
        self._transport = transport
        self._timeout = timeout

    async def _scrape(self, client: httpx.AsyncClient, url: str) -> HistogramSnapshot | None:
        try:
            response = await client.get(url)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("cannot scrape %s: %s", url, exc)
            return None
        return snapshot_from_families(text_string_to_metric_families(response.text), url)

    async def read(self) -> HistogramSnapshot:
        """The histogram of every process that answered."""
        async with httpx.AsyncClient(transport=self._transport, timeout=self._timeout) as client:
            results = await asyncio.gather(*(self._scrape(client, url) for url in self.urls))
        snapshot = HistogramSnapshot({}, frozenset())
        for result in results:
            if result is not None:
                snapshot = snapshot.merge(result)
        return snapshot


class PrometheusReader:
    """Reads the histogram of every process a Prometheus server scrapes (instant queries of
    its ``_count``, ``_sum`` and ``_bucket`` series): a deployment whose replicas come and go
    (Kubernetes) is watched through the Prometheus that already scrapes every replica.

    A failed query raises: that tick records nothing rather than a window of unknown extent.
    """

    def __init__(
        self,
        base_url: str,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._transport = transport
        self._timeout = timeout

    async def _query(self, client: httpx.AsyncClient, promql: str) -> list[dict[str, Any]]:
        response = await client.get(f"{self.base_url}/api/v1/query", params={"query": promql})
        response.raise_for_status()
        answer = response.json()
        if answer.get("status") != "success" or answer["data"]["resultType"] != "vector":
            raise ValueError(f"Prometheus did not answer a vector for {promql}: {answer}")
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    async def read(self) -> HistogramSnapshot:
        """The histogram of every scraped process, by its ``instance`` label."""
        async with httpx.AsyncClient(transport=self._transport, timeout=self._timeout) as client:
            counts, sums, buckets = await asyncio.gather(
                *(self._query(client, f"{HISTOGRAM}{suffix}") for suffix in _SUFFIXES)
            )
        samples = [
            Sample(f"{HISTOGRAM}{suffix}", _labels(item), float(item["value"][1]))
            for suffix, items in zip(_SUFFIXES, (counts, sums, buckets), strict=True)
            for item in items
        ]
        family = Metric(HISTOGRAM, "", "histogram")
        family.samples = samples
        snapshot = snapshot_from_families([family])
        instances = frozenset(dict(key).get("instance", "") for key in snapshot.series)
        return HistogramSnapshot(snapshot.series, instances)


_SUFFIXES: Final = ("_count", "_sum", "_bucket")


def _labels(item: Mapping[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in item["metric"].items() if k != "__name__"}
