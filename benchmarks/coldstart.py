"""Cold start: a fresh interpreter importing the handler and deciding once, against bare boto3.

Run as a child: `python -m benchmarks.coldstart authorizer|restored|baseline RESULT.json` (the
event on stdin for `authorizer` and `restored`, SnapStart's restore path simulated by running the
registered hooks). The parent (`measure_cold_start`) repeats all three and reports medians.
"""

from __future__ import annotations

import time

_STARTED = time.perf_counter_ns()  # before any other import of this child

import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from collections.abc import MutableMapping  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Any, cast  # noqa: E402

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


def _ms(start: int, end: int) -> float:
    return (end - start) / 1e6


def run_authorizer(event: dict[str, Any]) -> dict[str, Any]:
    """Import the handler and make the first decision (keys and route map fetched on loopback)."""
    started = time.perf_counter_ns()
    from okta_authorizer.app import lambda_handler

    imported = time.perf_counter_ns()
    from okta_authorizer.localdev.lambda_context import FakeLambdaContext

    # The stand-in has the attributes Powertools reads; it is not a LambdaContext subclass.
    context = cast("LambdaContext", FakeLambdaContext())
    before = time.perf_counter_ns()
    result = lambda_handler(event, context)
    decided = time.perf_counter_ns()
    statement = result["policyDocument"]["Statement"]
    return {
        "import_ms": _ms(started, imported),
        "first_decision_ms": _ms(before, decided),
        "total_ms": _ms(started, imported) + _ms(before, decided),
        "since_start_ms": _ms(_STARTED, decided),
        "statements": len(statement),
        "modules": len(sys.modules),
    }


def run_restored(event: dict[str, Any]) -> dict[str, Any]:
    """SnapStart simulated: import and run the before-snapshot hook, then restore and decide once.

    What is timed is what a restored environment still pays in the process: the after-restore
    hook and the first decision (key set and route map fetched again). Lambda's own restore of the
    snapshot's memory happens outside the process and is not in these figures.
    """
    from okta_authorizer import snapstart
    from okta_authorizer.app import lambda_handler
    from okta_authorizer.localdev.lambda_context import FakeLambdaContext

    snapstart.before_snapshot()
    context = cast("LambdaContext", FakeLambdaContext())
    started = time.perf_counter_ns()
    snapstart.after_restore()
    restored = time.perf_counter_ns()
    lambda_handler(event, context)
    decided = time.perf_counter_ns()
    return {
        "restore_hook_ms": _ms(started, restored),
        "first_decision_ms": _ms(restored, decided),
        "total_ms": _ms(started, decided),
    }


def run_baseline() -> dict[str, Any]:
    """`import boto3` and create an SSM client: the floor any SSM-backed function pays."""
    started = time.perf_counter_ns()
    import boto3

    imported = time.perf_counter_ns()
    boto3.client("ssm")
    created = time.perf_counter_ns()
    return {
        "import_ms": _ms(started, imported),
        "client_ms": _ms(imported, created),
        "total_ms": _ms(started, created),
        "since_start_ms": _ms(_STARTED, created),
        "modules": len(sys.modules),
    }


def measure_cold_start(
    environ: MutableMapping[str, str], event: dict[str, Any], runs: int, workdir: Path
) -> dict[str, Any]:
    """Alternate `runs` authorizer and baseline children; medians of in-process and wall times."""
    from benchmarks.environment import ROOT, child_environment

    env = child_environment(environ)
    samples: dict[str, list[dict[str, Any]]] = {"authorizer": [], "baseline": [], "restored": []}
    for index in range(runs):
        for mode in ("authorizer", "baseline", "restored"):
            out = workdir / f"cold-{mode}-{index}.json"
            started = time.perf_counter_ns()
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.coldstart", mode, str(out)],
                input="" if mode == "baseline" else json.dumps(event),
                text=True,
                stdout=subprocess.DEVNULL,  # the handler's log line and EMF blob
                stderr=subprocess.PIPE,
                env=env,
                cwd=ROOT,
                timeout=120,
                check=False,
            )
            wall = _ms(started, time.perf_counter_ns())
            if done.returncode != 0:
                raise RuntimeError(f"cold-start child ({mode}) failed:\n{done.stderr[-2000:]}")
            record = json.loads(out.read_text(encoding="utf-8"))
            record["wall_ms"] = wall
            samples[mode].append(record)
    return {mode: _medians(records) for mode, records in samples.items()} | {
        "runs": runs,
        "ratio_total": _median(samples["authorizer"], "total_ms")
        / _median(samples["baseline"], "total_ms"),
        "ratio_wall": _median(samples["authorizer"], "wall_ms")
        / _median(samples["baseline"], "wall_ms"),
        "ratio_restored": _median(samples["restored"], "total_ms")
        / _median(samples["authorizer"], "total_ms"),
        "samples": samples,
    }


def _median(records: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(record[key] for record in records))


def _medians(records: list[dict[str, Any]]) -> dict[str, float]:
    keys = [key for key, value in records[0].items() if isinstance(value, int | float)]
    return {key: _median(records, key) for key in keys}


def main(argv: list[str]) -> int:
    """Child entry point."""
    mode, out = argv[0], Path(argv[1])
    if mode == "authorizer":
        record = run_authorizer(json.loads(sys.stdin.read()))
    elif mode == "restored":
        record = run_restored(json.loads(sys.stdin.read()))
    elif mode == "baseline":
        record = run_baseline()
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    out.write_text(json.dumps(record), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
