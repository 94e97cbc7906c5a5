"""SLO values computed from the services' own `/metrics` (no Prometheus configured).

What is computed (the same quantities as the PromQL of `slo.promql`):
- p95 latencies: histogram_quantile over the bucket counts of the window, summed over every
  service and label set (unary calls only for the API), linearly interpolated;
- error rate: 5xx requests / all requests of `bytebot_api_requests_total` in the window;
- CPU: the busiest process's CPU seconds per second in the window / `cpu_limit_cores`;
- memory: the largest process's resident memory now / `memory_limit_bytes`.

"In the window" means a counter's increase since a baseline sample. A background sampler
scrapes every `slo_sample_interval_seconds` and keeps a day of compact per-service samples;
the baseline of a service is its newest sample taken at or before the window's start. A
process that started inside the window (or that telemetry has no sample of yet) counts from
zero: its cumulative values since its start. A counter that went down (restart) also counts
from zero, like Prometheus' reset handling.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
import urllib.request
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from services.telemetry.slo import INDICATORS, QUANTILE, Kind, histogram_quantile

HISTOGRAMS: dict[str, tuple[str, dict[str, str]]] = {
    spec.name: (spec.metric, {"grpc_type": "unary"} if spec.extra_selector else {})
    for spec in INDICATORS
    if spec.kind is Kind.P95
}


@dataclass
class ServiceSample:
    """The few numbers of one scrape the SLO report needs."""

    at: float
    # indicator name → {upper bound: cumulative count}, summed over label sets
    buckets: dict[str, dict[float, float]] = field(default_factory=dict)
    requests: float | None = None
    errors: float | None = None
    cpu_seconds: float | None = None
    start_time: float | None = None
    resident_bytes: float | None = None


def parse_sample(text: str, at: float) -> ServiceSample:
    sample = ServiceSample(at)
    wanted = {metric: (name, labels) for name, (metric, labels) in HISTOGRAMS.items()}
    for family in text_string_to_metric_families(text):
        if family.name in wanted:
            indicator, required = wanted[family.name]
            buckets = sample.buckets.setdefault(indicator, {})
            for s in family.samples:
                if not s.name.endswith("_bucket"):
                    continue
                if any(s.labels.get(k) != v for k, v in required.items()):
                    continue
                bound = float(s.labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + s.value
        elif family.name == "bytebot_api_requests":
            total = errors = 0.0
            for s in family.samples:
                if s.name != "bytebot_api_requests_total":
                    continue
                total += s.value
                if s.labels.get("status_code", "").startswith("5"):
                    errors += s.value
            sample.requests, sample.errors = total, errors
        elif family.name == "process_cpu_seconds":
            sample.cpu_seconds = _first(family.samples, "process_cpu_seconds_total")
        elif family.name == "process_start_time_seconds":
            sample.start_time = _first(family.samples, "process_start_time_seconds")
        elif family.name == "process_resident_memory_bytes":
            sample.resident_bytes = _first(family.samples, "process_resident_memory_bytes")
    return sample


def _first(samples: Iterable[object], name: str) -> float | None:
    for s in samples:
        if s.name == name:  # type: ignore[attr-defined]
            return float(s.value)  # type: ignore[attr-defined]
    return None


def fetch(url: str, timeout: float) -> str:
    # Plain-text exposition 0.0.4 (no OpenMetrics Accept header): what the parser reads.
    request = urllib.request.Request(url, headers={"Accept": "text/plain"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read().decode("utf-8", "replace")


def physical_memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _same_process(a: ServiceSample, b: ServiceSample) -> bool:
    return a.start_time is not None and a.start_time == b.start_time


def _increase(current: float | None, baseline: float | None) -> float | None:
    if current is None:
        return None
    if baseline is None or current < baseline:  # no baseline, or a reset: count from zero
        return current
    return current - baseline


class MetricsHistory:
    """Compact samples per service over (at most) a day."""

    def __init__(self, max_age_s: float = 86_400.0, max_samples: int = 10_000) -> None:
        self.max_age_s = max_age_s
        self._samples: dict[str, deque[ServiceSample]] = {}
        self._max_samples = max_samples

    def add(self, service: str, sample: ServiceSample) -> None:
        queue = self._samples.setdefault(service, deque(maxlen=self._max_samples))
        queue.append(sample)
        while queue and sample.at - queue[0].at > self.max_age_s:
            queue.popleft()

    def latest_at(self, service: str) -> float | None:
        queue = self._samples.get(service)
        return queue[-1].at if queue else None

    def baseline(
        self, service: str, current: ServiceSample, window_start: float
    ) -> ServiceSample | None:
        """The sample to subtract for `current` over a window starting at `window_start`."""
        same = [s for s in self._samples.get(service, ()) if _same_process(s, current)
                and s.at < current.at]
        at_or_before = [s for s in same if s.at <= window_start]
        if at_or_before:
            return at_or_before[-1]
        if current.start_time is not None and current.start_time >= window_start:
            return None  # the process started inside the window: all of it counts
        return same[0] if same else None


@dataclass
class WindowValues:
    """The indicator values of one window (None: no data)."""

    values: dict[str, float | None]
    scraped: list[str]
    failed: dict[str, str]


def compute(
    current: dict[str, ServiceSample],
    history: MetricsHistory,
    window_s: float,
    memory_limit_bytes: float,
    cpu_limit_cores: float,
) -> dict[str, float | None]:
    values: dict[str, float | None] = {}
    now = max((s.at for s in current.values()), default=time.time())
    window_start = now - window_s
    baselines = {name: history.baseline(name, s, window_start) for name, s in current.items()}

    for indicator in HISTOGRAMS:
        merged: dict[float, float] = {}
        for name, sample in current.items():
            buckets = sample.buckets.get(indicator)
            if not buckets:
                continue
            base = baselines[name]
            base_buckets = base.buckets.get(indicator, {}) if base else {}
            # a reset in any bucket means the process restarted: count from zero
            reset = any(buckets.get(b, 0.0) < c for b, c in base_buckets.items())
            for bound, count in buckets.items():
                delta = count if reset else count - base_buckets.get(bound, 0.0)
                merged[bound] = merged.get(bound, 0.0) + delta
        values[indicator] = histogram_quantile(QUANTILE, merged.items()) if merged else None

    requests = errors = 0.0
    seen_requests = False
    for name, sample in current.items():
        base = baselines[name]
        inc_total = _increase(sample.requests, base.requests if base else None)
        if inc_total is None:
            continue
        seen_requests = True
        reset = base is not None and base.requests is not None and sample.requests is not None \
            and sample.requests < base.requests
        inc_errors = _increase(sample.errors, None if reset or base is None else base.errors)
        requests += inc_total
        errors += inc_errors or 0.0
    values["error_rate"] = errors / requests if seen_requests and requests > 0 else None

    cpu: list[float] = []
    for name, sample in current.items():
        if sample.cpu_seconds is None:
            continue
        base = baselines[name]
        if base is not None and base.cpu_seconds is not None and sample.at > base.at:
            cpu.append((sample.cpu_seconds - base.cpu_seconds) / (sample.at - base.at))
        elif sample.start_time is not None and sample.at > sample.start_time:
            cpu.append(sample.cpu_seconds / (sample.at - sample.start_time))
    values["cpu_usage"] = max(cpu) / cpu_limit_cores if cpu else None

    memory = [s.resident_bytes for s in current.values() if s.resident_bytes is not None]
    values["memory_usage"] = (
        max(memory) / memory_limit_bytes if memory and memory_limit_bytes > 0 else None
    )
    return {k: (None if v is not None and math.isnan(v) else v) for k, v in values.items()}


class MetricsSource:
    """Scrapes the configured /metrics URLs; keeps the history; computes a window."""

    def __init__(
        self,
        urls: dict[str, str],
        *,
        timeout: float = 2.0,
        memory_limit_bytes: int = 0,
        cpu_limit_cores: float = 1.0,
        sample_interval_s: float = 15.0,
    ) -> None:
        self.urls = dict(urls)
        self.timeout = timeout
        self.memory_limit_bytes = memory_limit_bytes or physical_memory_bytes()
        self.cpu_limit_cores = cpu_limit_cores
        self.sample_interval_s = sample_interval_s
        self.history = MetricsHistory()
        self.last_errors: dict[str, str] = {}

    async def scrape(self) -> dict[str, ServiceSample]:
        async def one(name: str, url: str) -> tuple[str, ServiceSample | str]:
            try:
                text = await asyncio.to_thread(fetch, url, self.timeout)
                return name, parse_sample(text, time.time())
            except Exception as exc:  # unreachable, HTTP error, unparsable: no data from it
                return name, f"{type(exc).__name__}: {exc}"

        results = await asyncio.gather(*(one(n, u) for n, u in self.urls.items()))
        samples: dict[str, ServiceSample] = {}
        self.last_errors = {}
        for name, result in results:
            if isinstance(result, str):
                self.last_errors[name] = result
            else:
                samples[name] = result
        return samples

    def remember(self, samples: dict[str, ServiceSample]) -> None:
        for name, sample in samples.items():
            last = self.history.latest_at(name)
            # on-demand scrapes between two sampler ticks are not kept: the history stays
            # evenly spaced and bounded whatever the request rate
            if last is None or sample.at - last >= self.sample_interval_s / 2:
                self.history.add(name, sample)

    async def values(self, window_s: float) -> dict[str, float | None]:
        current = await self.scrape()
        values = compute(
            current, self.history, window_s, self.memory_limit_bytes, self.cpu_limit_cores
        )
        self.remember(current)
        return values
