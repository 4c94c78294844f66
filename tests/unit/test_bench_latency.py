"""The harness's isolation helper: a function run in a fresh interpreter, its answer returned."""

from __future__ import annotations

import os
import threading

import pytest
from benchmarks.latency import run_isolated


def _process_and_threads() -> tuple[int, int]:
    return os.getpid(), threading.active_count()


def _fail(message: str) -> None:
    raise ValueError(message)


def test_latency_run_isolated_runs_in_another_process_with_one_thread() -> None:
    # GIVEN a thread in this process, as the harness has its loopback servers
    stop = threading.Event()
    server = threading.Thread(target=stop.wait, daemon=True)
    server.start()
    try:
        # WHEN a function runs isolated
        pid, threads = run_isolated(_process_and_threads)
    finally:
        stop.set()
        server.join()

    # THEN it ran in another process, which has none of this one's threads
    assert pid != os.getpid()
    assert threads == 1


def test_latency_run_isolated_error_reaches_the_caller() -> None:
    # WHEN the isolated function raises
    # THEN the caller gets the same exception, so a failed row is reported, not lost
    with pytest.raises(ValueError, match="row broke"):
        run_isolated(_fail, "row broke")
