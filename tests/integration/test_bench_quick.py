"""The benchmark harness in quick mode, run as `make bench` runs it, so that it cannot rot.

It checks that every measurement completes and is written; it asserts nothing about time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from benchmarks.report import BUDGETS

ROOT = Path(__file__).resolve().parents[2]
LATENCY_ROWS = [
    "rs256_bare",
    "core_new_token",
    "core_same_token",
    "handler_new_token",
    "handler_same_token",
    "okta_jwt_verifier",
    "pyjwt_pyjwkclient",
    "log_powertools",
    "log_powertools_rfc3339",
    "log_powertools_orjson",
    "log_stdlib_json",
    "emf_powertools",
    "emf_hand_rolled",
    "decision_line",
]


@pytest.fixture(scope="module")
def quick_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One quick harness run for the whole module (it takes seconds, not milliseconds)."""
    out = tmp_path_factory.mktemp("bench")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.harness",
            "--quick",
            "--json",
            str(out / "latest.json"),
            "--chart",
            str(out / "latency.png"),
            "--summary",
            str(out / "results.md"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    print(done.stdout)  # the figures, for whoever reads the test log
    return done, out


def results(out: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((out / "latest.json").read_text(encoding="utf-8"))
    return loaded


def test_bench_quick_mode_runs_exits_zero(
    quick_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    # WHEN the harness runs in quick mode
    done, _ = quick_run

    # THEN it succeeds and prints the table
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "rs256_bare" in done.stdout
    assert "cold start" in done.stdout
    # AND every budget of the issue has a figure and a verdict (met or MISSED, never asserted)
    budgets = done.stdout.split("verdict", 1)[1]
    assert "not measured" not in budgets
    assert budgets.count(" met") + budgets.count("MISSED") == len(BUDGETS)


@pytest.mark.parametrize("name", LATENCY_ROWS, ids=LATENCY_ROWS)
def test_bench_quick_json_latency_row_is_measured(
    quick_run: tuple[subprocess.CompletedProcess[str], Path], name: str
) -> None:
    # GIVEN the JSON written by the quick run
    rows = {row["name"]: row for row in results(quick_run[1])["rows"]}

    # THEN the row is there, measured, with a median, a p99 and a ratio to the bare check
    assert name in rows
    row = rows[name]
    assert row["status"] == "ok", row.get("note")
    assert row["n"] >= 100
    assert row["median_us"] > 0
    assert row["p99_us"] >= row["median_us"]
    assert row["ratio_median"] > 0


def test_bench_quick_latency_rows_ran_in_a_process_with_one_thread(
    quick_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    # GIVEN the quick run (its loopback servers answer from threads of the harness's process)
    data = results(quick_run[1])

    # THEN the latency rows were measured in a process with no other thread to compete for the
    # GIL (a polling server thread there added 10-13 us to every warm handler call)
    assert data["measuring_threads"] == 1
    assert "child process running 1 thread(s)" in quick_run[0].stdout


def test_bench_quick_json_cold_start_compares_both_kinds(
    quick_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    # GIVEN the cold-start section of the quick run
    cold = results(quick_run[1])["cold_start"]

    # THEN both kinds of fresh interpreter ran, and the ratio between them is reported
    assert "error" not in cold, cold.get("error")
    for kind in ("authorizer", "baseline"):
        assert cold[kind]["total_ms"] > 0
        assert cold[kind]["wall_ms"] >= cold[kind]["total_ms"]
    assert cold["ratio_total"] > 0
    assert cold["authorizer"]["statements"] >= 1  # the first decision returned a policy
    assert cold["keys_requests_per_start"] == 1  # the key set is fetched exactly once


def test_bench_quick_json_memory_reports_rss_before_and_after(
    quick_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    # GIVEN the memory section of the quick run
    data = results(quick_run[1])
    memory = data["memory"]

    # THEN every planned invocation ran, with RSS before, after and at each checkpoint
    assert "error" not in memory, memory.get("error")
    assert memory["invocations"] == data["plan"]["rss_invocations"]
    assert memory["checkpoints"][-1]["invocations"] == memory["invocations"]
    for when in ("before", "after"):
        assert memory[when]["rss_mb"] > 0
        assert memory[when]["peak_rss_mb"] >= memory[when]["rss_mb"] - 1
    assert memory["lambda_mb"] == 128


def test_bench_quick_json_flood_rejects_every_random_kid_token(
    quick_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    # GIVEN the random-kid flood of the quick run
    flood = results(quick_run[1])["jwks_flood"]

    # THEN every token was answered 401, with at most one key-set request per 30 s cooldown
    assert "error" not in flood, flood.get("error")
    assert flood["outcomes"] == {"401": flood["tokens"]}
    assert flood["keys_requests"] <= 1 + flood["seconds"] // 30


def test_bench_quick_writes_png_chart_and_markdown_summary(
    quick_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    # GIVEN the files of the quick run
    out = quick_run[1]

    # THEN the chart is a PNG and the summary carries the latency table
    assert (out / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = (out / "results.md").read_text(encoding="utf-8")
    assert "| rs256_bare |" in summary
    assert "Machine:" in summary
