"""Prometheus text exposition, hand-rolled: a few counters, gauges and one histogram, no extra dependency."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Histogram:
    """A cumulative-bucket histogram; ``observe`` takes a weight so one batch counts for all its receivers."""

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float, weight: int = 1) -> None:
        self.counts[bisect_left(self.buckets, value)] += weight
        self.total += value * weight
        self.count += weight


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Exposition:
    """Builds the text format page."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(
        self, name: str, kind: str, help_text: str, samples: Iterable[tuple[dict[str, str], float]]
    ) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            self.lines.append(f"{name}{_labels(labels)} {_format(value)}")

    def histogram(self, name: str, help_text: str, hist: Histogram) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} histogram")
        running = 0
        for bound, count in zip(hist.buckets, hist.counts, strict=False):
            running += count
            self.lines.append(f'{name}_bucket{{le="{bound}"}} {running}')
        self.lines.append(f'{name}_bucket{{le="+Inf"}} {hist.count}')
        self.lines.append(f"{name}_sum {_format(hist.total)}")
        self.lines.append(f"{name}_count {hist.count}")

    def render(self) -> str:
        return "\n".join(self.lines) + "\n"


def _format(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


MetricSource = Callable[[Exposition], None]
