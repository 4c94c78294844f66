"""`routes push` and `routes diff ssm:` against moto's SSM server on 127.0.0.1."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from okta_authorizer import cli
from okta_authorizer.localdev.ssm import LOCAL_AWS_ENV, put_parameter, ssm_client
from tests.support import write_map

_paths = itertools.count()


@pytest.fixture
def routes_path(ssm_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SSM path per test, with boto3 pointed at the loopback server."""
    for key, value in LOCAL_AWS_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", ssm_endpoint)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    return f"/okta-authorizer/cli{next(_paths)}/routes"


def stored(endpoint: str, path: str) -> dict[str, tuple[str, str]]:
    """{name: (type, value)} of every parameter under `path`, decrypted."""
    pages = ssm_client(endpoint).get_paginator("get_parameters_by_path")
    return {
        p["Name"]: (p["Type"], p["Value"])
        for page in pages.paginate(Path=path, Recursive=True, WithDecryption=True)
        for p in page["Parameters"]
    }


def test_cli_push_empty_path_writes_the_map_and_diff_ssm_then_shows_no_changes(
    tmp_path: Path, routes_path: str, ssm_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a valid map and nothing stored under the path
    path = write_map(tmp_path, {"GET /beds": {"scopes": ["beds:read"]}})

    # WHEN it is pushed
    code = cli.main(["routes", "push", str(path), "--path", routes_path])

    # THEN it is written as <path>/api and the diff showed the added route
    out = capsys.readouterr().out
    assert code == 0
    assert "+ GET /beds" in out
    assert f"written: {routes_path}/api (String)" in out
    kind, value = stored(ssm_endpoint, routes_path)[f"{routes_path}/api"]
    assert kind == "String"
    assert json.loads(value) == {"routes": {"GET /beds": {"scopes": ["beds:read"]}}}

    # WHEN the live map is diffed against the file
    assert cli.main(["routes", "diff", f"ssm:{routes_path}", str(path)]) == 0

    # THEN there are no changes
    assert "no changes" in capsys.readouterr().out


def test_cli_push_dry_run_writes_nothing(
    tmp_path: Path, routes_path: str, ssm_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a valid map
    path = write_map(tmp_path, {"GET /beds": {"scopes": ["beds:read"]}})

    # WHEN pushed with --dry-run
    code = cli.main(["routes", "push", str(path), "--path", routes_path, "--dry-run"])

    # THEN the diff is shown and SSM holds nothing
    out = capsys.readouterr().out
    assert code == 0
    assert "+ GET /beds" in out
    assert "dry run: nothing written" in out
    assert stored(ssm_endpoint, routes_path) == {}


def test_cli_push_secure_string_then_diff_against_live_map(
    tmp_path: Path, routes_path: str, ssm_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a live map stored as a SecureString by an earlier push
    first = write_map(tmp_path, {"GET /beds": {"scopes": ["a"]}}, "v1.json")
    assert cli.main(["routes", "push", str(first), "--path", routes_path, "--secure"]) == 0
    capsys.readouterr()

    # WHEN a changed map is diffed against SSM and pushed with --json
    second = write_map(
        tmp_path, {"GET /beds": {"scopes": ["a", "b"]}, "POST /beds": {"scopes": ["w"]}}, "v2.json"
    )
    diff_code = cli.main(["routes", "diff", f"ssm:{routes_path}", str(second), "--exit-code"])
    diff_out = capsys.readouterr().out
    push_code = cli.main(
        ["routes", "push", str(second), "--path", routes_path, "--secure", "--json"]
    )
    report = json.loads(capsys.readouterr().out)

    # THEN the decrypted live map is compared, and the push lists and writes the same changes
    assert diff_code == 1
    assert "~ GET /beds" in diff_out
    assert "+ POST /beds" in diff_out
    assert push_code == 0
    assert report["written"] is True
    assert [(c["route"], c["change"]) for c in report["changes"]] == [
        ("GET /beds", "changed"),
        ("POST /beds", "added"),
    ]
    kind, value = stored(ssm_endpoint, routes_path)[f"{routes_path}/api"]
    assert kind == "SecureString"
    assert "POST /beds" in json.loads(value)["routes"]


def test_cli_push_same_map_again_writes_nothing(
    tmp_path: Path, routes_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a map already pushed
    path = write_map(tmp_path, {"GET /beds": {"scopes": ["a"]}})
    assert cli.main(["routes", "push", str(path), "--path", routes_path]) == 0
    capsys.readouterr()

    # WHEN pushed again THEN nothing changes and nothing is written
    assert cli.main(["routes", "push", str(path), "--path", routes_path]) == 0
    out = capsys.readouterr().out
    assert "no changes" in out
    assert "already holds this map: nothing written" in out


def test_cli_push_conflicting_with_another_parameter_is_refused(
    tmp_path: Path, routes_path: str, ssm_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN another parameter under the path that already names GET /beds/{id}
    other = json.dumps({"routes": {"GET /beds/{id}": {"scopes": ["x"]}}})
    put_parameter(ssm_endpoint, f"{routes_path}/other", other)
    path = write_map(tmp_path, {"GET /beds/{bedId}": {"scopes": ["y"]}})

    # WHEN a map with the same route is pushed under another name
    code = cli.main(["routes", "push", str(path), "--path", routes_path, "--name", "api"])

    # THEN it is refused (the authorizer would reject the merged map) and nothing is written
    assert code == 1
    assert "duplicates" in capsys.readouterr().err
    assert list(stored(ssm_endpoint, routes_path)) == [f"{routes_path}/other"]


def test_cli_diff_ssm_merges_every_parameter_and_rejects_an_invalid_live_map(
    tmp_path: Path, routes_path: str, ssm_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN two parameters under the path, one nested deeper
    put_parameter(
        ssm_endpoint, f"{routes_path}/a", json.dumps({"routes": {"GET /a": {"scopes": []}}})
    )
    put_parameter(
        ssm_endpoint, f"{routes_path}/team/b", json.dumps({"routes": {"GET /b": {"scopes": []}}})
    )
    path = write_map(tmp_path, {"GET /a": {"scopes": []}})

    # WHEN the live map is diffed against a file naming only GET /a
    code = cli.main(["routes", "diff", f"ssm:{routes_path}", str(path), "--json"])

    # THEN the recursive merge is what is compared
    assert code == 0
    changes = json.loads(capsys.readouterr().out)["changes"]
    assert [(c["route"], c["change"]) for c in changes] == [("GET /b", "removed")]

    # WHEN one live parameter becomes invalid THEN diff reports the live map invalid (exit 1)
    put_parameter(ssm_endpoint, f"{routes_path}/team/b", "{broken")
    assert cli.main(["routes", "diff", f"ssm:{routes_path}", str(path)]) == 1
    assert "invalid route map at ssm:" in capsys.readouterr().err


def test_cli_push_with_api_scopes_the_document_and_lets_two_apis_share_a_route(
    tmp_path: Path, routes_path: str, ssm_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN one unscoped file pushed for one API
    path = write_map(tmp_path, {"GET /health": {"scopes": ["beds:read"]}})
    argv = ["routes", "push", str(path), "--path", routes_path]
    assert cli.main([*argv, "--name", "beds", "--api", "bedsapi01"]) == 0

    # WHEN the same route is pushed for a second API, then again for the first one
    second = cli.main([*argv, "--name", "orders", "--api", "ordersapi1"])
    capsys.readouterr()
    again = cli.main([*argv, "--name", "beds-again", "--api", "bedsapi01"])

    # THEN the second API's document is written beside the first, scoped; the duplicate is refused
    assert (second, again) == (0, 1)
    assert "duplicates route" in capsys.readouterr().err
    live = stored(ssm_endpoint, routes_path)
    assert sorted(live) == [f"{routes_path}/beds", f"{routes_path}/orders"]
    assert json.loads(live[f"{routes_path}/orders"][1])["apis"] == ["ordersapi1"]
