"""The operator commands, run through cli.main: exit codes and output (no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from okta_authorizer import cli
from okta_authorizer.localdev.keys import SigningKey, okta_claims
from okta_authorizer.localdev.sample import DEFAULT_TEMPLATE, load_sample_route_map
from tests.support import ACME_ISSUER, write_map

# The token checks configured as the function's OKTA_ISSUER / OKTA_AUDIENCE would configure them.
CHECKS = ["--issuer", ACME_ISSUER, "--audience", "api://default"]
NESTED_ROUTES = {
    "GET /beds/{bedId}": {"scopes": ["beds:read"]},
    "GET /beds/{bedId}/notes": {"scopes": ["notes:read"]},
}


@pytest.fixture
def sample_map_file(tmp_path: Path) -> Path:
    path = tmp_path / "sample-api.json"
    path.write_text(load_sample_route_map()[1], encoding="utf-8")
    return path


# -- routes validate ------------------------------------------------------------------------------


def test_cli_validate_sample_map_against_sample_template_exits_zero_without_gaps(
    sample_map_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the sample map written to a file
    # WHEN validated against the template it comes from
    code = cli.main(
        [
            "routes",
            "validate",
            str(sample_map_file),
            "--template",
            str(DEFAULT_TEMPLATE),
            "--template-api",
            "SampleApi",
        ]
    )

    # THEN it is valid and covers the API exactly; the known overlaps are warnings only
    out = capsys.readouterr().out
    assert code == 0
    assert "valid: 6 routes" in out
    assert "api: 6 routes" in out
    assert "coverage: the map names every API route and nothing else" in out
    assert "uncovered:" not in out
    assert "stale:" not in out
    assert "result: ok" in out


def test_cli_validate_json_reports_overlaps_with_both_routes_and_example(
    sample_map_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the sample map and template WHEN validated with --json
    code = cli.main(
        [
            "routes",
            "validate",
            str(sample_map_file),
            "--template",
            str(DEFAULT_TEMPLATE),
            "--template-api",
            "SampleHttpApi",
            "--json",
        ]
    )

    # THEN the document lists no gaps and the two overlaps with a request and a token each
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["uncovered"] == []
    assert report["stale"] == []
    assert report["ok"] is True
    requests = sorted(o["request"] for o in report["overlaps"])
    assert requests == ["DELETE /beds/admin/reservations", "POST /beds/admin/reservations"]
    assert {o["refused"] for o in report["overlaps"]} == {"ANY /admin/{proxy+}"}


def test_cli_validate_strict_makes_overlap_warnings_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the nested map, which has one api-mode overlap
    path = write_map(tmp_path, NESTED_ROUTES)

    # WHEN validated plainly and with --strict
    plain = cli.main(["routes", "validate", str(path), "--stage", "prod"])
    plain_out = capsys.readouterr().out
    strict = cli.main(["routes", "validate", str(path), "--strict"])

    # THEN the warning names both routes and an example; only --strict turns it into exit 1
    assert plain == 0
    assert strict == 1
    assert "warning:" in plain_out
    assert "'GET /beds/{bedId}/notes' but not 'GET /beds/{bedId}'" in plain_out
    assert "GET /beds/17/notes" in plain_out
    assert "a1b2c3d4e5/prod/GET/beds/*" in plain_out


def test_cli_validate_gaps_against_openapi_export_exit_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a map and a YAML OpenAPI export that disagree on one route each way
    path = write_map(tmp_path, {"GET /beds": {"scopes": ["a"]}, "GET /old": {"scopes": ["a"]}})
    export = tmp_path / "export.yaml"
    export.write_text(
        "openapi: 3.0.1\npaths:\n  /beds:\n    get: {}\n  /beds/{id}:\n    delete: {}\n",
        encoding="utf-8",
    )

    # WHEN validated against the export
    code = cli.main(["routes", "validate", str(path), "--openapi", str(export)])

    # THEN both the uncovered API route and the stale rule are reported, exit 1
    out = capsys.readouterr().out
    assert code == 1
    assert "uncovered: DELETE /beds/{id}" in out
    assert "unmapped_route" in out
    assert "stale: GET /old" in out
    assert "result: FAILED (2 problems" in out


def test_cli_validate_invalid_map_exits_one_naming_the_route(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a map with an unknown field
    path = write_map(tmp_path, {"GET /beds": {"scopes": ["a"], "scope": "typo"}})

    # WHEN validated THEN it is rejected as the authorizer would reject it
    assert cli.main(["routes", "validate", str(path)]) == 1
    assert "invalid:" in capsys.readouterr().err


def test_cli_validate_duplicate_route_across_files_exits_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN two documents naming the same route (parameter names differ)
    first = write_map(tmp_path, {"GET /beds/{id}": {"scopes": ["a"]}}, "a.json")
    second = write_map(tmp_path, {"GET /beds/{bedId}": {"scopes": ["b"]}}, "b.json")

    # WHEN validated together THEN the merge fails like the authorizer's
    assert cli.main(["routes", "validate", str(first), str(second)]) == 1
    assert "duplicates" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["routes", "validate"],
        ["routes", "validate", "MISSING.json"],
        ["routes", "validate", "MAP", "--template", "MISSING.yaml"],
        ["routes", "validate", "MAP", "--template-api", "SampleApi"],
        ["routes", "validate", "MAP", "--template", "T", "--openapi", "T"],
        ["routes", "validate", "MAP", "--openapi", "OPENAPI", "--template-api", "SampleApi"],
        ["routes", "validate", "MAP", "--template", "BROKEN_TEMPLATE"],
        ["routes", "validate", "MAP", "--stage", "v 1"],
        ["routes", "frobnicate"],
        ["explain", "--routes", "MAP", "--route", "GET /beds"],
        ["explain", "--routes", "MAP", "--route", "ANY /beds", "--claims", "{}"],
        ["explain", "--routes", "MAP", "--route", "GET /beds", "--claims", "[1]"],
        ["explain", "--routes", "MAP", "--route", "GET /beds", "--claims", "{}", "--stage", "a/b"],
        ["explain", "--routes", "MAP", "--route", "GET /be ds", "--claims", "{}"],
        ["routes", "push", "MAP", "--path", "no-slash"],
    ],
    ids=[
        "no-files",
        "missing-file",
        "missing-template",
        "api-without-template",
        "template-and-openapi",
        "api-with-openapi",
        "template-event-list",
        "validate-bad-stage",
        "unknown-command",
        "explain-without-token-or-claims",
        "explain-any-method",
        "explain-claims-not-object",
        "explain-bad-stage",
        "explain-path-with-space",
        "push-bad-path",
    ],
)
def test_cli_usage_errors_exit_two(
    argv: list[str], sample_map_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a command line with a usage mistake (the capitals stand for real files)
    openapi = tmp_path / "openapi.json"
    openapi.write_text(json.dumps({"openapi": "3.0.1", "paths": {"/beds": {"get": {}}}}))
    broken = tmp_path / "template.json"
    function = {"Type": "AWS::Serverless::Function", "Properties": {"Events": ["ListBeds"]}}
    broken.write_text(json.dumps({"Resources": {"Note": "text", "Fn": function}}))
    real = {
        "MAP": str(sample_map_file),
        "T": str(DEFAULT_TEMPLATE),
        "OPENAPI": str(openapi),
        "BROKEN_TEMPLATE": str(broken),
    }
    argv = [real.get(arg, arg) for arg in argv]

    # WHEN run THEN the exit code is 2 and stderr says why
    assert cli.main(argv) == 2
    assert capsys.readouterr().err


def test_cli_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["routes", "--help"]) == 0
    assert "validate" in capsys.readouterr().out


# -- routes diff ----------------------------------------------------------------------------------


def test_cli_diff_files_lists_changes_per_route(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN two versions of a map
    old = write_map(
        tmp_path, {"GET /beds": {"scopes": ["a"]}, "GET /gone": {"scopes": []}}, "old.json"
    )
    new = write_map(
        tmp_path, {"GET /beds": {"scopes": ["a", "b"]}, "GET /new": {"scopes": ["n"]}}, "new.json"
    )

    # WHEN diffed, plainly and with --exit-code
    code = cli.main(["routes", "diff", str(old), str(new)])
    out = capsys.readouterr().out
    strict = cli.main(["routes", "diff", str(old), str(new), "--exit-code"])

    # THEN each route shows as added, removed or changed with the changed field
    assert code == 0
    assert strict == 1
    assert "+ GET /new" in out
    assert "- GET /gone" in out
    assert "~ GET /beds" in out
    assert 'scopes: ["a"] -> ["a", "b"]' in out
    assert "3 changes: 1 added, 1 removed, 1 changed" in out


def test_cli_diff_json_identical_maps_has_no_changes(
    sample_map_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["routes", "diff", str(sample_map_file), str(sample_map_file), "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out) == {"changes": []}


def test_cli_diff_invalid_side_exits_one(
    tmp_path: Path, sample_map_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert cli.main(["routes", "diff", str(sample_map_file), str(bad)]) == 1
    assert "invalid" in capsys.readouterr().err


def test_cli_push_invalid_map_is_refused_before_any_ssm_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an invalid map (no AWS is configured: reaching SSM would fail differently)
    path = write_map(tmp_path, {"FETCH /beds": {"scopes": []}})

    # WHEN pushed THEN it is refused with exit 1
    assert cli.main(["routes", "push", str(path), "--path", "/okta-authorizer/x/routes"]) == 1
    assert "refusing to push an invalid map" in capsys.readouterr().err


# -- explain --------------------------------------------------------------------------------------


def test_cli_explain_claims_overlap_allowed_exactly_denied_in_api_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the nested map and the claims of a notes-only token
    path = write_map(tmp_path, NESTED_ROUTES)
    claims = json.dumps({"sub": "nurse", "cid": "0oa1", "scp": ["notes:read"]})
    argv = ["explain", "--routes", str(path), "--route", "GET /beds/17/notes", "--claims", claims]

    # WHEN explained for api mode (the default) and for route mode
    api_code = cli.main(argv)
    out = capsys.readouterr().out
    route_code = cli.main([*argv, "--policy-mode", "route"])

    # THEN the rule allows it, the api-mode policy denies it, and the exit code follows the mode
    assert api_code == 1
    assert route_code == 0
    assert "rule: GET /beds/{bedId}/notes" in out
    assert "scopes: any of ['notes:read']: met" in out
    assert "decision: ALLOW" in out
    assert "POLICY_MODE=api: Deny" in out
    assert "Deny  arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/dev/GET/beds/*" in out
    assert "overlap" in out
    assert "UNVERIFIED" not in out


def test_cli_explain_token_file_warns_unverified_and_never_prints_the_token(
    tmp_path: Path, rsa_key: SigningKey, sample_map_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a real signed token in a file, with a scope that does not open the admin routes
    token = rsa_key.token(okta_claims(ACME_ISSUER, scopes=("beds:read",), groups=["Nurses"]))
    token_file = tmp_path / "token.txt"
    token_file.write_text(f"Bearer {token}\n", encoding="utf-8")

    # WHEN a request to an admin route is explained with --json
    code = cli.main(
        [
            "explain",
            "--routes",
            str(sample_map_file),
            "--route",
            "PUT /admin/wards/3",
            "--token-file",
            str(token_file),
            *CHECKS,
            "--json",
        ]
    )

    # THEN it is denied with the failing conditions, flagged unverified, and no token part leaks
    text = capsys.readouterr().out
    report = json.loads(text)
    assert code == 1
    assert report["unverified"] is True
    assert report["rule"] == "ANY /admin/{proxy+}"
    assert report["reason"] == "insufficient_scope"
    assert [(c["name"], c["met"]) for c in report["conditions"]] == [
        ("scopes", False),
        ("claim groups", False),
    ]
    assert report["token"]["kid"] == rsa_key.kid
    _header, payload, signature = token.split(".")
    for part in (payload, signature, token):
        assert part not in text


def test_cli_explain_token_file_text_output_has_the_banner(
    tmp_path: Path, rsa_key: SigningKey, sample_map_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a reader's token
    token = rsa_key.token(okta_claims(ACME_ISSUER, scopes=("beds:read",)))
    token_file = tmp_path / "token.txt"
    token_file.write_text(token, encoding="utf-8")

    # WHEN GET /beds/17 is explained
    argv = ["explain", "--routes", str(sample_map_file), "--route", "GET /beds/17"]
    code = cli.main([*argv, "--token-file", str(token_file), *CHECKS])

    # THEN it is allowed in both modes, and the output says loudly the signature was not checked
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("!! SIGNATURE NOT CHECKED")
    assert "the signature was not" in out
    assert "POLICY_MODE=api: Allow" in out
    assert token.split(".")[2] not in out


def test_cli_explain_unmapped_route_is_denied(
    sample_map_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["explain", "--routes", str(sample_map_file), "--route", "GET /nurses"]
    assert cli.main([*argv, "--claims", '{"scp": ["beds:read"]}']) == 1
    out = capsys.readouterr().out
    assert "rule: none" in out
    assert "DENY (unmapped_route)" in out


def test_cli_explain_expired_token_and_malformed_scope_are_noted(
    sample_map_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN claims of an expired token whose `scp` is a string (the verifier would reject it)
    claims = json.dumps({"sub": "x", "exp": 1, "scp": "beds:read"})

    # WHEN explained THEN both problems are noted and the request is denied
    argv = ["explain", "--routes", str(sample_map_file), "--route", "GET /beds"]
    assert cli.main([*argv, "--claims", claims]) == 1
    out = capsys.readouterr().out
    assert "note: the token has expired" in out
    assert "note: token 'scp' is not a list of strings" in out


def test_cli_explain_token_file_not_a_jws_exits_one_without_echo(
    tmp_path: Path, sample_map_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a file holding something that is not a compact JWS
    secret_looking = "not-a-token-but-private-Zm9vYmFy"
    token_file = tmp_path / "token.txt"
    token_file.write_text(secret_looking, encoding="utf-8")

    # WHEN explained THEN it fails with exit 1 (a 401) and the content is not echoed
    argv = ["explain", "--routes", str(sample_map_file), "--route", "GET /beds"]
    assert cli.main([*argv, "--token-file", str(token_file), *CHECKS]) == 1
    captured = capsys.readouterr()
    assert "not a readable JWS" in captured.out
    assert "decision: 401 malformed_token" in captured.out
    assert secret_looking not in captured.out + captured.err
