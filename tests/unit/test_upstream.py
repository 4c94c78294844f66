"""The deadline machinery of outside calls, with no network: the invocation clock and the runner."""

from __future__ import annotations

import threading

import pytest

from okta_authorizer.upstream import (
    SAFETY_MARGIN_SECONDS,
    DeadlineExceededError,
    InvocationClock,
    call_with_deadline,
)
from tests.support import ManualClock


def test_invocation_clock_without_invocation_gives_the_limit() -> None:
    # GIVEN a clock no invocation has started (a script, a test) THEN the limit is the budget
    assert InvocationClock(ManualClock()).budget(1.5) == 1.5


@pytest.mark.parametrize(
    ("remaining_ms", "elapsed", "expected"),
    [
        (6000, 0.0, 1.5),
        (1000, 0.0, 1.0 - SAFETY_MARGIN_SECONDS),
        (6000, 5.0, 1.0 - SAFETY_MARGIN_SECONDS),
        (200, 0.0, 0.2 - SAFETY_MARGIN_SECONDS),
    ],
    ids=["plenty-left", "less-than-limit", "late-in-invocation", "nothing-left"],
)
def test_invocation_clock_budget_is_capped_by_remaining_time(
    remaining_ms: int, elapsed: float, expected: float
) -> None:
    # GIVEN an invocation that started with `remaining_ms` left, `elapsed` seconds ago
    clock = ManualClock()
    invocation = InvocationClock(clock)
    invocation.start(remaining_ms)
    clock.advance(elapsed)

    # WHEN a call asks for 1.5 s THEN it gets no more than the invocation has left, less a margin
    assert invocation.budget(1.5) == pytest.approx(expected)


def test_call_with_deadline_returns_the_value_and_raises_the_error() -> None:
    assert call_with_deadline(lambda: 42, 1.0, "answer") == 42

    def fail() -> int:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        call_with_deadline(fail, 1.0, "failure")


def test_call_with_deadline_past_budget_raises_and_abandons_the_worker() -> None:
    # GIVEN work that waits until it is released
    release = threading.Event()
    abandoned: list[bool] = []

    def work() -> str:
        release.wait(10)
        return "late"

    def abandon() -> None:
        abandoned.append(True)
        release.set()

    # WHEN it is given 50 ms THEN the caller gets DeadlineExceededError and the worker is told
    with pytest.raises(DeadlineExceededError, match="slow call: no complete answer within 50 ms"):
        call_with_deadline(work, 0.05, "slow call", abandon=abandon)
    assert abandoned == [True]


def test_call_with_deadline_without_budget_never_starts_the_work() -> None:
    started: list[bool] = []

    with pytest.raises(DeadlineExceededError, match="no time left"):
        call_with_deadline(lambda: started.append(True), -0.1, "late call")
    assert started == []
