"""`--api ID` on the route-map commands: a map with scoped documents is read one API at a time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from okta_authorizer import cli

BEDS_API, ORDERS_API = "bedsapi01", "ordersapi1"


def write(directory: Path, name: str, routes: dict[str, Any], apis: list[str] | None) -> Path:
    document: dict[str, Any] = {"routes": routes}
    if apis is not None:
        document["apis"] = apis
    path = directory / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.fixture
def scoped(tmp_path: Path) -> list[str]:
    """Two documents naming GET /health for two APIs, and an unscoped one."""
    return [
        str(write(tmp_path, "beds.json", {"GET /health": {"scopes": ["beds:read"]}}, [BEDS_API])),
        str(
            write(
                tmp_path, "orders.json", {"GET /health": {"scopes": ["orders:read"]}}, [ORDERS_API]
            )
        ),
        str(write(tmp_path, "shared.json", {"GET /status": {"scopes": []}}, None)),
    ]


def explain(files: list[str], *extra: str) -> list[str]:
    claims = '{"scp": ["beds:read"], "sub": "x"}'
    return ["explain", "--routes", *files, "--route", "GET /health", "--claims", claims, *extra]


def test_cli_explain_scoped_map_without_api_is_a_usage_error_naming_the_apis(
    scoped: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(explain(scoped)) == 2
    error = capsys.readouterr().err
    assert f"API(s) {BEDS_API}, {ORDERS_API}" in error
    assert "--api ID" in error


def test_cli_explain_decides_per_api_and_names_only_that_api(
    scoped: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # WHEN the same request is explained for each API
    beds = cli.main(explain(scoped, "--api", BEDS_API, "--json"))
    beds_report = json.loads(capsys.readouterr().out)
    orders = cli.main(explain(scoped, "--api", ORDERS_API, "--json"))
    orders_report = json.loads(capsys.readouterr().out)

    # THEN each API's own document decides, and its resources are that API's only
    assert (beds, orders) == (0, 1)
    assert beds_report["rule_source"].endswith("beds.json")
    assert orders_report["rule_source"].endswith("orders.json")
    assert orders_report["reason"] == "insufficient_scope"
    for report, api in ((beds_report, BEDS_API), (orders_report, ORDERS_API)):
        assert f":{api}/dev/GET/health" in report["resource"]
        assert all(f":{api}/" in s["resource"] for s in report["api_mode_statements"])


def test_cli_validate_scoped_map_per_api(
    scoped: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["routes", "validate", *scoped]) == 2
    capsys.readouterr()

    assert cli.main(["routes", "validate", *scoped, "--api", ORDERS_API, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(report["routes"]) == ["GET /health", "GET /status"]


def test_cli_diff_per_api_shows_that_apis_changes_only(
    tmp_path: Path, scoped: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the beds document changed, as one merged file against the old three
    changed = write(
        tmp_path, "beds-new.json", {"GET /health": {"scopes": ["beds:admin"]}}, [BEDS_API]
    )
    old = tmp_path / "old.json"
    new = tmp_path / "new.json"
    old.write_text(Path(scoped[0]).read_text(encoding="utf-8"), encoding="utf-8")
    new.write_text(changed.read_text(encoding="utf-8"), encoding="utf-8")

    # WHEN diffed for each API
    beds = cli.main(["routes", "diff", str(old), str(new), "--api", BEDS_API, "--exit-code"])
    beds_out = capsys.readouterr().out
    orders = cli.main(["routes", "diff", str(old), str(new), "--api", ORDERS_API, "--exit-code"])

    # THEN the beds API sees the change, the orders API none (neither file applies to it)
    assert (beds, orders) == (1, 0)
    assert "~ GET /health" in beds_out


def test_cli_api_id_that_no_arn_can_hold_is_a_usage_error(
    scoped: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(explain(scoped, "--api", "beds/api")) == 2
    assert "is not an API id" in capsys.readouterr().err
