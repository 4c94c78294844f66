"""The benchmark report's budget table: figures compared with the issue's limits, never asserted."""

from __future__ import annotations

from typing import Any

import pytest
from benchmarks.report import budget_lines


def results(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "rows": [
            {"name": "core_new_token", "ratio_median": 1.9},
            {"name": "core_same_token", "ratio_median": 0.2},
            {"name": "handler_new_token", "ratio_median": 3.5, "median_us": 100.0},
            {"name": "handler_same_token", "ratio_median": 1.0},
            {"name": "okta_jwt_verifier", "median_us": 250.0},
        ],
        "cold_start": {"ratio_total": 1.2},
        "memory": {"after": {"peak_rss_mb": 80.0}},
        "jwks_flood": {"keys_requests": 0},
    }
    return base | overrides


def verdicts(data: dict[str, Any]) -> dict[str, str]:
    return {line[0]: line[3] for line in budget_lines(data)[1:]}


def test_bench_report_all_figures_within_their_budgets_are_met() -> None:
    # WHEN / THEN every budget of a run inside all limits reads "met"
    assert set(verdicts(results()).values()) == {"met"}


@pytest.mark.parametrize(
    ("overrides", "missed"),
    [
        ({"cold_start": {"ratio_total": 1.31}}, "cold start (x import boto3 + SSM client)"),
        ({"jwks_flood": {"keys_requests": 2}}, "key-set requests during the random-kid flood"),
        (
            {"rows": [*results()["rows"][:4], {"name": "okta_jwt_verifier", "median_us": 150.0}]},
            "warm handler vs okta-jwt-verifier (times faster)",
        ),
    ],
    ids=["max-exceeded", "count-exceeded", "min-not-reached"],
)
def test_bench_report_figure_beyond_its_limit_is_missed(
    overrides: dict[str, Any], missed: str
) -> None:
    # GIVEN one figure beyond its limit, WHEN the table is built, THEN only that budget is missed
    table = verdicts(results(**overrides))
    assert [title for title, verdict in table.items() if verdict == "MISSED"] == [missed]


def test_bench_report_failed_measurement_is_not_measured_not_met() -> None:
    # GIVEN a run whose cold start and memory measurements failed
    table = verdicts(results(cold_start={"error": "boom"}, memory={"error": "boom"}))

    # THEN those budgets say so instead of passing
    assert table["cold start (x import boto3 + SSM client)"] == "not measured"
    assert table["peak RSS after the memory run (MiB)"] == "not measured"
