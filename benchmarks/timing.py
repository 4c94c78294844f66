"""Latency sampling with perf_counter_ns and the statistics the report shows."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Row:
    """One measured line of the table: a name, what it measures, and its samples in nanoseconds."""

    name: str
    title: str
    samples_ns: list[int] = field(default_factory=list)
    status: str = "ok"
    note: str = ""

    def summary(self, base_median_ns: float | None) -> dict[str, Any]:
        """Median, p99 and ratios to the base row's median, in microseconds."""
        if not self.samples_ns:
            return {
                "name": self.name,
                "title": self.title,
                "status": self.status,
                "note": self.note,
            }
        median = statistics.median(self.samples_ns)
        p99 = percentile(self.samples_ns, 99)
        return {
            "name": self.name,
            "title": self.title,
            "status": self.status,
            "note": self.note,
            "n": len(self.samples_ns),
            "median_us": median / 1000,
            "p99_us": p99 / 1000,
            "min_us": min(self.samples_ns) / 1000,
            "mean_us": statistics.fmean(self.samples_ns) / 1000,
            "ratio_median": median / base_median_ns if base_median_ns else None,
            "ratio_p99": p99 / base_median_ns if base_median_ns else None,
        }


def percentile(samples: Sequence[int | float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: p99 is a sample that happened)."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return float(ordered[rank - 1])


def sample(call: Callable[[Any], object], inputs: Sequence[Any], warmup: int) -> list[int]:
    """Call `call` on each input; the first `warmup` calls are not kept. Returns ns per call."""
    for item in inputs[:warmup]:
        call(item)
    gc.collect()
    clock = time.perf_counter_ns
    samples: list[int] = []
    append = samples.append
    for item in inputs[warmup:]:
        started = clock()
        call(item)
        append(clock() - started)
    return samples
