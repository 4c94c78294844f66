"""Shared test helpers: a manual clock."""

from __future__ import annotations


class ManualClock:
    """A clock tests move by hand; use for both monotonic and wall time."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
