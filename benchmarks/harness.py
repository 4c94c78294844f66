"""`make bench`: measure the authorizer against the bare RS256 check and its peers, on loopback.

Prints a table (median, p99, ratio to the bare signature check), writes
benchmarks/results/latest.json and a chart; `--summary PATH` also writes a Markdown summary to
commit. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.environment import AUDIENCE, ROOT, loopback, token_event

RESULTS = ROOT / "benchmarks" / "results"


@dataclass(frozen=True)
class Plan:
    """How much to measure."""

    samples: int
    warmup: int
    cold_runs: int
    rss_invocations: int
    flood_tokens: int


FULL = Plan(samples=5000, warmup=500, cold_runs=15, rss_invocations=100_000, flood_tokens=10_000)
QUICK = Plan(samples=300, warmup=50, cold_runs=2, rss_invocations=1_000, flood_tokens=1_000)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.harness", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few iterations (CI); < 60 s")
    parser.add_argument("--samples", type=int, help="timed calls per latency row")
    parser.add_argument("--rss-invocations", type=int, help="invocations in the memory run")
    parser.add_argument("--cold-runs", type=int, help="cold starts of each kind")
    parser.add_argument("--json", type=Path, default=RESULTS / "latest.json", help="results file")
    parser.add_argument("--chart", type=Path, default=RESULTS / "latency.png", help="PNG chart")
    parser.add_argument(
        "--summary",
        type=Path,
        help="also write a Markdown summary (e.g. benchmarks/results.md)",
    )
    return parser.parse_args(argv)


def plan_for(args: argparse.Namespace) -> Plan:
    """The plan for the mode, with the overrides given."""
    base = QUICK if args.quick else FULL
    samples = args.samples or base.samples
    return Plan(
        samples=samples,
        warmup=max(10, samples // 10) if args.samples else base.warmup,
        cold_runs=args.cold_runs or base.cold_runs,
        rss_invocations=args.rss_invocations or base.rss_invocations,
        flood_tokens=base.flood_tokens,
    )


_STARTED = time.monotonic()


def progress(message: str) -> None:
    """One line on stderr while the harness runs."""
    sys.stderr.write(f"[bench {time.monotonic() - _STARTED:6.1f}s] {message}\n")
    sys.stderr.flush()


def continue_clock(started: float) -> None:
    """Count progress from the parent harness's start (in a child; monotonic is system-wide)."""
    global _STARTED  # noqa: PLW0603 - the progress clock's origin, set once per child
    _STARTED = started


def run(plan: Plan, mode: str) -> dict[str, Any]:
    """Every measurement: latency rows, cold starts and the memory run each in child processes."""
    from cryptography.hazmat.primitives import serialization

    from benchmarks import coldstart, flood, latency, memory, peers
    from benchmarks.minting import TokenMinter
    from benchmarks.report import describe_machine, summarize

    total = plan.samples + plan.warmup
    results: dict[str, Any] = {"mode": mode, "plan": plan.__dict__, "machine": describe_machine()}
    with (
        loopback(os.environ) as world,
        open(os.devnull, "w", encoding="utf-8") as sink,
        tempfile.TemporaryDirectory(prefix="okta-bench-") as scratch,
    ):
        issuer = world.issuer
        progress(f"minting {2 * total + 1} tokens")
        with TokenMinter(issuer.key) as minter:
            tokens = minter.mint(issuer.issuer, AUDIENCE, total)
            okta_tokens = minter.mint(peers.https_twin(issuer.issuer), AUDIENCE, total)
        progress("latency rows: in a spawned child with one thread (benchmarks/latency.py)")
        measured = latency.measure_in_child(
            latency.LatencyInputs(
                samples=plan.samples,
                warmup=plan.warmup,
                tokens=tokens,
                okta_tokens=okta_tokens,
                issuer=issuer.issuer,
                keys_url=issuer.keys_url,
                public_key_pem=issuer.key.private.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                ),
                started=_STARTED,
            )
        )
        rows = measured.rows
        results["other_cpu_cores"] = measured.other_cpu_cores
        results["measuring_threads"] = measured.threads
        results["rows"] = summarize(rows)
        results["_rows"] = rows

        progress(f"cold start: {plan.cold_runs} x 2 fresh interpreters")
        issuer.reset_counts()
        results["cold_start"] = _guard_dict(
            lambda: coldstart.measure_cold_start(
                os.environ, token_event(tokens[0]), plan.cold_runs, Path(scratch)
            )
        )
        if "error" not in results["cold_start"]:
            # Both the import and the simulated SnapStart restore children fetch the key set once.
            results["cold_start"]["keys_requests_per_start"] = issuer.count("keys") / (
                2 * plan.cold_runs
            )

        progress(f"memory: {plan.rss_invocations:,} invocations with distinct tokens")
        results["memory"] = _guard_dict(
            lambda: memory.measure_memory(os.environ, plan.rss_invocations, Path(scratch))
        )

        progress(f"key-set flood: {plan.flood_tokens:,} random-kid tokens")
        results["jwks_flood"] = _guard_dict(
            lambda: flood.measure_flood(issuer, tokens[-1], plan.flood_tokens, sink)
        )
    results["finished"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    return results


def _guard_dict(measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return measure()
    except Exception as error:  # noqa: BLE001 - reported, exit code 1
        traceback.print_exc(file=sys.stderr)
        return {"error": f"{type(error).__name__}: {error}"[:2000]}


def failed(results: dict[str, Any]) -> list[str]:
    """Names of the measurements that did not complete."""
    names = [row["name"] for row in results["rows"] if row["status"] != "ok"]
    names += [key for key in ("cold_start", "memory", "jwks_flood") if "error" in results[key]]
    return names


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print, write; exit 1 if any measurement failed (never because of a time)."""
    from benchmarks.report import print_report, write_chart, write_json, write_markdown

    args = parse_args(sys.argv[1:] if argv is None else argv)
    mode = "quick" if args.quick else "full"
    results = run(plan_for(args), mode)
    rows = results.pop("_rows")
    print_report(results, sys.stdout)
    try:
        write_chart(rows, args.chart)
        results["chart"] = str(args.chart)
    except ImportError as error:
        progress(f"no chart: {error}")
    write_json(results, args.json)
    if args.summary:
        write_markdown(results, args.summary)
    sys.stdout.write(f"\nresults: {args.json}\nchart:   {args.chart}\n")
    broken = failed(results)
    if broken:
        sys.stdout.write(f"FAILED measurements: {', '.join(broken)}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
