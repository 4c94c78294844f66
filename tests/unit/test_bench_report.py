"""The benchmark report: the budget table (figures against the issue's limits, never asserted)
and the machine description."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from benchmarks.report import budget_lines, describe_cpu, describe_python_build


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


@pytest.mark.parametrize(
    ("mapped", "expected"),
    [
        ("7f00-7f01 r-xp 0 08:01 1 /opt/python/lib/libpython3.11.so.1.0\n", "libpython shared"),
        ("5600-5601 r-xp 0 08:01 1 /usr/bin/python3.11\n", "libpython linked in"),
    ],
    ids=["shared-libpython", "static-interpreter"],
)
def test_bench_report_python_build_tells_shared_from_static(
    tmp_path: Path, mapped: str, expected: str
) -> None:
    # GIVEN a process memory map with or without libpython in it
    maps = tmp_path / "maps"
    maps.write_text(mapped, encoding="utf-8")

    # WHEN the build is described
    described = describe_python_build(maps)

    # THEN it says how libpython is linked, and names the configure flags it looked for
    assert described.startswith(expected + "; configured with ")
    assert "--enable-optimizations" in described


@pytest.mark.parametrize(
    ("cpuinfo", "expected"),
    [
        (
            "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\n"
            "model name\t: AMD EPYC\n\nprocessor\t: 1\ncpu family\t: 23\nmodel\t\t: 49\n",
            "AMD EPYC (family 25, model 17)",
        ),
        (
            "processor\t: 0\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU part\t: 0xd40\n",
            "unknown (implementer 0x41, part 0xd40)",
        ),
        ("processor\t: 0\nmodel name\t: Some CPU\n", "Some CPU"),
    ],
    ids=["x86-first-block-only", "arm-graviton", "name-only"],
)
def test_bench_report_cpu_names_the_generation(tmp_path: Path, cpuinfo: str, expected: str) -> None:
    # GIVEN a /proc/cpuinfo whose model name alone does not tell two generations apart
    path = tmp_path / "cpuinfo"
    path.write_text(cpuinfo, encoding="utf-8")

    # WHEN the CPU is described
    described = describe_cpu(path)

    # THEN the family and model (or Arm part) of the first processor are named
    assert described == expected
